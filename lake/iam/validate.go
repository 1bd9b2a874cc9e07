package iam

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
)

// ErrMalformed reports a policy document that breaks the IAM policy
// grammar.
var ErrMalformed = errors.New("iam: malformed policy document")

var (
	actionRE = regexp.MustCompile(`^[a-z0-9-]+:[A-Za-z0-9*?]+$`)
	// arn:partition:service:region:account:resource; region and account
	// may be empty (S3, IAM) or wildcards.
	arnRE = regexp.MustCompile(`^arn:(aws|aws-cn|aws-us-gov|aws-iso|aws-iso-b|\*):[a-z0-9-]+:([a-z0-9-]*|\*):(\d{12}|\*)?:[^\s]+$`)
	sidRE = regexp.MustCompile(`^[A-Za-z0-9]*$`)
)

// Validate checks an identity-based policy document (for a user, group or
// role) against the basics of the IAM policy grammar: a JSON object with
// Version "2012-10-17" (or the old "2008-10-17") and a non-empty
// Statement (an object or a list); each statement with an optional unique
// alphanumeric Sid, Effect Allow or Deny, exactly one of Action and
// NotAction (strings "service:Action", wildcards allowed, or "*"), exactly
// one of Resource and NotResource ("*" or well-formed ARNs), an optional
// Condition mapping operators to keys to a value or list of values, and
// no other element (an identity policy has no Principal). The error joins
// every problem found, each naming the statement and the bad value, and
// wraps ErrMalformed.
func Validate(doc []byte) error {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(doc, &top); err != nil {
		return fmt.Errorf("%w: not a JSON object: %v", ErrMalformed, err)
	}
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...)))
	}
	for k := range top {
		if k != "Version" && k != "Id" && k != "Statement" {
			bad("unknown top-level element %q", k)
		}
	}
	var version string
	if err := json.Unmarshal(top["Version"], &version); err != nil || (version != "2012-10-17" && version != "2008-10-17") {
		bad("Version is %s, want \"2012-10-17\"", orMissing(top["Version"]))
	}
	raw, ok := top["Statement"]
	if !ok {
		bad("no Statement")
		return errors.Join(errs...)
	}
	var sts []map[string]json.RawMessage
	if err := json.Unmarshal(raw, &sts); err != nil {
		var one map[string]json.RawMessage
		if err1 := json.Unmarshal(raw, &one); err1 != nil {
			bad("Statement is neither a statement nor a list of statements")
			return errors.Join(errs...)
		}
		sts = []map[string]json.RawMessage{one}
	}
	if len(sts) == 0 {
		bad("Statement is empty")
	}
	sids := map[string]bool{}
	for i, st := range sts {
		checkStatement(i, st, sids, bad)
	}
	return errors.Join(errs...)
}

// checkStatement checks statement i of an identity policy, reporting each
// problem through bad.
func checkStatement(i int, st map[string]json.RawMessage, sids map[string]bool, bad func(format string, args ...any)) {
	name := fmt.Sprintf("statement %d", i)
	if v, ok := st["Sid"]; ok {
		var sid string
		if err := json.Unmarshal(v, &sid); err != nil || !sidRE.MatchString(sid) {
			bad("%s: Sid %s is not an alphanumeric string", name, v)
		} else {
			if sid != "" && sids[sid] {
				bad("%s: Sid %q is used twice", name, sid)
			}
			sids[sid] = true
			name = fmt.Sprintf("statement %d (%s)", i, sid)
		}
	}
	for k := range st {
		switch k {
		case "Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition":
		default:
			bad("%s: unknown element %q (identity policies have no Principal)", name, k)
		}
	}
	var effect string
	if err := json.Unmarshal(st["Effect"], &effect); err != nil || (effect != "Allow" && effect != "Deny") {
		bad("%s: Effect is %s, want \"Allow\" or \"Deny\"", name, orMissing(st["Effect"]))
	}
	checkList := func(want, not string, ok func(string) bool, what string) {
		v, has := st[want]
		nv, hasNot := st[not]
		switch {
		case has && hasNot:
			bad("%s: both %s and %s", name, want, not)
			return
		case !has && !hasNot:
			bad("%s: no %s", name, want)
			return
		case hasNot:
			v, want = nv, not
		}
		items, err := stringList(v)
		if err != nil || len(items) == 0 {
			bad("%s: %s is %s, want a string or a non-empty list of strings", name, want, v)
			return
		}
		for _, it := range items {
			if it != "*" && !ok(it) {
				bad("%s: %s %q is not %s", name, want, it, what)
			}
		}
	}
	checkList("Action", "NotAction", actionRE.MatchString, `"service:Action"`)
	checkList("Resource", "NotResource", arnRE.MatchString, "a well-formed ARN (arn:partition:service:region:account:resource)")
	if v, ok := st["Condition"]; ok {
		var cond map[string]map[string]json.RawMessage
		if err := json.Unmarshal(v, &cond); err != nil || len(cond) == 0 {
			bad("%s: Condition is %s, want {operator: {key: value or values}}", name, v)
			return
		}
		for op, keys := range cond {
			if len(keys) == 0 {
				bad("%s: Condition operator %q has no keys", name, op)
			}
			for k, val := range keys {
				if !conditionValue(val) {
					bad("%s: Condition %s %s is %s, want a value or a list of values", name, op, k, val)
				}
			}
		}
	}
}

func orMissing(v json.RawMessage) string {
	if v == nil {
		return "missing"
	}
	return string(v)
}

func stringList(v json.RawMessage) ([]string, error) {
	var one string
	if err := json.Unmarshal(v, &one); err == nil {
		return []string{one}, nil
	}
	var many []string
	err := json.Unmarshal(v, &many)
	return many, err
}

func conditionValue(v json.RawMessage) bool {
	var scalar any
	if err := json.Unmarshal(v, &scalar); err != nil {
		return false
	}
	switch x := scalar.(type) {
	case string, bool, float64:
		return true
	case []any:
		if len(x) == 0 {
			return false
		}
		for _, e := range x {
			switch e.(type) {
			case string, bool, float64:
			default:
				return false
			}
		}
		return true
	}
	return false
}
