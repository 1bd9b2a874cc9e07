package orchestrate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func nop(ctx context.Context, in Input) (Output, error) { return Output(`{"ok":true}`), nil }

var (
	lambdaOpts = &CompileOptions{Lambda: &LambdaOptions{FunctionName: "arn:aws:lambda:us-east-1:123456789012:function:lakekit-worker"}}
	ecsOpts    = &CompileOptions{ECS: &ECSOptions{Cluster: "lake", TaskDefinition: "lakekit-worker:3", ContainerName: "worker",
		Subnets: []string{"subnet-0a1b2c"}, SecurityGroups: []string{"sg-0a1b2c"}}}
	ecsTokenOpts = &CompileOptions{ECS: &ECSOptions{Cluster: "lake", TaskDefinition: "lakekit-worker:3", ContainerName: "worker",
		WaitForTaskToken: true}}
)

// aslCases are the pipelines every compile test lints.
func aslCases() []struct {
	name string
	p    *Pipeline
	opts *CompileOptions
	want []string // substrings the definition must hold
} {
	return []struct {
		name string
		p    *Pipeline
		opts *CompileOptions
		want []string
	}{
		{"linear", New("linear", GoStep("extract", nop), GoStep("clean", nop).After("extract"), GoStep("load", nop).After("clean")),
			lambdaOpts, []string{ResourceLambda, `"StartAt": "lakekit:init"`}},
		{"fan-in", New("fanin", GoStep("a", nop), GoStep("b", nop), GoStep("join", nop).After("a", "b")), lambdaOpts, nil},
		{"map", New("map", GoStep("list", nop), MapStep("per-partition", "list", "partitions", nop).MaxConcurrency(4).
			Retry(RetryPolicy{ErrorEquals: []string{ErrorAll}, Interval: 2 * time.Second, MaxAttempts: 2})),
			lambdaOpts, []string{`"Type": "Map"`, `"ItemProcessor"`, `"Mode": "INLINE"`, `"MaxConcurrency": 4`, `"ItemsPath": "$.steps.list.output.partitions"`}},
		{"parallel", New("par", ParallelStep("both",
			New("left", WaitStep("w1", time.Second), PassStep("p1", map[string]int{"n": 1}).After("w1")),
			New("right", PassStep("p2", "x"))), PassStep("after", 1).After("both")),
			nil, []string{`"Type": "Parallel"`, `"Branches"`}},
		{"choice", New("choice", PassStep("cfg", map[string]any{"mode": "full", "n": 3}),
			ChoiceStep("route", "incremental",
				Rule{Step: "cfg", Field: "mode", Op: StringEquals, Value: "full", Next: "full"},
				Rule{Step: "cfg", Field: "n", Op: NumericGreaterThan, Value: 10, Next: "full"}),
			PassStep("full", 1), PassStep("incremental", 2), PassStep("report", 3).After("full")),
			nil, []string{`"Type": "Choice"`, `"StringEquals": "full"`, `"if:report"`}},
		{"retry-catch", New("rc", GoStep("risky", nop).
			Retry(RetryPolicy{ErrorEquals: []string{"Throttled"}, Interval: 500 * time.Millisecond, BackoffRate: 1.5, MaxAttempts: 5, MaxDelay: time.Minute, Jitter: true}).
			Retry(RetryPolicy{ErrorEquals: []string{ErrorTaskFailed}}).
			Catch("cleanup", ErrorAll).WithTimeout(90*time.Second),
			GoStep("cleanup", nop), GoStep("publish", nop).After("risky")),
			lambdaOpts, []string{`"Retry"`, `"Catch"`, `"JitterStrategy": "FULL"`, `"MaxDelaySeconds": 60`, `"TimeoutSeconds": 90`, `"IntervalSeconds": 1`}},
		{"glue-sync", New("glue", GlueJobStep("transform", "clean-orders", map[string]string{"--day": "2024-05-01"})), nil,
			[]string{ResourceGlueJobSync}},
		{"ecs-sync", New("ecs", GoStep("extract", nop), GoStep("load", nop).After("extract")), ecsOpts,
			[]string{ResourceECSSync, `"LaunchType": "FARGATE"`, `"Subnets"`, `"-lakekit-step"`, `"in:load"`, `States.JsonToString($.steps.load)`,
				`"TaskArn.$": "$.TaskArn"`}},
		{"ecs-token", New("ecstok", GoStep("extract", nop)), ecsTokenOpts, []string{ResourceECSToken, "$$.Task.Token"}},
		{"athena-sync", New("athena", SQLStep("compact", "INSERT INTO curated.orders SELECT * FROM cleaned.orders WHERE day = ? AND qty > 0", "2024-05-01").
			Athena("cleaned", "primary", "s3://results/athena/")), nil, []string{ResourceAthenaSync, `"ExecutionParameters"`, `qty > 0`}},
		{"crawler", New("crawl", CrawlerStep("discover", "raw-crawler"), PassStep("done", true).After("discover")), &CompileOptions{CrawlerPoll: 10 * time.Second},
			[]string{ResourceStartCrawler, ResourceGetCrawler, `.Crawler.State`, `"wait:discover"`}},
		{"crawler-last", New("crawl2", CrawlerStep("discover", "raw-crawler").Retry(RetryPolicy{ErrorEquals: []string{ErrorStepFailed}}).Catch("h"),
			PassStep("h", 1)), nil, []string{`"failed:discover"`, `"StringEquals": "SUCCEEDED"`, `"Error": "Lakekit.StepFailed"`}},
		{"everything", picturePipeline(false), ecsOpts, []string{`"Type": "Parallel"`, `"poll:crawl"`, `"if:notify"`}},
		{"nested-choice", New("nested", PassStep("cfg", map[string]bool{"on": true}), ParallelStep("par",
			New("b1", PassStep("flag", map[string]bool{"on": true}), ChoiceStep("gate", "", Rule{Step: "flag", Field: "on", Op: BooleanEquals, Value: true, Next: "go-on"}), PassStep("go-on", 1),
				PassStep("then", 2).After("go-on")),
			New("b2", GoStep("fetch", nop).Retry(RetryPolicy{ErrorEquals: []string{ErrorTaskFailed}}).Catch("fallback"), GoStep("fallback", nop))).After("cfg"),
			MapStep("each", "cfg", "", nop).After("par").Catch("last-resort"), GoStep("last-resort", nop)),
			lambdaOpts, []string{`"BooleanEquals": true`, `"if:then"`}},
		{"odd-names", New("odd", PassStep("1st-load", 1), PassStep("étape.v2", 2).After("1st-load"), GoStep("x", nop).After("étape.v2").Catch("h"), GoStep("h", nop)),
			ecsTokenOpts, []string{`"$.steps.s_tape_v2"`, `"$.steps.s1st_load"`}},
		{"catch-last", New("cl", PassStep("a", 1), GoStep("b", nop).After("a").Catch("h"), GoStep("h", nop)), ecsOpts, []string{`"skip:h"`}},
	}
}

func TestCompileLint(t *testing.T) {
	t.Parallel()
	defs := map[string][]byte{}
	for _, c := range aslCases() {
		def, err := Compile(c.p, c.opts)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		for _, w := range c.want {
			if !bytes.Contains(def, []byte(w)) {
				t.Errorf("%s: definition lacks %s:\n%s", c.name, w, def)
			}
		}
		defs[c.name] = def
	}
	// The pipelines the moto test deploys are linted too.
	for name, p := range map[string]*Pipeline{"moto": motoPipeline(), "worker": workerPipeline()} {
		def, err := Compile(p, lambdaOpts)
		if err != nil {
			t.Fatal(err)
		}
		defs[name] = def
	}
	lintASL(t, defs)
}

func TestCompileDeterministic(t *testing.T) {
	for _, c := range aslCases() {
		first, err := Compile(c.p, c.opts)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 20; i++ {
			again, _ := Compile(c.p, c.opts)
			if !bytes.Equal(first, again) {
				t.Fatalf("%s: compile %d differs:\n%s\n---\n%s", c.name, i, first, again)
			}
		}
	}
}

func TestCompileNeedsRuntime(t *testing.T) {
	_, err := Compile(New("p", GoStep("a", nop)), nil)
	if !errors.Is(err, ErrInvalidPipeline) || !strings.Contains(err.Error(), `"a"`) {
		t.Fatalf("Go step without ECS/Lambda options: %v, want ErrInvalidPipeline naming the step", err)
	}
	_, err = Compile(New("p", GoStep("a", nop)), &CompileOptions{ECS: &ECSOptions{Cluster: "c"}})
	if err == nil {
		t.Fatal("incomplete ECS options accepted")
	}
}

// The chain keeps dependencies: every step comes after the ones it needs.
func TestCompileOrder(t *testing.T) {
	p := New("order", GoStep("c", nop).After("b"), GoStep("b", nop).After("a"), GoStep("a", nop))
	def, err := Compile(p, lambdaOpts)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		States map[string]struct{ Next string }
	}
	json.Unmarshal(def, &d)
	got := []string{}
	for cur := d.States[InitState].Next; cur != ""; cur = d.States[cur].Next {
		got = append(got, cur)
	}
	if strings.Join(got, ",") != "a,b,c" {
		t.Fatalf("chain %v, want a,b,c", got)
	}
}
