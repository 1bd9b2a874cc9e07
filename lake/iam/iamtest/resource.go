package iamtest

import (
	"encoding/json"
	"fmt"
	"strings"
)

type resourceStatement struct {
	Sid       string
	Effect    string
	Action    any
	NotAction any
	Resource  any
	Condition map[string]map[string]any
}

// CheckResourcePolicy returns every way a resource policy document
// (bucket, key or VPC endpoint policy) breaks the SAR, one error each:
// in every statement, Allow or Deny, an action the table does not know,
// a condition key that is neither global nor listed for each action it
// guards (a Deny whose key never appears in the request denies
// differently than meant), and a resource that is no ARN of a resource
// type of the statement's actions. self is the ARN of the resource the
// policy is attached to when its Resource "*" means that resource (a KMS
// key policy); "" otherwise. Resource "*" is accepted for actions without
// resource types and in Deny statements.
func (t Table) CheckResourcePolicy(doc []byte, self string) []error {
	var d struct{ Statement []resourceStatement }
	if err := json.Unmarshal(doc, &d); err != nil {
		return []error{fmt.Errorf("not a policy document: %v", err)}
	}
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	for i, st := range d.Statement {
		name := fmt.Sprintf("statement %d %s", i, st.Sid)
		if st.NotAction != nil {
			bad("%s: NotAction is not used in lakekit's resource policies", name)
			continue
		}
		var acts []string
		for _, pat := range strs(st.Action) {
			exp := t.Expand(pat)
			if len(exp) == 0 {
				bad("%s: action %q is not in the Service Authorization Reference table (testdata/sar.json)", name, pat)
			}
			acts = append(acts, exp...)
		}
		for _, a := range acts {
			for op, keys := range st.Condition {
				for k := range keys {
					if !t.keyValid(a, k) {
						bad("%s: condition %s %q is not a condition key of %s", name, op, k, a)
					}
				}
			}
		}
		for _, r := range strs(st.Resource) {
			if r == "*" && self != "" {
				r = self
			}
			if r == "*" {
				for _, a := range acts {
					if _, row, _ := t.Lookup(a); len(row.ResourceTypes) > 0 && st.Effect == "Allow" {
						bad("%s: %s supports resource-level permissions (%v); Resource \"*\" allows it on every resource", name, a, row.ResourceTypes)
					}
				}
				continue
			}
			ok := false
			for _, a := range acts {
				_, row, _ := t.Lookup(a)
				if len(row.ResourceTypes) == 0 {
					bad("%s: %s has no resource types, so its Resource must be \"*\"; %q is never matched", name, a, r)
				}
				for _, rt := range row.ResourceTypes {
					if t.matchesType(a, strings.TrimSuffix(rt, "*"), r) {
						ok = true
					}
				}
			}
			if !ok && len(acts) > 0 {
				bad("%s: resource %q is no ARN of a resource type of %v", name, r, acts)
			}
		}
	}
	return errs
}
