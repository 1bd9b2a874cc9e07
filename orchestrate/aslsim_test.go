package orchestrate

import (
	"encoding/json"
	"fmt"
	"maps"
	"strings"
)

// aslDef and aslState decode the parts of a compiled definition the
// fidelity tests read.
type aslDef struct {
	StartAt string
	States  map[string]aslState
}

type aslRetrier struct {
	ErrorEquals     []string
	IntervalSeconds int
	MaxAttempts     int
	BackoffRate     float64
}

type aslState struct {
	Type           string
	Resource       string
	Next           string
	End            bool
	Parameters     map[string]any
	ResultSelector map[string]any
	ResultPath     *string
	OutputPath     *string
	ItemsPath      string
	ItemSelector   map[string]any
	ItemProcessor  *aslDef
	Branches       []aslDef
	Choices        []map[string]any
	Default        string
	Retry          []aslRetrier
	Catch          []map[string]any
	Raw            json.RawMessage `json:"-"`
}

// sim runs a compiled definition the way Step Functions moves data through
// it (InputPath, Parameters, ResultSelector, ResultPath, OutputPath,
// Catch, Choice, Map, Parallel), with the service integrations answered by
// task. It is the small subset of the States Language the compiler emits,
// enough to measure what a run would send and keep.
type sim struct {
	// task answers a Task state: its result, or the name of its error.
	task func(state, resource string, params any) (result any, errName string)
	// entered lists the states in the order they ran.
	entered []string
}

// simError is a failed run: the error name, the state that raised it and,
// for States.Runtime, which field could not be evaluated.
type simError struct{ name, state, field string }

func (e *simError) Error() string {
	if e.field != "" {
		return e.name + " in " + e.state + " (" + e.field + ")"
	}
	return e.name + " in " + e.state
}

func (m *sim) run(def json.RawMessage, input any) (any, error) {
	var d map[string]any
	if err := json.Unmarshal(def, &d); err != nil {
		return nil, err
	}
	return m.exec(d, input, map[string]any{})
}

func (m *sim) exec(d map[string]any, input any, ctx map[string]any) (any, error) {
	states := d["States"].(map[string]any)
	cur := d["StartAt"].(string)
	for steps := 0; ; steps++ {
		if steps > 10000 {
			return nil, &simError{"sim.TooManyStates", cur, ""}
		}
		m.entered = append(m.entered, cur)
		st, ok := states[cur].(map[string]any)
		if !ok {
			return nil, &simError{"sim.NoSuchState", cur, ""}
		}
		out, next, err := m.state(cur, st, input, ctx)
		if err != nil {
			return nil, err
		}
		if next == "" {
			return out, nil
		}
		input, cur = out, next
	}
}

func runtimeErr(state, field string) error { return &simError{ErrorRuntime, state, field} }

// state runs one state and returns its output and the next state ("" at
// the end).
func (m *sim) state(name string, st map[string]any, raw any, ctx map[string]any) (any, string, error) {
	next, _ := st["Next"].(string)
	in := raw
	if p, ok := st["InputPath"].(string); ok {
		v, found := getPath(p, raw, ctx)
		if !found {
			return nil, "", runtimeErr(name, "InputPath")
		}
		in = v
	}
	switch st["Type"] {
	case "Succeed":
		return in, "", nil
	case "Fail":
		e, _ := st["Error"].(string)
		return nil, "", &simError{e, name, ""}
	case "Wait":
		return in, next, nil
	case "Choice":
		for _, r := range st["Choices"].([]any) {
			rule := r.(map[string]any)
			ok, err := evalSimRule(rule, in, ctx)
			if err != nil {
				return nil, "", runtimeErr(name, "Choices")
			}
			if ok {
				return in, rule["Next"].(string), nil
			}
		}
		if def, ok := st["Default"].(string); ok {
			return in, def, nil
		}
		return nil, "", &simError{ErrorNoChoiceMatched, name, ""}
	}
	if st["Type"] == "Task" {
		ctx = maps.Clone(ctx)
		ctx["Task"] = map[string]any{"Token": "token-" + name}
	}
	eff := in
	if p, ok := st["Parameters"]; ok {
		v, err := resolve(p, in, ctx)
		if err != nil {
			return nil, "", runtimeErr(name, "Parameters: "+err.Error())
		}
		eff = v
	}
	var result any
	var errName string
	switch st["Type"] {
	case "Pass":
		result = eff
		if r, ok := st["Result"]; ok {
			result = r
		}
	case "Task":
		result, errName = m.task(name, st["Resource"].(string), eff)
	case "Map":
		items, found := getPath(st["ItemsPath"].(string), in, ctx)
		list, isList := items.([]any)
		if !found || !isList {
			return nil, "", runtimeErr(name, "ItemsPath")
		}
		proc := st["ItemProcessor"].(map[string]any)
		var outs []any
		for k, item := range list {
			ictx := map[string]any{"Map": map[string]any{"Item": map[string]any{"Value": item, "Index": float64(k)}}}
			iin := eff
			if sel, ok := st["ItemSelector"]; ok {
				v, err := resolve(sel, in, ictx)
				if err != nil {
					return nil, "", runtimeErr(name, "ItemSelector: "+err.Error())
				}
				iin = v
			}
			out, err := m.exec(proc, iin, ictx)
			if err != nil {
				if se, ok := err.(*simError); ok && se.name != ErrorRuntime {
					errName = se.name
					break
				}
				return nil, "", err
			}
			outs = append(outs, out)
		}
		result = outs
	case "Parallel":
		var outs []any
		for _, b := range st["Branches"].([]any) {
			out, err := m.exec(b.(map[string]any), eff, ctx)
			if err != nil {
				if se, ok := err.(*simError); ok && se.name != ErrorRuntime {
					errName = se.name
					break
				}
				return nil, "", err
			}
			outs = append(outs, out)
		}
		result = outs
	default:
		return nil, "", &simError{"sim.UnknownType", name, ""}
	}
	if errName != "" {
		cs, _ := st["Catch"].([]any)
		for _, c := range cs {
			cm := c.(map[string]any)
			var ee []string
			for _, e := range cm["ErrorEquals"].([]any) {
				ee = append(ee, e.(string))
			}
			if matchError(ee, errName) {
				out, err := setPath(cm, raw, map[string]any{"Error": errName, "Cause": "simulated"})
				if err != nil {
					return nil, "", runtimeErr(name, "Catch ResultPath")
				}
				return out, cm["Next"].(string), nil
			}
		}
		return nil, "", &simError{errName, name, ""}
	}
	if sel, ok := st["ResultSelector"]; ok {
		v, err := resolve(sel, result, ctx)
		if err != nil {
			return nil, "", runtimeErr(name, "ResultSelector: "+err.Error())
		}
		result = v
	}
	out, err := setPath(st, raw, result)
	if err != nil {
		return nil, "", runtimeErr(name, "ResultPath")
	}
	if p, ok := st["OutputPath"].(string); ok {
		v, found := getPath(p, out, ctx)
		if !found {
			return nil, "", runtimeErr(name, "OutputPath")
		}
		out = v
	}
	if end, _ := st["End"].(bool); end {
		next = ""
	}
	return out, next, nil
}

// setPath applies a state's (or catcher's) ResultPath: "$" (the default)
// replaces the input, null discards the result, "$.a.b" sets a field.
func setPath(st map[string]any, raw, result any) (any, error) {
	rp, present := st["ResultPath"]
	if present && rp == nil {
		return raw, nil
	}
	p, _ := rp.(string)
	if !present || p == "$" {
		return result, nil
	}
	out := clone(raw)
	cur, ok := out.(map[string]any)
	if !ok {
		return nil, runtimeErr("", "ResultPath")
	}
	parts := strings.Split(strings.TrimPrefix(p, "$."), ".")
	for _, f := range parts[:len(parts)-1] {
		nx, ok := cur[f].(map[string]any)
		if !ok {
			nx = map[string]any{}
			cur[f] = nx
		}
		cur = nx
	}
	cur[parts[len(parts)-1]] = result
	return out, nil
}

func clone(v any) any {
	b, _ := json.Marshal(v)
	var out any
	json.Unmarshal(b, &out)
	return out
}

// getPath reads a reference path: "$", "$.a.b", "$[0].a", "$$.Map.Item.Value".
func getPath(p string, v any, ctx map[string]any) (any, bool) {
	if strings.HasPrefix(p, "$$") {
		v, p = any(ctx), p[1:]
	}
	p = strings.TrimPrefix(p, "$")
	for p != "" {
		switch {
		case strings.HasPrefix(p, "["):
			end := strings.IndexByte(p, ']')
			var k int
			if _, err := fmt.Sscanf(p[1:end], "%d", &k); err != nil {
				return nil, false
			}
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				return nil, false
			}
			v, p = l[k], p[end+1:]
		case strings.HasPrefix(p, "."):
			p = p[1:]
			end := strings.IndexAny(p, ".[")
			if end < 0 {
				end = len(p)
			}
			o, ok := v.(map[string]any)
			if !ok {
				return nil, false
			}
			if v, ok = o[p[:end]]; !ok {
				return nil, false
			}
			p = p[end:]
		default:
			return nil, false
		}
	}
	return v, true
}

// resolve fills a payload template (Parameters, ResultSelector,
// ItemSelector): fields ending in ".$" take a path's value or, for
// States.JsonToString(path), its JSON text.
func resolve(tmpl, in any, ctx map[string]any) (any, error) {
	switch t := tmpl.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, v := range t {
			if !strings.HasSuffix(k, ".$") {
				r, err := resolve(v, in, ctx)
				if err != nil {
					return nil, err
				}
				out[k] = r
				continue
			}
			expr := v.(string)
			if arg, ok := strings.CutPrefix(expr, "States.JsonToString("); ok {
				val, found := getPath(strings.TrimSuffix(arg, ")"), in, ctx)
				if !found {
					return nil, runtimeErr("", k)
				}
				b, _ := json.Marshal(val)
				out[strings.TrimSuffix(k, ".$")] = string(b)
				continue
			}
			if strings.HasPrefix(expr, "States.") {
				return nil, fmt.Errorf("sim: intrinsic %s", expr)
			}
			val, found := getPath(expr, in, ctx)
			if !found {
				return nil, runtimeErr("", k)
			}
			out[strings.TrimSuffix(k, ".$")] = val
		}
		return out, nil
	case []any:
		var out []any
		for _, v := range t {
			r, err := resolve(v, in, ctx)
			if err != nil {
				return nil, err
			}
			out = append(out, r)
		}
		return out, nil
	}
	return tmpl, nil
}

func evalSimRule(r map[string]any, in any, ctx map[string]any) (bool, error) {
	if and, ok := r["And"].([]any); ok {
		for _, c := range and {
			ok, err := evalSimRule(c.(map[string]any), in, ctx)
			if err != nil || !ok {
				return false, err
			}
		}
		return true, nil
	}
	if or, ok := r["Or"].([]any); ok {
		for _, c := range or {
			ok, err := evalSimRule(c.(map[string]any), in, ctx)
			if err != nil || ok {
				return ok, err
			}
		}
		return false, nil
	}
	if not, ok := r["Not"].(map[string]any); ok {
		ok, err := evalSimRule(not, in, ctx)
		return !ok, err
	}
	v, found := getPath(r["Variable"].(string), in, ctx)
	if want, ok := r["IsPresent"].(bool); ok {
		return found == want, nil
	}
	if !found {
		return false, runtimeErr("", r["Variable"].(string))
	}
	switch {
	case r["StringEquals"] != nil:
		s, ok := v.(string)
		return ok && s == r["StringEquals"], nil
	case r["BooleanEquals"] != nil:
		b, ok := v.(bool)
		return ok && b == r["BooleanEquals"], nil
	}
	for op, cmp := range map[string]func(a, b float64) bool{
		"NumericEquals": func(a, b float64) bool { return a == b }, "NumericLessThan": func(a, b float64) bool { return a < b },
		"NumericGreaterThan": func(a, b float64) bool { return a > b }, "NumericLessThanEquals": func(a, b float64) bool { return a <= b },
		"NumericGreaterThanEquals": func(a, b float64) bool { return a >= b }} {
		if want, ok := r[op].(float64); ok {
			n, isNum := v.(float64)
			return isNum && cmp(n, want), nil
		}
	}
	return false, fmt.Errorf("sim: rule %v", r)
}
