package orchestrate

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestScheduleRule(t *testing.T) {
	p := New("nightly", PassStep("a", 1))
	target := Target{StateMachineARN: "arn:aws:states:us-east-1:123456789012:stateMachine:nightly", RoleARN: "arn:aws:iam::123456789012:role/events",
		Input: map[string]string{"mode": "full"}}
	doc, err := ScheduleRule(p, "cron(0 3 * * ? *)", target)
	if err != nil {
		t.Fatal(err)
	}
	var r EventRule
	if err := json.Unmarshal(doc, &r); err != nil {
		t.Fatal(err)
	}
	if r.Name != "nightly-schedule" || r.ScheduleExpression != "cron(0 3 * * ? *)" || r.State != "ENABLED" || len(r.Targets) != 1 ||
		r.Targets[0].Arn != target.StateMachineARN || r.Targets[0].RoleArn != target.RoleARN || r.Targets[0].Input != `{"mode":"full"}` ||
		r.Targets[0].ID != "lakekit-nightly" {
		t.Fatalf("rule %s", doc)
	}
	for _, ok := range []string{"rate(1 hour)", "rate(5 minutes)", "rate(2 days)", "cron(15 10 ? * 6L 2025-2030)", "cron(0/15 * * * ? *)"} {
		if err := ValidateSchedule(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "rate(1 hours)", "rate(5 minute)", "rate(0 minutes)", "cron(0 3 * * *)", "cron(0 3 * * * *)", "every day", "cron(0 3 ? * ? *)"} {
		if _, err := ScheduleRule(p, bad, target); !errors.Is(err, ErrInvalidRule) {
			t.Errorf("%q accepted: %v", bad, err)
		}
	}
	if _, err := ScheduleRule(p, "rate(1 day)", Target{}); !errors.Is(err, ErrInvalidRule) {
		t.Errorf("target without ARNs: %v", err)
	}
}

func TestS3EventRule(t *testing.T) {
	p := New("ingest", PassStep("a", 1))
	doc, err := S3EventRule(p, "lake-landing", "raw/orders/", Target{StateMachineARN: "arn:sm", RoleARN: "arn:role"})
	if err != nil {
		t.Fatal(err)
	}
	var r EventRule
	json.Unmarshal(doc, &r)
	var pattern struct {
		Source     []string `json:"source"`
		DetailType []string `json:"detail-type"`
		Detail     struct {
			Bucket struct{ Name []string } `json:"bucket"`
			Object struct {
				Key []map[string]string `json:"key"`
			} `json:"object"`
		} `json:"detail"`
	}
	if err := json.Unmarshal([]byte(r.EventPattern), &pattern); err != nil {
		t.Fatalf("pattern %q: %v", r.EventPattern, err)
	}
	if pattern.Source[0] != "aws.s3" || pattern.DetailType[0] != "Object Created" || pattern.Detail.Bucket.Name[0] != "lake-landing" ||
		pattern.Detail.Object.Key[0]["prefix"] != "raw/orders/" || r.Name != "ingest-s3" || r.Targets[0].Input != "" {
		t.Fatalf("rule %s", doc)
	}
	if _, err := S3EventRule(p, "", "", Target{StateMachineARN: "a", RoleARN: "b"}); !errors.Is(err, ErrInvalidRule) {
		t.Fatal("empty bucket accepted")
	}
}
