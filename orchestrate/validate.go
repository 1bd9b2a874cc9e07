package orchestrate

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxNameLength is the longest pipeline or step name Step Functions accepts.
const MaxNameLength = 80

const forbiddenNameChars = "<>{}[]?*\"#%\\^|~$&,;:/"

// ValidateName checks a pipeline or step name against the rules of Step
// Functions: 1 to 80 characters, no whitespace, brackets (< > { } [ ]),
// wildcards (? *), any of " # % \ ^ | ~ $ & , ; : /, or control characters.
func ValidateName(kind, name string) error {
	if name == "" {
		return fmt.Errorf("%w: %s name is empty", ErrInvalidPipeline, kind)
	}
	if !utf8.ValidString(name) {
		return fmt.Errorf("%w: %s %q is not valid UTF-8", ErrInvalidPipeline, kind, name)
	}
	if n := utf8.RuneCountInString(name); n > MaxNameLength {
		return fmt.Errorf("%w: %s %q is %d characters long; Step Functions allows at most %d",
			ErrInvalidPipeline, kind, name, n, MaxNameLength)
	}
	for _, r := range name {
		switch {
		case unicode.IsSpace(r):
			return fmt.Errorf("%w: %s %q contains whitespace, which Step Functions refuses", ErrInvalidPipeline, kind, name)
		case unicode.IsControl(r):
			return fmt.Errorf("%w: %s %q contains a control character (%U), which Step Functions refuses", ErrInvalidPipeline, kind, name, r)
		case strings.ContainsRune(forbiddenNameChars, r):
			return fmt.Errorf("%w: %s %q contains %q, which Step Functions refuses", ErrInvalidPipeline, kind, name, r)
		}
	}
	return nil
}

// Key is the JSON key a step's result is stored under in the state of a
// compiled state machine: the name with every character other than ASCII
// letters, digits and '_' replaced by '_', and an "s" in front when it
// does not start with a letter (JSONPath reference paths need one). Keys
// must be unique within a pipeline (Validate checks).
func Key(name string) string {
	var b strings.Builder
	for i, r := range name {
		letter := r < 128 && unicode.IsLetter(r)
		if i == 0 && !letter {
			b.WriteByte('s')
		}
		if letter || r < 128 && (unicode.IsDigit(r) || r == '_') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

func validField(path string) bool {
	if path == "" {
		return true
	}
	for _, part := range strings.Split(path, ".") {
		if part == "" {
			return false
		}
		for i, r := range part {
			if !(r < 128 && (unicode.IsLetter(r) || (i > 0 && (r == '_' || unicode.IsDigit(r))))) {
				return false
			}
		}
	}
	return true
}

func stepErr(step, format string, args ...any) error {
	return fmt.Errorf("%w: step %q: %s", ErrInvalidPipeline, step, fmt.Sprintf(format, args...))
}

// checkStatesAll refuses what Step Functions refuses: States.ALL together
// with other error names, or in a retrier or catcher other than the last.
func (s *Step) checkStatesAll() error {
	check := func(what string, n int, errs func(int) []string) error {
		for k := range n {
			e := errs(k)
			if !slices.Contains(e, ErrorAll) {
				continue
			}
			if len(e) > 1 {
				return stepErr(s.Name, "%s %d lists %s with other error names %v; Step Functions wants it alone", what, k, ErrorAll, e)
			}
			if k != n-1 {
				return stepErr(s.Name, "%s %d matches %s but is not the last %s; Step Functions wants it last", what, k, ErrorAll, what)
			}
		}
		return nil
	}
	if err := check("retry policy", len(s.Retries), func(k int) []string { return s.Retries[k].ErrorEquals }); err != nil {
		return err
	}
	return check("catch", len(s.Catches), func(k int) []string { return s.Catches[k].ErrorEquals })
}

func (s *Step) validateKind(p *Pipeline, names, keys map[string]bool) error {
	switch s.Kind {
	case KindGo:
		if s.Func == nil {
			return stepErr(s.Name, "Go step without a function")
		}
	case KindSQL:
		if strings.TrimSpace(s.SQL.Query) == "" {
			return stepErr(s.Name, "SQL step without a statement")
		}
	case KindGlueJob:
		if s.Glue.JobName == "" {
			return stepErr(s.Name, "Glue job step without a job name")
		}
	case KindCrawler:
		if s.Crawler == "" {
			return stepErr(s.Name, "crawler step without a crawler name")
		}
	case KindWait:
		if s.Wait < 0 {
			return stepErr(s.Name, "negative wait")
		}
		if len(s.Catches) > 0 || len(s.Retries) > 0 || s.Timeout > 0 {
			return stepErr(s.Name, "a wait cannot have retry, catch or timeout policies")
		}
	case KindPass:
		if s.buildErr != nil {
			return stepErr(s.Name, "pass value: %v", s.buildErr)
		}
		if s.Result == nil || !json.Valid(s.Result) {
			return stepErr(s.Name, "pass step without a JSON value")
		}
		if len(s.Catches) > 0 || len(s.Retries) > 0 || s.Timeout > 0 {
			return stepErr(s.Name, "a pass step cannot have retry, catch or timeout policies")
		}
	case KindChoice:
		if len(s.Rules) == 0 {
			return stepErr(s.Name, "choice without rules")
		}
		for i, r := range s.Rules {
			if r.Step == "" {
				return stepErr(s.Name, "rule %d reads no step", i)
			}
			if !validField(r.Field) {
				return stepErr(s.Name, "rule %d: field %q is not dot-separated names (each an ASCII letter, then letters, digits or '_')", i, r.Field)
			}
			if err := checkOp(r); err != nil {
				return stepErr(s.Name, "rule %d: %v", i, err)
			}
			if _, ok := p.Step(r.Next); !ok {
				return stepErr(s.Name, "rule %d goes to unknown step %q", i, r.Next)
			}
		}
		if s.Default != "" {
			if _, ok := p.Step(s.Default); !ok {
				return stepErr(s.Name, "default goes to unknown step %q", s.Default)
			}
		}
		if len(s.Catches) > 0 || len(s.Retries) > 0 || s.Timeout > 0 {
			return stepErr(s.Name, "a choice cannot have retry, catch or timeout policies")
		}
	case KindMap:
		if s.Map.ItemsFrom == "" {
			return stepErr(s.Name, "Map without an items source (MapSpec.ItemsFrom names the step whose output lists the items)")
		}
		if !validField(s.Map.ItemsPath) {
			return stepErr(s.Name, "items path %q is not dot-separated names (each an ASCII letter, then letters, digits or '_')", s.Map.ItemsPath)
		}
		if s.Map.Func == nil {
			return stepErr(s.Name, "Map without a function to run per item")
		}
		if s.Map.MaxConcurrency < 0 {
			return stepErr(s.Name, "negative MaxConcurrency")
		}
	case KindParallel:
		if len(s.Branches) == 0 {
			return stepErr(s.Name, "Parallel without branches")
		}
		if len(s.Retries) > 0 || s.Timeout > 0 {
			return stepErr(s.Name, "a Parallel step cannot have retry or timeout policies (give them to the steps in its branches)")
		}
		for i, b := range s.Branches {
			if b == nil {
				return stepErr(s.Name, "branch %d is nil", i)
			}
			if err := b.validate(names, keys); err != nil {
				return fmt.Errorf("step %q branch %d: %w", s.Name, i, err)
			}
		}
	default:
		return stepErr(s.Name, "unknown kind %v", s.Kind)
	}
	return nil
}

func checkOp(r Rule) error {
	switch r.Op {
	case StringEquals:
		if _, ok := r.Value.(string); !ok {
			return fmt.Errorf("%s needs a string value", r.Op)
		}
	case NumericEquals, NumericLessThan, NumericGreaterThan, NumericLessThanEquals, NumericGreaterThanEquals:
		if _, ok := toFloat(r.Value); !ok {
			return fmt.Errorf("%s needs a numeric value", r.Op)
		}
	case BooleanEquals, IsPresent:
		if _, ok := r.Value.(bool); !ok {
			return fmt.Errorf("%s needs a bool value", r.Op)
		}
	default:
		return fmt.Errorf("unknown operator %q", r.Op)
	}
	return nil
}

func toFloat(v any) (float64, bool) {
	switch n := v.(type) {
	case int:
		return float64(n), true
	case int32:
		return float64(n), true
	case int64:
		return float64(n), true
	case float32:
		return float64(n), true
	case float64:
		return n, true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	}
	return 0, false
}
