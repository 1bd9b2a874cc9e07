package iamtest

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// No Go library in the module list (/work/.library/env/packages) evaluates
// IAM policies (cedar-go and OPA evaluate other policy languages), so this
// is a small evaluator of the documented logic, enough to check what
// lakekit's resource policies enforce. Its tests take their cases from the
// AWS documentation's examples.

// Decision is the outcome of evaluating policies for a request.
type Decision int

// The decisions, as the IAM User Guide's "Policy evaluation logic" names
// them.
const (
	ImplicitDeny Decision = iota
	Allow
	ExplicitDeny
)

func (d Decision) String() string {
	return [...]string{"implicit deny", "allow", "explicit deny"}[d]
}

// Request is the request context a policy is evaluated against.
type Request struct {
	// Principal is the caller's ARN (a role ARN for an assumed role).
	Principal string
	Action    string
	Resource  string
	// Context holds the condition keys present in the request, one value
	// each (keys match case-insensitively, as IAM's do).
	Context map[string]string
}

func (r Request) key(k string) (string, bool) {
	for ck, v := range r.Context {
		if strings.EqualFold(ck, k) {
			return v, true
		}
	}
	if strings.EqualFold(k, "aws:PrincipalArn") && r.Principal != "" {
		return r.Principal, true
	}
	return "", false
}

// Evaluate evaluates policy documents (identity or resource policies of
// one account) for a request: an explicit Deny in any matching statement
// wins, else an Allow in any matching statement, else the implicit deny.
// A statement matches when its Principal (or NotPrincipal, if any), its
// Action (or NotAction), its Resource (or NotResource) and every
// condition match. The error names an element it cannot evaluate (an
// unknown condition operator, a policy variable).
func Evaluate(req Request, docs ...[]byte) (Decision, error) {
	allowed := false
	for _, doc := range docs {
		var d struct{ Statement json.RawMessage }
		if err := json.Unmarshal(doc, &d); err != nil {
			return ImplicitDeny, fmt.Errorf("iamtest: not a policy document: %v", err)
		}
		var sts []map[string]json.RawMessage
		if err := json.Unmarshal(d.Statement, &sts); err != nil {
			var one map[string]json.RawMessage
			if err := json.Unmarshal(d.Statement, &one); err != nil {
				return ImplicitDeny, fmt.Errorf("iamtest: Statement is neither a statement nor a list")
			}
			sts = append(sts, one)
		}
		for i, st := range sts {
			ok, err := matches(st, req)
			if err != nil {
				return ImplicitDeny, fmt.Errorf("iamtest: statement %d: %w", i, err)
			}
			if !ok {
				continue
			}
			var effect string
			_ = json.Unmarshal(st["Effect"], &effect)
			switch effect {
			case "Deny":
				return ExplicitDeny, nil
			case "Allow":
				allowed = true
			default:
				return ImplicitDeny, fmt.Errorf("iamtest: statement %d: Effect %q", i, effect)
			}
		}
	}
	if allowed {
		return Allow, nil
	}
	return ImplicitDeny, nil
}

func list(raw json.RawMessage) []string {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}
	}
	var many []string
	_ = json.Unmarshal(raw, &many)
	return many
}

func matches(st map[string]json.RawMessage, req Request) (bool, error) {
	if p, ok := st["Principal"]; ok && !principalMatches(p, req.Principal) {
		return false, nil
	}
	if p, ok := st["NotPrincipal"]; ok && principalMatches(p, req.Principal) {
		return false, nil
	}
	actionIn := func(pats []string) bool {
		for _, p := range pats {
			if glob(strings.ToLower(p), strings.ToLower(req.Action)) {
				return true
			}
		}
		return false
	}
	resourceIn := func(pats []string) bool {
		for _, p := range pats {
			if glob(p, req.Resource) {
				return true
			}
		}
		return false
	}
	if a, ok := st["Action"]; ok && !actionIn(list(a)) {
		return false, nil
	}
	if a, ok := st["NotAction"]; ok && actionIn(list(a)) {
		return false, nil
	}
	if r, ok := st["Resource"]; ok && !resourceIn(list(r)) {
		return false, nil
	}
	if r, ok := st["NotResource"]; ok && resourceIn(list(r)) {
		return false, nil
	}
	c, ok := st["Condition"]
	if !ok {
		return true, nil
	}
	var cond map[string]map[string]json.RawMessage
	if err := json.Unmarshal(c, &cond); err != nil {
		return false, fmt.Errorf("Condition %s: %v", c, err)
	}
	for op, keys := range cond {
		for k, raw := range keys {
			vals, err := condValues(raw)
			if err != nil {
				return false, fmt.Errorf("Condition %s %s: %v", op, k, err)
			}
			ok, err := condition(op, k, vals, req)
			if err != nil || !ok {
				return false, err
			}
		}
	}
	return true, nil
}

func condValues(raw json.RawMessage) ([]string, error) {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, err
	}
	one := func(x any) (string, error) {
		switch y := x.(type) {
		case string:
			if strings.Contains(y, "${") {
				return "", fmt.Errorf("policy variable in %q is not supported", y)
			}
			return y, nil
		case bool:
			return fmt.Sprint(y), nil
		case float64:
			return fmt.Sprint(y), nil
		}
		return "", fmt.Errorf("value %v is not a string, bool or number", x)
	}
	if xs, ok := v.([]any); ok {
		var out []string
		for _, x := range xs {
			s, err := one(x)
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		}
		return out, nil
	}
	s, err := one(v)
	return []string{s}, err
}

// condition evaluates one operator on one key: the key's policy values
// are ORed (for a negated operator, the value must match none of them);
// a key missing from the request makes a positive operator false, a
// negated one true, any ...IfExists operator true, and Null true when the
// policy value is "true".
func condition(op, key string, vals []string, req Request) (bool, error) {
	base, ifExists := strings.CutSuffix(op, "IfExists")
	v, present := req.key(key)
	if base == "Null" {
		for _, want := range vals {
			if (strings.EqualFold(want, "true") && !present) || (strings.EqualFold(want, "false") && present) {
				return true, nil
			}
		}
		return false, nil
	}
	var match func(pattern string) bool

	switch base {
	case "StringEquals", "StringNotEquals":
		match = func(p string) bool { return p == v }
	case "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase":
		match = func(p string) bool { return strings.EqualFold(p, v) }
	case "StringLike", "StringNotLike":
		match = func(p string) bool { return glob(p, v) }
	case "Bool":
		match = func(p string) bool { return strings.EqualFold(p, v) }
	case "ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike":
		match = func(p string) bool { return arnLike(p, v) }
	default:
		return false, fmt.Errorf("condition operator %q is not supported by this evaluator", op)
	}
	negated := strings.Contains(base, "Not")
	if !present {
		return ifExists || negated, nil
	}
	hit := false
	for _, p := range vals {
		if match(p) {
			hit = true
			break
		}
	}
	return hit != negated, nil
}

// arnLike matches an ARN against a pattern component by component (the
// six colon-delimited components), each with * and ? wildcards.
func arnLike(pattern, arn string) bool {
	pp := strings.SplitN(pattern, ":", 6)
	ap := strings.SplitN(arn, ":", 6)
	if len(pp) != 6 || len(ap) != 6 {
		return false
	}
	for i := range pp {
		if !glob(pp[i], ap[i]) {
			return false
		}
	}
	return true
}

func principalMatches(raw json.RawMessage, principal string) bool {
	var star string
	if json.Unmarshal(raw, &star) == nil {
		return star == "*"
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return false
	}
	for k, v := range m {
		for _, p := range list(v) {
			switch {
			case p == "*" && k == "AWS":
				return true
			case p == principal:
				return true
			case k == "AWS" && accountOf(p) != "" && accountOf(p) == accountOf(principal) && (isAccount(p) || strings.HasSuffix(p, ":root")):
				return true
			}
		}
	}
	return false
}

var accountRE = regexp.MustCompile(`^\d{12}$`)

func isAccount(s string) bool { return accountRE.MatchString(s) }

// accountOf returns the account of an ARN or account id.
func accountOf(s string) string {
	if isAccount(s) {
		return s
	}
	parts := strings.SplitN(s, ":", 6)
	if len(parts) == 6 {
		return parts[4]
	}
	return ""
}

// glob matches s against a pattern with * (any run of characters) and ?
// (any one character), the wildcards of Action, Resource and the Like
// operators.
func glob(pattern, s string) bool {
	var b strings.Builder
	b.WriteString("^")
	for _, r := range pattern {
		switch r {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString("$")
	return regexp.MustCompile("(?s)" + b.String()).MatchString(s)
}
