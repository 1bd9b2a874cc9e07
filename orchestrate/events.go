package orchestrate

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// Target is what an EventBridge rule starts: a state machine execution.
type Target struct {
	ID              string // default "lakekit-<pipeline>"
	StateMachineARN string
	RoleARN         string // lets EventBridge call states:StartExecution
	// Input is a constant execution input (JSON-able); nil passes the event.
	Input any
}

// EventRule is an EventBridge rule with its targets, shaped like the PutRule
// and PutTargets requests (and CloudFormation's AWS::Events::Rule).
type EventRule struct {
	Name               string       `json:"Name"`
	Description        string       `json:"Description,omitempty"`
	ScheduleExpression string       `json:"ScheduleExpression,omitempty"`
	EventPattern       string       `json:"EventPattern,omitempty"`
	State              string       `json:"State"`
	Targets            []RuleTarget `json:"Targets"`
}

// RuleTarget is one target of a Rule.
type RuleTarget struct {
	ID      string `json:"Id"`
	Arn     string `json:"Arn"`
	RoleArn string `json:"RoleArn"`
	Input   string `json:"Input,omitempty"`
}

var (
	rateRE = regexp.MustCompile(`^rate\(([1-9][0-9]*) (minute|minutes|hour|hours|day|days)\)$`)
	cronRE = regexp.MustCompile(`^cron\(([^ ]+ ){5}[^ ]+\)$`)
)

// ValidateSchedule checks an EventBridge schedule expression: rate(N unit)
// with a singular unit for 1 and plural otherwise, or cron() with six
// fields (minutes hours day-of-month month day-of-week year), one of the
// day fields being '?'.
func ValidateSchedule(expr string) error {
	if m := rateRE.FindStringSubmatch(expr); m != nil {
		if (m[1] == "1") != !strings.HasSuffix(m[2], "s") {
			return fmt.Errorf("%w: %q: use a singular unit for 1 and a plural one otherwise", ErrInvalidRule, expr)
		}
		return nil
	}
	if cronRE.MatchString(expr) {
		f := strings.Fields(strings.TrimSuffix(strings.TrimPrefix(expr, "cron("), ")"))
		if (f[2] == "?") == (f[4] == "?") {
			return fmt.Errorf("%w: %q: exactly one of day-of-month and day-of-week must be '?'", ErrInvalidRule, expr)
		}
		return nil
	}
	return fmt.Errorf("%w: %q is neither rate(N unit) nor cron(min hour day-of-month month day-of-week year)", ErrInvalidRule, expr)
}

func (t Target) render(p *Pipeline) (RuleTarget, error) {
	if t.StateMachineARN == "" || t.RoleARN == "" {
		return RuleTarget{}, fmt.Errorf("%w: pipeline %q: a target needs the state machine ARN and a role ARN", ErrInvalidRule, p.Name())
	}
	rt := RuleTarget{ID: t.ID, Arn: t.StateMachineARN, RoleArn: t.RoleARN}
	if rt.ID == "" {
		rt.ID = truncate("lakekit-"+p.Name(), 64)
	}
	if t.Input != nil {
		raw, err := toRaw(t.Input)
		if err != nil {
			return RuleTarget{}, fmt.Errorf("%w: target input: %v", ErrInvalidRule, err)
		}
		rt.Input = string(raw)
	}
	return rt, nil
}

func ruleName(p *Pipeline, suffix string) string {
	return truncate(p.Name(), 64-len(suffix)) + suffix
}

// ScheduleRule renders an EventBridge rule that starts p on a schedule
// (cron(...) or rate(...)) as a JSON document.
func ScheduleRule(p *Pipeline, schedule string, target Target) ([]byte, error) {
	if err := ValidateSchedule(schedule); err != nil {
		return nil, err
	}
	rt, err := target.render(p)
	if err != nil {
		return nil, err
	}
	r := EventRule{Name: ruleName(p, "-schedule"), Description: "Runs lakekit pipeline " + p.Name() + " on " + schedule,
		ScheduleExpression: schedule, State: "ENABLED", Targets: []RuleTarget{rt}}
	return json.MarshalIndent(r, "", "  ")
}

// S3EventRule renders an EventBridge rule that starts p when an object is
// created in bucket under prefix (S3 "Object Created" events; the bucket
// must send events to EventBridge) as a JSON document.
func S3EventRule(p *Pipeline, bucket, prefix string, target Target) ([]byte, error) {
	if bucket == "" || strings.ContainsAny(bucket, "/ ") {
		return nil, fmt.Errorf("%w: bucket name %q", ErrInvalidRule, bucket)
	}
	rt, err := target.render(p)
	if err != nil {
		return nil, err
	}
	detail := map[string]any{"bucket": map[string]any{"name": []string{bucket}}}
	if prefix != "" {
		detail["object"] = map[string]any{"key": []any{map[string]string{"prefix": prefix}}}
	}
	pattern, _ := json.Marshal(map[string]any{"source": []string{"aws.s3"}, "detail-type": []string{"Object Created"}, "detail": detail})
	r := EventRule{Name: ruleName(p, "-s3"), Description: fmt.Sprintf("Runs lakekit pipeline %s when objects land in s3://%s/%s", p.Name(), bucket, prefix),
		EventPattern: string(pattern), State: "ENABLED", Targets: []RuleTarget{rt}}
	return json.MarshalIndent(r, "", "  ")
}
