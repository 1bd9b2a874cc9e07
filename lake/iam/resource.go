package iam

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"
)

// OwnedSidPrefix begins the Sid of every statement lakekit renders into a
// resource policy (bucket, key or endpoint policy). Merging replaces
// statements with these Sids and keeps every other statement as it is.
const OwnedSidPrefix = "Lakekit"

// Principal is the Principal element of a resource policy statement:
// "*" (anyone, narrowed by conditions) or the AWS principals (role ARNs,
// account ARNs) and service principals it names.
type Principal struct {
	Anyone  bool
	AWS     []string
	Service []string
}

// MarshalJSON renders "*" or {"AWS": [...], "Service": [...]}.
func (p Principal) MarshalJSON() ([]byte, error) {
	if p.Anyone {
		return json.Marshal("*")
	}
	m := map[string][]string{}
	if len(p.AWS) > 0 {
		m["AWS"] = p.AWS
	}
	if len(p.Service) > 0 {
		m["Service"] = p.Service
	}
	return json.Marshal(m)
}

// ResourceStatement is one statement of a resource policy: a Statement
// with the Principal it applies to.
type ResourceStatement struct {
	Sid       string         `json:"Sid"`
	Effect    string         `json:"Effect"`
	Principal Principal      `json:"Principal"`
	Action    []string       `json:"Action"`
	Resource  []string       `json:"Resource"`
	Condition map[string]any `json:"Condition,omitempty"`
}

// ResourceDocument is a resource policy document (bucket, key or VPC
// endpoint policy).
type ResourceDocument struct {
	Version   string              `json:"Version"`
	Statement []ResourceStatement `json:"Statement"`
}

var (
	principalRoleRE = regexp.MustCompile(`^arn:(aws|aws-cn|aws-us-gov):iam::\d{12}:(role/[\w+=,.@/-]+|root)$`)
	principalRE     = regexp.MustCompile(`^arn:(aws|aws-cn|aws-us-gov):(iam|sts)::\d{12}:[\w+=,.@/:-]+$`)
	servicePrRE     = regexp.MustCompile(`^[a-z0-9.-]+\.amazonaws\.com(\.cn)?$`)
	accountIDRE     = regexp.MustCompile(`^\d{12}$`)
	regexpZone      = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9.-]*$`)
	principalKey    = map[string]bool{"AWS": true, "Service": true, "Federated": true, "CanonicalUser": true}
)

// checkRole reports whether arn is an IAM role ARN (or an account's root)
// a resource policy can name as a principal.
func checkRole(what, arn string) error {
	if !principalRoleRE.MatchString(arn) {
		return fmt.Errorf("iam: %s %q is not an IAM role ARN (arn:aws:iam::111122223333:role/name): %w", what, arn, ErrInvalid)
	}
	return nil
}

// ValidateResourcePolicy checks a resource policy document (bucket, key
// or VPC endpoint policy): every statement has exactly one of Principal
// and NotPrincipal, "*" or an object whose keys are AWS, Service,
// Federated or CanonicalUser with well-formed values, and the rest of the
// statement passes Validate (the identity policy grammar). The error
// joins every problem found and wraps ErrMalformed.
func ValidateResourcePolicy(doc []byte) error {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(doc, &top); err != nil {
		return fmt.Errorf("%w: not a JSON object: %v", ErrMalformed, err)
	}
	var sts []map[string]json.RawMessage
	if err := json.Unmarshal(top["Statement"], &sts); err != nil {
		var one map[string]json.RawMessage
		if err1 := json.Unmarshal(top["Statement"], &one); err1 != nil {
			return fmt.Errorf("%w: Statement is neither a statement nor a list of statements", ErrMalformed)
		}
		sts = []map[string]json.RawMessage{one}
	}
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...)))
	}
	for i, st := range sts {
		p, hasP := st["Principal"]
		np, hasNP := st["NotPrincipal"]
		switch {
		case hasP && hasNP:
			bad("statement %d: both Principal and NotPrincipal", i)
		case !hasP && !hasNP:
			bad("statement %d: no Principal (a resource policy names whom it applies to)", i)
		case hasNP:
			p = np
		}
		if p != nil {
			if err := checkPrincipal(p); err != nil {
				bad("statement %d: %v", i, err)
			}
		}
		delete(st, "Principal")
		delete(st, "NotPrincipal")
	}
	top["Statement"], _ = json.Marshal(sts)
	stripped, err := json.Marshal(top)
	if err != nil {
		return err
	}
	if err := Validate(stripped); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func checkPrincipal(raw json.RawMessage) error {
	var star string
	if json.Unmarshal(raw, &star) == nil {
		if star != "*" {
			return fmt.Errorf("Principal %q: a string Principal must be \"*\"", star)
		}
		return nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || len(m) == 0 {
		return fmt.Errorf("Principal %s is neither \"*\" nor an object of principals", raw)
	}
	for k, v := range m {
		if !principalKey[k] {
			return fmt.Errorf("Principal has unknown key %q (want AWS, Service, Federated or CanonicalUser)", k)
		}
		vals, err := stringList(v)
		if err != nil || len(vals) == 0 {
			return fmt.Errorf("Principal %s is %s, want a string or a non-empty list of strings", k, v)
		}
		for _, s := range vals {
			switch {
			case k == "AWS" && (s == "*" || accountIDRE.MatchString(s) || principalRE.MatchString(s)):
			case k == "Service" && servicePrRE.MatchString(s):
			case k == "Federated" || k == "CanonicalUser":
			default:
				return fmt.Errorf("Principal %s value %q is not a well-formed principal", k, s)
			}
		}
	}
	return nil
}

// MergeStatements merges a resource policy's statements into the current
// policy document (empty when the resource has none): a current statement
// whose Sid begins with OwnedSidPrefix is replaced by ours of the same Sid
// or, when we no longer render that Sid, dropped; every other current
// statement (a foreign one) is kept exactly as it was, in its place; our
// statements not in the current policy are appended. changed reports
// whether the merged policy differs in meaning from the current one (AWS
// returns a stored policy reformatted: single-element lists as strings,
// other whitespace), so callers write only when it is true.
func MergeStatements(current []byte, ours []ResourceStatement) (merged []byte, changed bool, err error) {
	top := map[string]json.RawMessage{}
	var curSts []json.RawMessage
	if len(bytes.TrimSpace(current)) > 0 {
		if err := json.Unmarshal(current, &top); err != nil {
			return nil, false, fmt.Errorf("iam: the current policy is not a JSON object: %v: %w", err, ErrMalformed)
		}
		if raw, ok := top["Statement"]; ok {
			if err := json.Unmarshal(raw, &curSts); err != nil {
				curSts = []json.RawMessage{raw} // a single statement object
			}
		}
	}
	mine := map[string]json.RawMessage{}
	var order []string
	for _, st := range ours {
		if !strings.HasPrefix(st.Sid, OwnedSidPrefix) {
			return nil, false, fmt.Errorf("iam: statement Sid %q does not begin with %q, so a later merge could not tell it is lakekit's: %w", st.Sid, OwnedSidPrefix, ErrInvalid)
		}
		if _, dup := mine[st.Sid]; dup {
			return nil, false, fmt.Errorf("iam: statement Sid %q is rendered twice: %w", st.Sid, ErrInvalid)
		}
		b, err := json.Marshal(st)
		if err != nil {
			return nil, false, err
		}
		mine[st.Sid] = b
		order = append(order, st.Sid)
	}
	var out []json.RawMessage
	placed := map[string]bool{}
	for _, raw := range curSts {
		var head struct{ Sid string }
		if err := json.Unmarshal(raw, &head); err != nil {
			return nil, false, fmt.Errorf("iam: a statement of the current policy is not an object: %s: %w", raw, ErrMalformed)
		}
		if !strings.HasPrefix(head.Sid, OwnedSidPrefix) {
			out = append(out, raw)
			continue
		}
		if b, ok := mine[head.Sid]; ok && !placed[head.Sid] {
			out = append(out, b)
			placed[head.Sid] = true
		}
	}
	for _, sid := range order {
		if !placed[sid] {
			out = append(out, mine[sid])
		}
	}
	if _, ok := top["Version"]; !ok {
		top["Version"] = json.RawMessage(`"2012-10-17"`)
	}
	top["Statement"], err = json.Marshal(out)
	if err != nil {
		return nil, false, err
	}
	merged, err = json.MarshalIndent(top, "", "  ")
	if err != nil {
		return nil, false, err
	}
	if len(bytes.TrimSpace(current)) == 0 {
		return merged, true, nil
	}
	a, errA := normalized(current)
	b, errB := normalized(merged)
	if errA != nil || errB != nil {
		return merged, true, nil
	}
	return merged, !reflect.DeepEqual(a, b), nil
}

// normalized decodes a policy with single-element lists turned into their
// element, the form AWS may return a stored policy in.
func normalized(doc []byte) (any, error) {
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		return nil, err
	}
	var walk func(any) any
	walk = func(v any) any {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				x[k] = walk(e)
			}
			return x
		case []any:
			for i, e := range x {
				x[i] = walk(e)
			}
			if len(x) == 1 {
				return x[0]
			}
			return x
		}
		return v
	}
	return walk(v), nil
}
