package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/lakekit/lakekit/examples/internal/extest"
	"github.com/lakekit/lakekit/examples/internal/extest/duck"
	"github.com/lakekit/lakekit/internal/testaws"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/orchestrate"
	"github.com/lakekit/lakekit/zones/raw"
)

func TestMain(m *testing.M) {
	extest.MaybeRunMain(main)
	os.Exit(m.Run())
}

func runSFN(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := run(context.Background(), args, &out, &out)
	return out.String(), err
}

// TestEmit compiles the quickstart pipeline for ECS and for Lambda; both
// definitions pass asl-validator and statelint, and map each step to the
// service integration it needs.
func TestEmit(t *testing.T) {
	for _, target := range []string{"ecs", "lambda"} {
		t.Run(target, func(t *testing.T) {
			f := filepath.Join(t.TempDir(), "quickstart.asl.json")
			if out, err := runSFN(t, "-target", target, "-emit", f, "-athena-output", "s3://results/athena/"); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			def, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			extest.LintASL(t, def)
			var asl struct {
				StartAt string
				States  map[string]map[string]any
			}
			if err := json.Unmarshal(def, &asl); err != nil {
				t.Fatal(err)
			}
			want := map[string]string{"clean": orchestrate.ResourceECSSync, "page_views": orchestrate.ResourceECSSync,
				"daily_pages": orchestrate.ResourceECSSync, "top_pages": orchestrate.ResourceAthenaSync}
			if target == "lambda" {
				for _, s := range []string{"clean", "page_views", "daily_pages"} {
					want[s] = orchestrate.ResourceLambda
				}
			}
			for name, res := range want {
				st := asl.States[name]
				if st == nil || st["Type"] != "Task" || st["Resource"] != res {
					t.Errorf("state %s: %v, want a Task on %s", name, st, res)
				}
			}
			params, _ := asl.States["top_pages"]["Parameters"].(map[string]any)
			if params["QueryString"] != TopPagesSQL {
				t.Errorf("top_pages runs %v, want the pipeline's SQL", params["QueryString"])
			}
			// the same pipeline always compiles to the same bytes
			out, err := runSFN(t, "-target", target, "-athena-output", "s3://results/athena/")
			if err != nil {
				t.Fatal(err)
			}
			if strings.TrimSpace(out) != strings.TrimSpace(string(def)) {
				t.Error("a second compilation differs from the first")
			}
		})
	}
}

// clickEvents returns n click events as browsers send them (JSON lines)
// over the quickstart's seven days. Every 40th is broken in one of three
// ways the clean step rejects (a negative duration, a page the site does
// not have, not JSON); bad counts them.
func clickEvents(n int) (lines [][]byte, bad int64) {
	start := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		c := RawClick{EventID: fmt.Sprintf("e%d", i), TS: start.Add(time.Duration(i) * 7 * 24 * time.Hour / time.Duration(n)),
			UserID: fmt.Sprintf("u%d", i%500), SessionID: fmt.Sprintf("s%d", i%500), Page: Pages[i%len(Pages)],
			Country: "de", Device: Devices[i%len(Devices)], DurationMS: int64(500 + i%4000)}
		switch i % 120 {
		case 7:
			c.DurationMS = -1
		case 47:
			c.Page = "/wp-admin.php"
		}
		b, _ := json.Marshal(c)
		if i%120 == 87 {
			b = b[:len(b)/2]
		}
		if i%40 == 7 {
			bad++
		}
		lines = append(lines, append(b, '\n'))
	}
	return lines, bad
}

// TestWorker runs the Go steps as the ECS tasks would: this binary started
// with -lakekit-pipeline/-lakekit-step and the state machine's state in
// LAKEKIT_STATE, one process per step, on a lake with landed events.
func TestWorker(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	lk, err := lake.Open(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer lk.Close()
	buf, err := raw.NewBuffer(lk, Source, Dataset, &raw.BufferOptions{FlushRecords: 1000})
	if err != nil {
		t.Fatal(err)
	}
	const rows = 3000
	events, bad := clickEvents(rows)
	good := rows - bad
	for _, e := range events {
		if err := buf.Add(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	if err := buf.Close(ctx); err != nil {
		t.Fatal(err)
	}
	state := `{"params":{"lake":"` + dir + `","catalog":"local"},"steps":{}}`
	outputs := map[string]StepResult{}
	for _, step := range []string{"clean", "page_views", "daily_pages"} {
		r := extest.Run(t, time.Minute, []string{"-lakekit-pipeline", "quickstart", "-lakekit-step", step},
			orchestrate.EnvState+"="+state)
		if r.Code != 0 {
			t.Fatalf("step %s: exit %d: %s", step, r.Code, r.Stderr)
		}
		lines := strings.Split(strings.TrimSpace(r.Stdout), "\n")
		var out StepResult
		if err := json.Unmarshal([]byte(lines[len(lines)-1]), &out); err != nil {
			t.Fatalf("step %s output %q: %v", step, r.Stdout, err)
		}
		outputs[step] = out
	}
	c, pv, dp := outputs["clean"], outputs["page_views"], outputs["daily_pages"]
	if c.RowsIn != rows || c.RowsOut != good || c.Rejected != bad || pv.RowsOut != good || dp.RowsOut == 0 {
		t.Fatalf("outputs %+v; generated %d good, %d bad", outputs, good, bad)
	}
	db := duck.Open(t)
	var n, views int64
	duck.Scan(t, db, "SELECT count(*) FROM "+duck.ParquetGlob(filepath.Join(dir, "curated", "web", "page_views")), &n)
	duck.Scan(t, db, "SELECT sum(views) FROM "+duck.ParquetGlob(filepath.Join(dir, "curated", "web", "daily_pages")), &views)
	if n != good || views != good {
		t.Fatalf("DuckDB: %d page views, %d in the daily table; want %d", n, views, good)
	}
	// a step the pipeline does not have is refused in one line
	r := extest.Run(t, time.Minute, []string{"-lakekit-pipeline", "quickstart", "-lakekit-step", "nope"}, orchestrate.EnvState+"="+state)
	extest.WantOneLineError(t, r, "stepfunctions", "nope")
}

// TestDeployMoto deploys to Step Functions on moto_server: the state
// machine holds the compiled definition, the execution the lake as input.
// moto cannot run ECS tasks, so an executed run fails at the first Go step,
// which the program reports step by step and in one error line.
func TestDeployMoto(t *testing.T) {
	m := testaws.StartMoto(t)
	t.Setenv("AWS_ENDPOINT_URL", m.Endpoint)
	t.Setenv("AWS_ACCESS_KEY_ID", "testing")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "testing")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_REGION", testaws.Region)
	t.Setenv("AWS_PROFILE", "")
	const role = "arn:aws:iam::123456789012:role/lakekit-sfn"
	args := []string{"-deploy", "-role", role, "-lake", "s3://bucket/lake", "-subnets", "subnet-1,subnet-2", "-run-id", "run-1", "-wait", "0"}
	out, err := runSFN(t, args...)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	want, err := orchestrate.Compile(pipeline(), &orchestrate.CompileOptions{AthenaDatabase: "web", AthenaWorkGroup: "primary",
		ECS: &orchestrate.ECSOptions{Cluster: "lakekit", TaskDefinition: "lakekit-quickstart", ContainerName: "worker", Subnets: []string{"subnet-1", "subnet-2"}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c := sfn.NewFromConfig(m.Config(t))
	arn := "arn:aws:states:us-east-1:123456789012:stateMachine:quickstart"
	sm, err := c.DescribeStateMachine(ctx, &sfn.DescribeStateMachineInput{StateMachineArn: aws.String(arn)})
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if aws.ToString(sm.Definition) != string(want) || aws.ToString(sm.RoleArn) != role {
		t.Fatalf("state machine: role %s, definition\n%s\nwant\n%s", aws.ToString(sm.RoleArn), aws.ToString(sm.Definition), want)
	}
	ex, err := c.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String("arn:aws:states:us-east-1:123456789012:execution:quickstart:run-1")})
	if err != nil {
		t.Fatal(err)
	}
	var in Params
	if err := json.Unmarshal([]byte(aws.ToString(ex.Input)), &in); err != nil || in.Lake != "s3://bucket/lake" || in.Catalog != "glue" {
		t.Fatalf("execution input %s (%v)", aws.ToString(ex.Input), err)
	}
	// deploying again updates the same state machine; the same run id and
	// input start no second execution
	if out, err := runSFN(t, args...); err != nil || !strings.Contains(out, arn) {
		t.Fatalf("second deploy: %v\n%s", err, out)
	}
	list, err := c.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: aws.String(arn)})
	if err != nil || len(list.Executions) != 1 {
		t.Fatalf("executions: %v %v", list, err)
	}

	// an executed run: moto stops at the ECS task
	m.Reset(t)
	m.SetConfig(t, `{"stepfunctions": {"execute_state_machine": true}}`)
	r := extest.Run(t, 2*time.Minute, []string{"-deploy", "-role", role, "-lake", "s3://bucket/lake", "-run-id", "run-2", "-wait", "1m"},
		"AWS_ENDPOINT_URL="+m.Endpoint)
	extest.WantOneLineError(t, r, "stepfunctions", "execution failed", "clean")
	for _, line := range []string{"clean        failed", "page_views   skipped", "top_pages    skipped"} {
		if !strings.Contains(r.Stdout, line) {
			t.Errorf("stdout does not say %q:\n%s", line, r.Stdout)
		}
	}
}

func TestErrors(t *testing.T) {
	for _, c := range []struct {
		name  string
		args  []string
		wants []string
	}{
		{"wrong flag", []string{"-emitt", "x"}, []string{"-emitt"}},
		{"bad target", []string{"-target", "batch"}, []string{"-target"}},
		{"deploy without role", []string{"-deploy", "-lake", "s3://b/l"}, []string{"-role"}},
		{"unwritable emit", []string{"-emit", filepath.Join(t.TempDir(), "missing", "x.json")}, []string{"writing the definition"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			extest.WantOneLineError(t, extest.Run(t, time.Minute, c.args), "stepfunctions", c.wants...)
		})
	}
}
