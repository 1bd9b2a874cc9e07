package orchestrate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
)

const workerEnv = "ORCHESTRATE_TEST_WORKER"

// workerPipeline is what the re-executed test binary serves.
func workerPipeline() *Pipeline {
	return New("sales",
		GoStep("extract", Typed(func(ctx context.Context, in struct{ Day string }) (map[string]any, error) {
			return map[string]any{"day": in.Day, "partitions": []string{"day=" + in.Day + "/h=00", "day=" + in.Day + "/h=01"}}, nil
		})),
		GoStep("summarise", func(ctx context.Context, in Input) (Output, error) {
			var ex struct{ Partitions []string }
			if err := json.Unmarshal(in.Deps["extract"], &ex); err != nil {
				return nil, err
			}
			return json.Marshal(map[string]any{"partitions": len(ex.Partitions), "params": in.Params})
		}).After("extract").Catch("alert"),
		MapStep("per-partition", "extract", "partitions", func(ctx context.Context, in Input) (Output, error) {
			var part string
			if err := in.Value(&part); err != nil {
				return nil, err
			}
			return json.Marshal(map[string]any{"partition": part, "index": in.Index})
		}),
		GoStep("alert", func(ctx context.Context, in Input) (Output, error) {
			if in.Error == nil {
				return nil, errors.New("alert without an error")
			}
			return json.Marshal("alerted: " + in.Error.Step + " " + in.Error.Name)
		}),
	)
}

// TestMain lets the test binary act as a worker: with ORCHESTRATE_TEST_WORKER
// set to "ecs" it runs Worker.Run on its arguments and environment, with
// "lambda" it reads an event on stdin and answers with HandleLambda.
func TestMain(m *testing.M) {
	switch os.Getenv(workerEnv) {
	case "ecs":
		w := NewWorker(workerPipeline())
		if err := w.Run(context.Background(), os.Args[1:], os.Environ()); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		os.Exit(0)
	case "lambda":
		w := NewWorker(workerPipeline())
		ev, _ := io.ReadAll(os.Stdin)
		out, err := w.HandleLambda(context.Background(), ev)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		os.Stdout.Write(out)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func runWorker(t *testing.T, mode string, args []string, env []string, stdin string) (string, string, error) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(append(os.Environ(), workerEnv+"="+mode), env...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return out.String(), errb.String(), err
}

func TestWorkerECS(t *testing.T) {
	state := `{"params":{"day":"2024-05-01"},"steps":{"extract":{"output":{"day":"2024-05-01","partitions":["a","b","c"]}}}}`
	out, stderr, err := runWorker(t, "ecs", []string{"-lakekit-pipeline", "sales", "-lakekit-step", "summarise"},
		[]string{EnvState + "=" + state}, "")
	if err != nil {
		t.Fatalf("worker: %v\n%s", err, stderr)
	}
	var got struct {
		Partitions int
		Params     map[string]string
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil || got.Partitions != 3 || got.Params["day"] != "2024-05-01" {
		t.Fatalf("output %q: %+v %v", out, got, err)
	}
	// Step and pipeline from the environment; the first step reads the params.
	out, stderr, err = runWorker(t, "ecs", nil, []string{EnvPipeline + "=sales", EnvStep + "=extract",
		EnvState + `={"params":{"Day":"2024-06-30"},"steps":{}}`}, "")
	if err != nil || !strings.Contains(out, `"day=2024-06-30/h=01"`) {
		t.Fatalf("env invocation: %v %q %s", err, out, stderr)
	}
	// A catch handler sees the error a Catch stored in the state.
	out, _, err = runWorker(t, "ecs", []string{"-lakekit-pipeline=sales", "-lakekit-step=alert"},
		[]string{EnvState + `={"params":{},"steps":{"extract":{"output":{}},"summarise":{"Error":"States.TaskFailed","Cause":"boom"}}}`}, "")
	if err != nil || strings.TrimSpace(out) != `"alerted: summarise States.TaskFailed"` {
		t.Fatalf("handler: %v %q", err, out)
	}
}

func TestWorkerLambda(t *testing.T) {
	ev := `{"pipeline":"sales","step":"per-partition","state":{"item":"day=2024-05-01/h=07","index":7,"params":{},"steps":{}}}`
	out, stderr, err := runWorker(t, "lambda", nil, nil, ev)
	if err != nil {
		t.Fatalf("worker: %v\n%s", err, stderr)
	}
	if out != `{"index":7,"partition":"day=2024-05-01/h=07"}` {
		t.Fatalf("output %q", out)
	}
}

func TestWorkerBadInput(t *testing.T) {
	cases := []struct {
		mode  string
		args  []string
		env   []string
		stdin string
		want  []string
	}{
		{"ecs", []string{"-lakekit-pipeline", "sales", "-lakekit-step", "nope"}, nil, "", []string{`"nope"`, "no step"}},
		{"ecs", []string{"-lakekit-pipeline", "sales", "-lakekit-step", "summarise"}, []string{EnvState + "={not json"}, "", []string{`"summarise"`, "not a JSON object"}},
		{"ecs", []string{"-lakekit-pipeline", "sales", "-lakekit-step", "summarise"}, []string{EnvState + `={"steps":{"extract":{"output":7}}}`}, "", []string{`"summarise"`}},
		{"ecs", []string{"-lakekit-pipeline", "other", "-lakekit-step", "x"}, nil, "", []string{`"other"`, "no such pipeline"}},
		{"lambda", nil, nil, `{"pipeline":"sales","step":"per-partition","state":{"params":{}}}`, []string{`"per-partition"`, "no item"}},
		{"lambda", nil, nil, `[1,2]`, []string{"lambda event"}},
	}
	for i, c := range cases {
		_, stderr, err := runWorker(t, c.mode, c.args, c.env, c.stdin)
		if err == nil {
			t.Errorf("%d: bad input accepted", i)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(stderr, w) {
				t.Errorf("%d: error %q does not mention %s", i, stderr, w)
			}
		}
	}
}

// The worker reads the state exactly as a compiled Lambda task passes it.
func TestWorkerMatchesCompiledState(t *testing.T) {
	w := NewWorker(workerPipeline())
	def, err := Compile(workerPipeline(), lambdaOpts)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		States map[string]struct {
			ResultSelector map[string]string
			ResultPath     string
		}
	}
	json.Unmarshal(def, &d)
	if d.States["extract"].ResultSelector["output.$"] != "$.Payload" || d.States["extract"].ResultPath != "$.steps.extract" {
		t.Fatalf("compiled extract state %+v", d.States["extract"])
	}
	// Build the state the way the state machine would, from the Lambda's output.
	ex, err := w.Invoke(context.Background(), "sales", "extract", json.RawMessage(`{"params":{"Day":"d1"},"steps":{}}`))
	if err != nil {
		t.Fatal(err)
	}
	state, _ := json.Marshal(map[string]any{"params": map[string]string{"Day": "d1"}, "steps": map[string]any{"extract": map[string]json.RawMessage{"output": ex}}})
	out, err := w.Invoke(context.Background(), "sales", "summarise", state)
	if err != nil || !strings.Contains(string(out), `"partitions":2`) {
		t.Fatalf("%s %v", out, err)
	}
	if IsInvocation([]string{"serve"}, []string{"HOME=/"}) || !IsInvocation([]string{"-lakekit-step", "x"}, nil) || !IsInvocation(nil, []string{EnvStep + "=x"}) {
		t.Fatal("IsInvocation")
	}
}

type tokenRecorder struct {
	token, output, errName, cause string
}

func (r *tokenRecorder) SendTaskSuccess(ctx context.Context, token string, output json.RawMessage) error {
	r.token, r.output = token, string(output)
	return nil
}

func (r *tokenRecorder) SendTaskFailure(ctx context.Context, token, errorName, cause string) error {
	r.token, r.errName, r.cause = token, errorName, cause
	return nil
}

// With .waitForTaskToken the worker reports the result to Step Functions.
func TestWorkerTaskToken(t *testing.T) {
	rec := &tokenRecorder{}
	var stdout bytes.Buffer
	p := New("tok", GoStep("ok", func(ctx context.Context, in Input) (Output, error) { return Output(`{"n":1}`), nil }),
		GoStep("bad", func(ctx context.Context, in Input) (Output, error) {
			return nil, NewError("BadData", errors.New("row 3"))
		}))
	w := NewWorker(p)
	w.Tokens, w.Stdout = rec, &stdout
	env := []string{EnvPipeline + "=tok", EnvStep + "=ok", EnvTaskToken + "=tt-1", EnvState + `={"params":{}}`}
	if err := w.Run(context.Background(), nil, env); err != nil {
		t.Fatal(err)
	}
	if rec.token != "tt-1" || rec.output != `{"n":1}` || strings.TrimSpace(stdout.String()) != `{"n":1}` {
		t.Fatalf("recorded %+v, stdout %q", rec, stdout.String())
	}
	env[1] = EnvStep + "=bad"
	if err := w.Run(context.Background(), nil, env); err == nil {
		t.Fatal("failing step reported success")
	}
	if rec.errName != "BadData" || !strings.Contains(rec.cause, "row 3") || !strings.Contains(rec.cause, `"bad"`) {
		t.Fatalf("failure sent as %+v", rec)
	}
	w.Tokens = nil
	if err := w.Run(context.Background(), nil, env); !errors.Is(err, ErrNotConfigured) {
		t.Fatalf("token without a sender: %v", err)
	}
}
