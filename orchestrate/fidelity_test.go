package orchestrate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/glue"
	gluetypes "github.com/aws/aws-sdk-go-v2/service/glue/types"
)

// Step Functions refuses a definition where States.ALL shares an
// ErrorEquals with other names or is not in the last retrier or catcher;
// Validate (and so Compile) refuses the pipeline, naming the step. The
// accepted shapes compile to definitions both linters accept.
func TestValidateFidelityStatesALLAloneAndLast(t *testing.T) {
	refused := map[string]*Pipeline{
		"retry with others": New("p", GoStep("a", nop).Retry(RetryPolicy{ErrorEquals: []string{ErrorAll, "Throttled"}})),
		"retry not last": New("p", GoStep("a", nop).Retry(RetryPolicy{ErrorEquals: []string{ErrorAll}}).
			Retry(RetryPolicy{ErrorEquals: []string{"Throttled"}})),
		"catch with others": New("p", GoStep("a", nop).Catch("h", ErrorTaskFailed, ErrorAll), GoStep("h", nop)),
		"catch not last":    New("p", GoStep("a", nop).Catch("h", ErrorAll).Catch("h2", "BadData"), GoStep("h", nop), GoStep("h2", nop)),
		"map catch not last": New("p", PassStep("l", []int{1}), MapStep("m", "l", "", nop).Catch("h").Catch("h2", "X"),
			GoStep("h", nop), GoStep("h2", nop)),
		"in a branch": New("p", ParallelStep("par", New("b", GoStep("a", nop).
			Retry(RetryPolicy{ErrorEquals: []string{"X", ErrorAll}})))),
	}
	for name, p := range refused {
		err := p.Validate()
		if !errors.Is(err, ErrInvalidPipeline) || !strings.Contains(err.Error(), ErrorAll) || !strings.Contains(err.Error(), `step "`) {
			t.Errorf("%s: %v", name, err)
		}
		if _, err := Compile(p, lambdaOpts); err == nil {
			t.Errorf("%s: compiled", name)
		}
	}
	accepted := New("ok", GoStep("a", nop).Retry(RetryPolicy{ErrorEquals: []string{"Throttled", "BadData"}}).
		Retry(RetryPolicy{ErrorEquals: []string{ErrorAll}}).Catch("h", "BadData").Catch("h2"),
		GoStep("h", nop), GoStep("h2", nop))
	def, err := Compile(accepted, lambdaOpts)
	if err != nil {
		t.Fatal(err)
	}
	lintASL(t, map[string][]byte{"states-all-last": def})
}

// A Choice over a missing field raises States.Runtime; on AWS that fails
// the execution: States.ALL (and any other matcher) on an enclosing
// Parallel neither retries nor catches it. The local runner does the same.
func TestRunnerFidelityStatesALLDoesNotCatchRuntime(t *testing.T) {
	r, _ := newRunner(t, nil)
	var handled atomic.Bool
	p := New("rt", ParallelStep("par", New("b",
		PassStep("cfg", map[string]string{"mode": "full"}),
		ChoiceStep("route", "x", Rule{Step: "cfg", Field: "missing", Op: StringEquals, Value: "full", Next: "y"}),
		PassStep("x", 1), PassStep("y", 2))).Catch("h"),
		GoStep("h", func(ctx context.Context, in Input) (Output, error) { handled.Store(true); return nil, nil }))
	run, err := r.Run(context.Background(), p, nil)
	if err == nil || handled.Load() {
		t.Fatalf("States.Runtime was caught by States.ALL: err %v, handler ran %v", err, handled.Load())
	}
	if run.Steps["route"].Error == nil || run.Steps["route"].Error.Name != ErrorRuntime {
		t.Fatalf("route error %+v", run.Steps["route"].Error)
	}
	for _, m := range [][]string{{ErrorAll}, {ErrorTaskFailed}, {ErrorRuntime}} {
		if matchError(m, ErrorRuntime) {
			t.Errorf("%v matches States.Runtime", m)
		}
	}
}

// Error names beginning with "States." are reserved for Step Functions: a
// worker reports a failure with a lakekit name (its own NewError name, or
// Lakekit.StepFailed), never States.TaskFailed or another States.* name.
// The local runner names a failed step the same way, and States.TaskFailed
// still matches it.
func TestWorkerFidelityErrorNames(t *testing.T) {
	p := New("names",
		GoStep("plain", func(ctx context.Context, in Input) (Output, error) { return nil, errors.New("boom") }),
		GoStep("reserved", func(ctx context.Context, in Input) (Output, error) {
			return nil, NewError(ErrorTimeout, errors.New("not really"))
		}),
		GoStep("custom", func(ctx context.Context, in Input) (Output, error) {
			return nil, NewError("BadData", errors.New("row 3"))
		}))
	w := NewWorker(p)
	rec := &tokenRecorder{}
	w.Tokens, w.Stdout = rec, &strings.Builder{}
	for step, want := range map[string]string{"plain": ErrorStepFailed, "reserved": ErrorStepFailed, "custom": "BadData"} {
		*rec = tokenRecorder{}
		env := []string{EnvPipeline + "=names", EnvStep + "=" + step, EnvTaskToken + "=tt", EnvState + `={"params":{}}`}
		if err := w.Run(context.Background(), nil, env); err == nil {
			t.Fatalf("%s: no error", step)
		}
		if rec.errName != want || strings.HasPrefix(rec.errName, "States.") {
			t.Errorf("%s: reported as %q, want %q", step, rec.errName, want)
		}
	}
	if ErrorName(errors.New("x")) != ErrorStepFailed || !matchError([]string{ErrorTaskFailed}, ErrorStepFailed) {
		t.Errorf("ErrorName of an unnamed error: %q", ErrorName(errors.New("x")))
	}
	r, _ := newRunner(t, nil)
	run, _ := r.Run(context.Background(), New("local", GoStep("plain", func(ctx context.Context, in Input) (Output, error) {
		return nil, errors.New("boom")
	}).Catch("h", ErrorStepFailed), GoStep("h", nop)), nil)
	if run == nil || run.Steps["plain"].Error == nil || run.Steps["plain"].Error.Name != ErrorStepFailed || run.Steps["h"].State != StateSucceeded {
		t.Fatalf("local run: %+v", run)
	}
}

// Lambda tasks retry Lambda's transient service errors, as the Step
// Functions best practice says ("Handle Lambda service exceptions":
// IntervalSeconds 2, MaxAttempts 6, BackoffRate 2), before the step's own
// retry policies (so a States.ALL policy stays last); ECS tasks do not.
func TestCompileFidelityLambdaServiceRetry(t *testing.T) {
	p := New("lam", GoStep("a", nop), GoStep("b", nop).After("a").Retry(RetryPolicy{ErrorEquals: []string{ErrorAll}, MaxAttempts: 1}),
		PassStep("list", []int{1, 2}), MapStep("m", "list", "", nop))
	def, err := Compile(p, lambdaOpts)
	if err != nil {
		t.Fatal(err)
	}
	var d aslDef
	if err := json.Unmarshal(def, &d); err != nil {
		t.Fatal(err)
	}
	tasks := map[string]aslState{"a": d.States["a"], "b": d.States["b"], "item:m": d.States["m"].ItemProcessor.States["item:m"]}
	for name, st := range tasks {
		if len(st.Retry) == 0 {
			t.Errorf("%s: no Retry", name)
			continue
		}
		r := st.Retry[0]
		for _, e := range []string{"Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException"} {
			if !slices.Contains(r.ErrorEquals, e) {
				t.Errorf("%s: first retrier %v lacks %s", name, r.ErrorEquals, e)
			}
		}
		if r.IntervalSeconds != 2 || r.MaxAttempts != 6 || r.BackoffRate != 2 {
			t.Errorf("%s: first retrier %+v", name, r)
		}
	}
	if b := tasks["b"].Retry; len(b) != 2 || b[1].ErrorEquals[0] != ErrorAll {
		t.Errorf("b: retriers %+v, want the Lambda one then States.ALL", b)
	}
	ecs, err := Compile(p, ecsOpts)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(ecs), "Lambda.") {
		t.Errorf("ECS definition retries Lambda errors")
	}
	lintASL(t, map[string][]byte{"lambda-retry": def, "ecs": ecs})
}

// ecsTaskDescription is what ecs:runTask.sync returns: ECS's description
// of the stopped task (here with the fields DescribeTasks gives a Fargate
// task), which echoes the overrides the task was started with.
func ecsTaskDescription(params map[string]any, n int) map[string]any {
	id := fmt.Sprintf("%032x", n)
	arn := "arn:aws:ecs:us-east-1:123456789012:task/lake/" + id
	eni := []any{map[string]any{"AttachmentId": "a1b2c3d4-5678-90ab-cdef-11111111111" + fmt.Sprint(n%10), "PrivateIpv4Address": "10.0.1.23"}}
	return map[string]any{
		"Attachments": []any{map[string]any{"Id": "a1b2c3d4-5678-90ab-cdef-111111111111", "Type": "ElasticNetworkInterface", "Status": "DELETED",
			"Details": []any{map[string]any{"Name": "subnetId", "Value": "subnet-0a1b2c"}, map[string]any{"Name": "networkInterfaceId", "Value": "eni-0a1b2c3d4e5f"},
				map[string]any{"Name": "macAddress", "Value": "0a:1b:2c:3d:4e:5f"}, map[string]any{"Name": "privateIPv4Address", "Value": "10.0.1.23"}}}},
		"Attributes":           []any{map[string]any{"Name": "ecs.cpu-architecture", "Value": "x86_64"}},
		"AvailabilityZone":     "us-east-1a",
		"ClusterArn":           "arn:aws:ecs:us-east-1:123456789012:cluster/lake",
		"Connectivity":         "CONNECTED",
		"ConnectivityAt":       1733480000000,
		"Containers":           []any{map[string]any{"ContainerArn": "arn:aws:ecs:us-east-1:123456789012:container/lake/" + id + "/c0ffee", "ExitCode": 0, "LastStatus": "STOPPED", "Name": "worker", "Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/lakekit-worker:latest", "NetworkInterfaces": eni, "RuntimeId": id + "-1234567890", "TaskArn": arn, "Cpu": "0"}},
		"Cpu":                  "512",
		"CreatedAt":            1733480000000,
		"DesiredStatus":        "STOPPED",
		"EnableExecuteCommand": false,
		"EphemeralStorage":     map[string]any{"SizeInGiB": 20},
		"Group":                "family:lakekit-worker",
		"LastStatus":           "STOPPED",
		"LaunchType":           "FARGATE",
		"Memory":               "1024",
		"Overrides":            params["Overrides"],
		"PlatformFamily":       "Linux",
		"PlatformVersion":      "1.4.0",
		"StopCode":             "EssentialContainerExited",
		"StoppedReason":        "Essential container in task exited",
		"TaskArn":              arn,
		"TaskDefinitionArn":    "arn:aws:ecs:us-east-1:123456789012:task-definition/lakekit-worker:3",
		"Version":              5,
	}
}

// simECS runs a definition compiled for ECS in the simulator and returns
// the size of each RunTask's overrides, the state each task got in
// LAKEKIT_STATE, and the final state.
func simECS(t *testing.T, def []byte, input any) (overrides []int, states map[string][]map[string]any, final any) {
	t.Helper()
	states = map[string][]map[string]any{}
	n := 0
	m := &sim{task: func(state, resource string, params any) (any, string) {
		if resource != ResourceECSSync {
			t.Fatalf("state %s: unexpected resource %s", state, resource)
		}
		p := params.(map[string]any)
		b, _ := json.Marshal(p["Overrides"])
		overrides = append(overrides, len(b))
		co := p["Overrides"].(map[string]any)["ContainerOverrides"].([]any)[0].(map[string]any)
		for _, e := range co["Environment"].([]any) {
			if e := e.(map[string]any); e["Name"] == EnvState {
				var st map[string]any
				if err := json.Unmarshal([]byte(e["Value"].(string)), &st); err != nil {
					t.Fatalf("state %s: %s is not JSON: %v", state, EnvState, err)
				}
				states[state] = append(states[state], st)
			}
		}
		n++
		return ecsTaskDescription(p, n), ""
	}}
	final, err := m.run(def, input)
	if err != nil {
		t.Fatalf("simulated run: %v (states %v)", err, m.entered)
	}
	return overrides, states, final
}

// An ECS runTask.sync step's result is ECS's task description, which
// echoes the LAKEKIT_STATE it was started with: kept whole in the state, a
// chain of ECS steps passed each other ever larger states until RunTask's
// 8,192 characters of overrides were exceeded, and a Map over ECS items
// outgrew the 256 KiB payload limit. The compiled definition keeps only
// the task's ARN (ResultSelector) and passes each task only the run's
// parameters and its dependencies' results; measured here by running the
// definition with a simulated task description.
func TestCompileFidelityECSSyncStateStaysSmall(t *testing.T) {
	params := map[string]any{"day": "2024-05-01", "lake": "s3://acme-lake/prod", "catalog": "glue"}
	chain := New("chain", GoStep("s1", nop))
	for k := 2; k <= 5; k++ {
		chain.Add(GoStep(fmt.Sprintf("s%d", k), nop).After(fmt.Sprintf("s%d", k-1)))
	}
	chainDef, err := Compile(chain, ecsOpts)
	if err != nil {
		t.Fatal(err)
	}
	overrides, states, final := simECS(t, chainDef, params)
	if len(overrides) != 5 {
		t.Fatalf("%d tasks ran, want 5", len(overrides))
	}
	for k, n := range overrides {
		if n > 8192 {
			t.Errorf("task %d: overrides are %d characters; RunTask allows 8,192", k+1, n)
		}
	}
	if b, _ := json.Marshal(final); len(b) > 2048 {
		t.Errorf("final state is %d bytes after 5 ECS steps:\n%.600s", len(b), b)
	}
	// Each task gets the params and its dependency's result, nothing else.
	for k := 2; k <= 5; k++ {
		got := states[fmt.Sprintf("s%d", k)]
		if len(got) != 1 {
			t.Errorf("s%d: %d states", k, len(got))
			continue
		}
		steps, _ := got[0]["steps"].(map[string]any)
		dep := fmt.Sprintf("s%d", k-1)
		if got[0]["params"] == nil || len(steps) != 1 || steps[dep] == nil {
			t.Errorf("s%d got state %v, want the params and %s only", k, got[0], dep)
		}
	}

	// A Map over ECS items: each task gets its item, not the whole list,
	// and each iteration keeps a small result.
	parts := make([]string, 400)
	for i := range parts {
		parts[i] = fmt.Sprintf("day=2024-05-01/hour=%02d/part=%05d", i%24, i)
	}
	fan := New("fan", PassStep("list", map[string]any{"partitions": parts}), MapStep("each", "list", "partitions", nop).MaxConcurrency(10))
	fanDef, err := Compile(fan, ecsOpts)
	if err != nil {
		t.Fatal(err)
	}
	overrides, states, final = simECS(t, fanDef, params)
	if len(overrides) != len(parts) {
		t.Fatalf("%d tasks ran, want %d", len(overrides), len(parts))
	}
	for k, n := range overrides {
		if n > 8192 {
			t.Fatalf("item %d: overrides are %d characters; RunTask allows 8,192", k, n)
		}
	}
	if st := states["item:each"][7]; st["item"] != parts[7] || st["index"] != float64(7) || st["params"] == nil {
		t.Errorf("item 7 got state %v", st)
	}
	b, _ := json.Marshal(final)
	var fs struct{ Steps map[string]json.RawMessage }
	json.Unmarshal(b, &fs)
	if per := len(fs.Steps["each"]) / len(parts); len(b) > 256<<10 || per > 200 {
		t.Errorf("final state is %d bytes (limit 256 KiB), %d bytes per Map item", len(b), per)
	}
	lintASL(t, map[string][]byte{"chain": chainDef, "fan": fanDef})
}

// getCrawler is a glue:getCrawler answer: the crawler in state, its last
// crawl ended with status ("" for none yet).
func getCrawler(state, status string) map[string]any {
	c := map[string]any{"Name": "raw-crawler", "State": state, "Role": "arn:aws:iam::123456789012:role/crawler", "DatabaseName": "raw",
		"Targets": map[string]any{"S3Targets": []any{map[string]any{"Path": "s3://lake/raw/"}}}, "Version": 3}
	if status != "" {
		lc := map[string]any{"Status": status, "LogGroup": "/aws-glue/crawlers", "LogStream": "raw-crawler", "StartTime": 1733480000}
		if status == "FAILED" {
			lc["ErrorMessage"] = "Internal Service Exception"
		}
		c["LastCrawl"] = lc
	}
	return map[string]any{"Crawler": c}
}

// A crawler step is done when the crawler is READY again, and it
// succeeded only if that last crawl SUCCEEDED: a FAILED or CANCELLED crawl
// fails the step, which the step's Catch (and Retry) can take, as the
// local runner's crawler step does. Run on the compiled definition with
// simulated glue:getCrawler answers.
func TestCompileFidelityCrawlerFailedCrawl(t *testing.T) {
	plain := New("crawl", CrawlerStep("discover", "raw-crawler"), PassStep("done", true).After("discover"))
	caught := New("crawl", CrawlerStep("discover", "raw-crawler").Catch("handle"), PassStep("handle", "handled"),
		PassStep("done", true).After("discover"))
	cases := []struct {
		name     string
		p        *Pipeline
		answers  []map[string]any
		wantErr  bool
		ran, not string // a state that must run, one that must not
	}{
		{"succeeded", plain, []map[string]any{getCrawler("RUNNING", ""), getCrawler("STOPPING", "SUCCEEDED"), getCrawler("READY", "SUCCEEDED")}, false, "done", ""},
		{"failed", plain, []map[string]any{getCrawler("RUNNING", ""), getCrawler("READY", "FAILED")}, true, "", "done"},
		{"cancelled", plain, []map[string]any{getCrawler("READY", "CANCELLED")}, true, "", "done"},
		{"not started yet", plain, []map[string]any{getCrawler("READY", ""), getCrawler("READY", "SUCCEEDED")}, false, "done", ""},
		{"failed, caught", caught, []map[string]any{getCrawler("READY", "FAILED")}, false, "handle", "done"},
		{"succeeded, not caught", caught, []map[string]any{getCrawler("READY", "SUCCEEDED")}, false, "done", "handle"},
	}
	for _, c := range cases {
		def, err := Compile(c.p, &CompileOptions{CrawlerPoll: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		polls := 0
		m := &sim{task: func(state, resource string, params any) (any, string) {
			switch resource {
			case ResourceStartCrawler:
				return map[string]any{}, ""
			case ResourceGetCrawler:
				if polls >= len(c.answers) {
					return nil, "sim.TooManyPolls"
				}
				polls++
				return c.answers[polls-1], ""
			}
			t.Fatalf("%s: unexpected resource %s", c.name, resource)
			return nil, ""
		}}
		final, err := m.run(def, map[string]any{})
		if (err != nil) != c.wantErr {
			t.Errorf("%s: run error %v, want error %v (states %v)", c.name, err, c.wantErr, m.entered)
			continue
		}
		if err != nil && (strings.HasPrefix(err.(*simError).name, "sim.") || err.(*simError).name == ErrorRuntime) {
			t.Errorf("%s: run failed with %v", c.name, err)
		}
		if c.ran != "" && !slices.Contains(m.entered, c.ran) {
			t.Errorf("%s: %s did not run (states %v)", c.name, c.ran, m.entered)
		}
		if c.not != "" && slices.Contains(m.entered, c.not) {
			t.Errorf("%s: %s ran (states %v)", c.name, c.not, m.entered)
		}
		if c.name == "succeeded" {
			// The step's result is what the local runner records.
			got, _ := json.Marshal(final.(map[string]any)["steps"].(map[string]any)["discover"])
			if string(got) != `{"Crawler":"raw-crawler","LastCrawlStatus":"SUCCEEDED"}` {
				t.Errorf("crawler result %s", got)
			}
		}
	}
}

// fakeGlue answers GetCrawler from a script, for the local crawler step.
type fakeGlue struct {
	GlueAPI
	answers []gluetypes.Crawler
	polls   int
}

func (f *fakeGlue) StartCrawler(context.Context, *glue.StartCrawlerInput, ...func(*glue.Options)) (*glue.StartCrawlerOutput, error) {
	return &glue.StartCrawlerOutput{}, nil
}

func (f *fakeGlue) GetCrawler(context.Context, *glue.GetCrawlerInput, ...func(*glue.Options)) (*glue.GetCrawlerOutput, error) {
	c := f.answers[min(f.polls, len(f.answers)-1)]
	f.polls++
	return &glue.GetCrawlerOutput{Crawler: &c}, nil
}

// The local runner's crawler step fails on a FAILED or CANCELLED crawl and
// waits while the crawler reports no finished crawl, like the compiled one.
func TestRunnerFidelityCrawlerFailedCrawl(t *testing.T) {
	crawler := func(state gluetypes.CrawlerState, status gluetypes.LastCrawlStatus) gluetypes.Crawler {
		c := gluetypes.Crawler{Name: aws.String("raw-crawler"), State: state}
		if status != "" {
			c.LastCrawl = &gluetypes.LastCrawlInfo{Status: status, ErrorMessage: aws.String("boom")}
		}
		return c
	}
	for _, c := range []struct {
		answers []gluetypes.Crawler
		ok      bool
	}{
		{[]gluetypes.Crawler{crawler(gluetypes.CrawlerStateRunning, ""), crawler(gluetypes.CrawlerStateReady, gluetypes.LastCrawlStatusFailed)}, false},
		{[]gluetypes.Crawler{crawler(gluetypes.CrawlerStateReady, gluetypes.LastCrawlStatusCancelled)}, false},
		{[]gluetypes.Crawler{crawler(gluetypes.CrawlerStateReady, ""), crawler(gluetypes.CrawlerStateReady, gluetypes.LastCrawlStatusSucceeded)}, true},
	} {
		f := &fakeGlue{answers: c.answers}
		r, _ := newRunner(t, &RunnerOptions{Glue: &Glue{c: f, wait: &WaitOptions{MinDelay: time.Millisecond, MaxWait: 5 * time.Second}}})
		run, err := r.Run(context.Background(), New("crawl", CrawlerStep("discover", "raw-crawler")), nil)
		if c.ok != (err == nil) || !c.ok && !errors.Is(err, ErrExecutionFailed) {
			t.Errorf("answers %v: err %v", c.answers, err)
		}
		if c.ok && (f.polls != 2 || !strings.Contains(string(run.Steps["discover"].Output), `"LastCrawlStatus":"SUCCEEDED"`)) {
			t.Errorf("polls %d, output %s", f.polls, run.Steps["discover"].Output)
		}
	}
}

// simAnswer answers every service integration the compiler uses, with
// Go tasks failing (Lakekit.StepFailed) when fail is set.
func simAnswer(fail bool) func(state, resource string, params any) (any, string) {
	n := 0
	return func(state, resource string, params any) (any, string) {
		n++
		switch resource {
		case ResourceECSSync, ResourceECSToken, ResourceLambda:
			if fail {
				return nil, ErrorStepFailed
			}
			out := map[string]any{"ok": true, "partitions": []any{"a", "b"}}
			switch resource {
			case ResourceECSSync:
				return ecsTaskDescription(params.(map[string]any), n), ""
			case ResourceLambda:
				return map[string]any{"Payload": out, "StatusCode": 200}, ""
			}
			return out, ""
		case ResourceAthenaSync:
			return map[string]any{"QueryExecution": map[string]any{"QueryExecutionId": "q1", "Status": map[string]any{"State": "SUCCEEDED"}}}, ""
		case ResourceGlueJobSync:
			return map[string]any{"Id": "jr_1", "JobRunState": "SUCCEEDED"}, ""
		case ResourceStartCrawler:
			return map[string]any{}, ""
		case ResourceGetCrawler:
			return getCrawler("READY", "SUCCEEDED"), ""
		}
		return nil, "sim.UnknownResource"
	}
}

// Every compiled test pipeline, for Lambda, ECS .sync and ECS task tokens,
// runs through the simulator without a States.Runtime error — no path in
// Parameters, ItemSelector or ResultSelector points at a result that is
// not there — both when every task succeeds and when every Go task fails
// (catch handlers then get their input).
func TestCompileModelSimulatedRuns(t *testing.T) {
	cases := aslCases()
	// A handler of two steps, a dependency on a Wait, a Map with an extra
	// dependency, a crawler feeding a Go step.
	cases = append(cases, struct {
		name string
		p    *Pipeline
		opts *CompileOptions
		want []string
	}{name: "shapes", p: New("shapes", GoStep("a", nop).Catch("h"), GoStep("b", nop).Catch("h"), GoStep("h", nop),
		WaitStep("w", time.Second).After("a"), GoStep("c", nop).After("w", "b"),
		PassStep("list", []int{1, 2, 3}), MapStep("m", "list", "", nop).After("c"),
		CrawlerStep("crawl", "raw-crawler"), GoStep("d", nop).After("crawl", "m"))})
	for _, c := range cases {
		for oname, opts := range map[string]*CompileOptions{"lambda": lambdaOpts, "ecs": ecsOpts, "ecs-token": ecsTokenOpts} {
			def, err := Compile(c.p, opts)
			if err != nil {
				t.Fatalf("%s/%s: %v", c.name, oname, err)
			}
			for _, fail := range []bool{false, true} {
				m := &sim{task: simAnswer(fail)}
				_, err := m.run(def, map[string]any{"day": "2024-05-01"})
				var se *simError
				// A Map over a list that is not there (the test pipelines map
				// over outputs a runTask.sync step does not return) is the
				// pipeline's doing, not the compiler's.
				if errors.As(err, &se) && (se.name == ErrorRuntime && se.field != "ItemsPath" || strings.HasPrefix(se.name, "sim.")) {
					t.Errorf("%s/%s (Go tasks fail: %v): %v after %v", c.name, oname, fail, err, m.entered)
				}
			}
		}
	}
}
