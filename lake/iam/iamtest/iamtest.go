// Package iamtest checks IAM policy documents against the Service
// Authorization Reference (SAR): for every action a statement allows, the
// resource types it can be granted on (none means the Resource must be
// "*"), the condition keys it supports and the actions it depends on.
// The tests of lake/iam and orchestrate run every policy lakekit renders
// through Check, so a grant real IAM would refuse or ignore fails here,
// not in a user's account.
//
// The table (testdata/sar.json) holds the actions lakekit grants or calls,
// copied from the SAR's "Actions, resources, and condition keys" pages;
// testdata/README.md says where they came from and how to add an action.
package iamtest

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"maps"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
)

//go:embed testdata/sar.json
var sarJSON []byte

// Action is one action's row in the SAR's actions table.
type Action struct {
	// ResourceTypes are the resource types the action can be granted on;
	// a trailing "*" marks a required one. Empty: Resource must be "*".
	ResourceTypes    []string `json:"resource_types"`
	ConditionKeys    []string `json:"condition_keys"`
	DependentActions []string `json:"dependent_actions"`
}

// ResourceType is one row of the SAR's resource types table.
type ResourceType struct {
	ARN           string   `json:"arn"`
	ConditionKeys []string `json:"condition_keys"`
}

// Service is the part of a service's SAR page the table keeps.
type Service struct {
	Page          string                  `json:"page"`
	ResourceTypes map[string]ResourceType `json:"resource_types"`
	Actions       map[string]Action       `json:"actions"`
}

// Table is the SAR extract, by service prefix.
type Table map[string]Service

var (
	loadOnce sync.Once
	table    Table
	loadErr  error
)

// SAR returns the embedded table. It panics if the table does not parse,
// which a test of this package catches.
func SAR() Table {
	loadOnce.Do(func() { loadErr = json.Unmarshal(sarJSON, &table) })
	if loadErr != nil {
		panic(fmt.Sprintf("iamtest: testdata/sar.json: %v", loadErr))
	}
	return table
}

// NotNeeded lists dependent actions (action → dependent → why) that the
// SAR names but lakekit's use of the action never needs. Each entry says
// why; anything not here must be granted alongside its action.
var NotNeeded = map[string]map[string]string{
	"states:CreateStateMachine": {"states:PublishStateMachineVersion": "needed only with publish=true; SFN.Deploy never publishes a version"},
	"states:UpdateStateMachine": {"states:PublishStateMachineVersion": "needed only with publish=true; SFN.Deploy never publishes a version"},
}

// OneOf lists actions whose required resource types are alternatives
// (the request names one resource, of either type), not all needed at
// once as for Glue's catalog, database and table.
var OneOf = map[string]string{
	"states:DescribeExecution": "one execution, of a standard (execution) or an express state machine (express)",
}

// passedTo is the service principal a dependent iam:PassRole of an
// action of the service (by prefix) must be allowed to pass roles to.
var passedTo = map[string]string{
	"states": "states.amazonaws.com",
	"ecs":    "ecs-tasks.amazonaws.com",
}

// Lookup returns the row of an action ("service:Name"), case-insensitively
// as IAM matches actions.
func (t Table) Lookup(action string) (string, Action, bool) {
	svc, name, _ := strings.Cut(action, ":")
	s, ok := t[strings.ToLower(svc)]
	if !ok {
		return "", Action{}, false
	}
	for n, a := range s.Actions {
		if strings.EqualFold(n, name) {
			return strings.ToLower(svc) + ":" + n, a, true
		}
	}
	return "", Action{}, false
}

// Expand returns the table's actions an Action element matches (with IAM
// wildcards * and ?), sorted.
func (t Table) Expand(pattern string) []string {
	svc, name, ok := strings.Cut(pattern, ":")
	s, known := t[strings.ToLower(svc)]
	if !ok || !known {
		return nil
	}
	var out []string
	for n := range s.Actions {
		if m, _ := path.Match(strings.ToLower(name), strings.ToLower(n)); m {
			out = append(out, strings.ToLower(svc)+":"+n)
		}
	}
	sort.Strings(out)
	return out
}

var (
	reMu    sync.Mutex
	reCache = map[string]*regexp.Regexp{}
	varRE   = regexp.MustCompile(`\$\{[A-Za-z0-9]+\}`)
)

// arnRE turns a SAR ARN template into a regular expression: ${Partition},
// ${Region} and ${Account} match those fields, other variables match a
// name (or a wildcard) without ':' or '/', the last one without '/'
// unless it is a path (an object key or a role name with a path).
func arnRE(tmpl string) *regexp.Regexp {
	reMu.Lock()
	defer reMu.Unlock()
	if re, ok := reCache[tmpl]; ok {
		return re
	}
	locs := varRE.FindAllStringIndex(tmpl, -1)
	var b strings.Builder
	b.WriteString("^")
	last := 0
	for i, l := range locs {
		b.WriteString(regexp.QuoteMeta(tmpl[last:l[0]]))
		name := tmpl[l[0]+2 : l[1]-1]
		switch {
		case name == "Partition":
			b.WriteString(`aws[a-z-]*`)
		case name == "Region":
			b.WriteString(`[a-z0-9-]+`)
		case name == "Account":
			b.WriteString(`\d{12}`)
		case i == len(locs)-1 && l[1] == len(tmpl) && (strings.Contains(name, "Path") || name == "ObjectName"):
			b.WriteString(`.+`)
		case i == len(locs)-1 && l[1] == len(tmpl):
			b.WriteString(`[^/]+`)
		default:
			b.WriteString(`[^:/]+`)
		}
		last = l[1]
	}
	b.WriteString(regexp.QuoteMeta(tmpl[last:]))
	b.WriteString("$")
	re := regexp.MustCompile(b.String())
	reCache[tmpl] = re
	return re
}

// matchesType reports whether resource is an ARN of the action's resource
// type rt (without its required mark).
func (t Table) matchesType(action, rt, resource string) bool {
	svc, _, _ := strings.Cut(action, ":")
	r, ok := t[svc].ResourceTypes[rt]
	return ok && arnRE(r.ARN).MatchString(resource)
}

// keyValid reports whether a condition key may be used with the action:
// global keys (aws:...) always, others when the action's row or one of
// its resource types lists them (${...} parts match anything).
func (t Table) keyValid(action, key string) bool {
	if strings.HasPrefix(strings.ToLower(key), "aws:") {
		return true
	}
	svc, _, _ := strings.Cut(action, ":")
	_, a, _ := t.Lookup(action)
	keys := slices.Clone(a.ConditionKeys)
	for _, rt := range a.ResourceTypes {
		keys = append(keys, t[svc].ResourceTypes[strings.TrimSuffix(rt, "*")].ConditionKeys...)
	}
	for _, k := range keys {
		pat := "^" + varRE.ReplaceAllString(regexp.QuoteMeta(k), "") + "$"
		if strings.Contains(k, "${") || strings.Contains(k, "<") {
			pat = "^" + regexp.QuoteMeta(k[:strings.IndexAny(k, "$<")]) + ".+$"
		}
		if regexp.MustCompile("(?i)" + pat).MatchString(key) {
			return true
		}
	}
	return false
}

type statement struct {
	Sid       string
	Effect    string
	Action    any
	NotAction any
	Resource  any
	Condition map[string]map[string]any
}

func strs(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// Check returns every way an identity policy document breaks the SAR, one
// error each, naming the statement, action and resource:
//
//   - an action the table does not know (a typo, or one to add to the
//     table from the SAR);
//   - an action without resource types on anything but "*" (IAM denies
//     it), or one with resource types on "*" (it grants too much);
//   - a resource that is no ARN of a resource type of any of the
//     statement's actions (IAM never uses it: a KMS alias ARN for
//     kms:Decrypt, a state machine ARN for states:SendTaskSuccess);
//   - an action for which the policy names no ARN of one of its required
//     resource types;
//   - a condition key that is neither global nor listed for an action of
//     its statement (the condition never matches, so the action is never
//     allowed);
//   - a dependent action the policy does not grant (unless NotNeeded
//     says why it is not needed), and a dependent iam:PassRole whose
//     iam:PassedToService condition leaves out the action's service.
func (t Table) Check(doc []byte) []error {
	var d struct{ Statement []statement }
	if err := json.Unmarshal(doc, &d); err != nil {
		return []error{fmt.Errorf("not a policy document: %v", err)}
	}
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	granted := map[string][]statement{} // expanded action → statements allowing it
	for i, st := range d.Statement {
		t.checkGrant(i, st, granted, bad)
	}
	t.checkRequired(granted, bad)
	return errs
}

// checkGrant checks statement i of a policy and records the actions it
// allows in granted.
func (t Table) checkGrant(i int, st statement, granted map[string][]statement, bad func(format string, args ...any)) {
	name := fmt.Sprintf("statement %d %s", i, st.Sid)
	if st.Effect != "Allow" {
		return
	}
	if st.NotAction != nil {
		bad("%s: NotAction grants every other action", name)
		return
	}
	resources := strs(st.Resource)
	star := slices.Contains(resources, "*")
	var acts []string
	for _, pat := range strs(st.Action) {
		exp := t.Expand(pat)
		if len(exp) == 0 {
			bad("%s: action %q is not in the Service Authorization Reference table (testdata/sar.json)", name, pat)
		}
		acts = append(acts, exp...)
	}
	for _, a := range acts {
		granted[a] = append(granted[a], st)
		_, row, _ := t.Lookup(a)
		switch {
		case len(row.ResourceTypes) == 0 && !star:
			bad("%s: %s has no resource types in the SAR, so its Resource must be \"*\"; %v is never matched", name, a, resources)
		case len(row.ResourceTypes) > 0 && star:
			bad("%s: %s supports resource-level permissions (%v); Resource \"*\" grants it on every resource", name, a, row.ResourceTypes)
		}
		for op, keys := range st.Condition {
			for k := range keys {
				if !t.keyValid(a, k) {
					bad("%s: condition %s %q is not a condition key of %s", name, op, k, a)
				}
			}
		}
	}
	for _, r := range resources {
		if r == "*" {
			continue
		}
		ok := false
		for _, a := range acts {
			_, row, _ := t.Lookup(a)
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

// checkRequired checks that each granted action has its required
// resource types and dependent actions.
func (t Table) checkRequired(granted map[string][]statement, bad func(format string, args ...any)) {
	for _, a := range slices.Sorted(maps.Keys(granted)) {
		_, row, _ := t.Lookup(a)
		for _, rt := range row.ResourceTypes {
			req, ok := strings.CutSuffix(rt, "*")
			if !ok {
				continue
			}
			covered := func(rt string) bool {
				for _, st := range granted[a] {
					for _, r := range strs(st.Resource) {
						if r == "*" || t.matchesType(a, rt, r) {
							return true
						}
					}
				}
				return false
			}
			found := covered(req)
			if OneOf[a] != "" {
				for _, alt := range row.ResourceTypes {
					if alt, ok := strings.CutSuffix(alt, "*"); ok && covered(alt) {
						found = true
					}
				}
			}
			if !found {
				bad("%s: the policy names no %s resource, which the action requires (%s)", a, req, t[strings.Split(a, ":")[0]].ResourceTypes[req].ARN)
			}
		}
		for _, dep := range row.DependentActions {
			if NotNeeded[a][dep] != "" {
				continue
			}
			sts := granted[strings.ToLower(dep)]
			if len(sts) == 0 {
				if c, _, ok := t.Lookup(dep); ok {
					sts = granted[c]
				}
			}
			if len(sts) == 0 {
				bad("%s: its dependent action %s is not granted", a, dep)
				continue
			}
			svc, _, _ := strings.Cut(a, ":")
			if strings.EqualFold(dep, "iam:PassRole") && passedTo[svc] != "" && !passes(sts, passedTo[svc]) {
				bad("%s: its dependent iam:PassRole is not granted for %s (iam:PassedToService)", a, passedTo[svc])
			}
		}
	}
}

// passes reports whether one of the iam:PassRole statements lets roles
// be passed to the service.
func passes(sts []statement, service string) bool {
	for _, st := range sts {
		if len(st.Condition) == 0 {
			return true
		}
		for _, keys := range st.Condition {
			for k, v := range keys {
				if strings.EqualFold(k, "iam:PassedToService") && slices.Contains(strs(v), service) {
					return true
				}
			}
		}
	}
	return false
}

// Granted returns the actions (expanded against the table) a policy
// document allows, and on which resources.
func (t Table) Granted(doc []byte) (map[string][]string, error) {
	var d struct{ Statement []statement }
	if err := json.Unmarshal(doc, &d); err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for _, st := range d.Statement {
		if st.Effect != "Allow" {
			continue
		}
		for _, pat := range strs(st.Action) {
			for _, a := range t.Expand(pat) {
				out[a] = append(out[a], strs(st.Resource)...)
			}
		}
	}
	return out, nil
}
