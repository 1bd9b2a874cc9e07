// Command stepfunctions takes the quickstart pipeline to AWS Step Functions.
// It compiles the pipeline to Amazon States Language — the Go steps become
// ECS RunTask (Fargate) or Lambda tasks that run this same binary as a
// worker, the SQL step an Athena query — writes the definition, and with
// -deploy creates or updates the state machine, starts an execution and
// waits for it, printing each step's state.
//
//	go run ./examples/stepfunctions -emit quickstart.asl.json
//	go run ./examples/stepfunctions -deploy -role arn:aws:iam::123456789012:role/lakekit-sfn \
//	    -cluster lakekit -task-definition lakekit-quickstart -subnets subnet-0abc \
//	    -lake s3://my-bucket/lake -athena-output s3://my-bucket/athena-results/
//
// The container image of the task definition runs this binary: started by a
// task with -lakekit-pipeline and -lakekit-step (or LAKEKIT_STEP), it runs
// that one step on the lake named in the execution input and exits; the
// execution input is {"lake": "s3://...", "catalog": "glue"}.
// AWS_ENDPOINT_URL points the SDK at moto_server for a rehearsal.
//
// With -backfill it does the same for the page_views transform as a
// backfill — plan → Distributed Map of workers → one commit — or, without
// -emit and -deploy, runs that backfill here on -lake (backfill.go).
//
// pipeline.go is the quickstart's pipeline (the same file as in
// examples/quickstart); cli.go is the command-line plumbing.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/lakekit/lakekit/catalog"
	"github.com/lakekit/lakekit/lake"
	_ "github.com/lakekit/lakekit/lake/s3store" // s3:// lakes
	"github.com/lakekit/lakekit/orchestrate"
)

func main() { mainWith("stepfunctions", run) }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if orchestrate.IsInvocation(args, os.Environ()) {
		return work(ctx, args, stdout)
	}
	fs := flag.NewFlagSet("stepfunctions", flag.ContinueOnError)
	emit := fs.String("emit", "", "write the Amazon States Language definition to FILE (- for stdout; default stdout unless -deploy)")
	target := fs.String("target", "ecs", "where Go steps run: ecs (Fargate tasks) or lambda")
	cluster := fs.String("cluster", "lakekit", "ECS cluster")
	taskDef := fs.String("task-definition", "lakekit-quickstart", "ECS task definition (family[:revision] or ARN) whose container runs this binary")
	container := fs.String("container", "worker", "the container of the task definition that runs this binary")
	subnets := fs.String("subnets", "", "comma-separated subnets of the Fargate tasks")
	groups := fs.String("security-groups", "", "comma-separated security groups of the Fargate tasks")
	publicIP := fs.Bool("public-ip", false, "give Fargate tasks a public IP (subnets without a NAT gateway)")
	function := fs.String("lambda", "lakekit-quickstart", "Lambda function (name or ARN) whose handler is the worker, with -target lambda")
	workGroup := fs.String("athena-workgroup", "primary", "Athena workgroup of the SQL step")
	athenaOut := fs.String("athena-output", "", "s3:// location for Athena's results (default: the workgroup's)")
	deploy := fs.Bool("deploy", false, "create or update the state machine, start an execution and wait for it")
	role := fs.String("role", "", "IAM role the state machine runs as (required with -deploy)")
	lakeURL := fs.String("lake", "", "the lake the execution works on (execution input; required with -deploy)")
	catKind := fs.String("catalog", "glue", "the catalog the execution's steps use: glue or local")
	runID := fs.String("run-id", "", "execution name (default: quickstart-<UTC time>); starting the same name with the same input again is a no-op")
	wait := fs.Duration("wait", 30*time.Minute, "how long to wait for the execution (0: do not wait)")
	var bf backfillOptions
	doBackfill := fs.Bool("backfill", false, "the page_views transform as a backfill: plan → Distributed Map of workers → one commit; without -emit or -deploy, run it here on -lake")
	fs.StringVar(&bf.results, "results", "", "s3:// prefix the backfill's Distributed Map writes its results under (default <lake>/_lakekit/map-runs/)")
	fs.IntVar(&bf.batch, "batch", 20, "backfill: units (cleaned partitions) per worker batch")
	fs.IntVar(&bf.parallel, "workers", 8, "backfill: worker batches at once (the Map's MaxConcurrency)")
	if help, err := parseFlags(fs, args, stdout); help || err != nil {
		return err
	}
	copts := &orchestrate.CompileOptions{AthenaDatabase: Database, AthenaWorkGroup: *workGroup, AthenaOutputLocation: *athenaOut}
	switch *target {
	case "ecs":
		copts.ECS = &orchestrate.ECSOptions{Cluster: *cluster, TaskDefinition: *taskDef, ContainerName: *container,
			Subnets: list(*subnets), SecurityGroups: list(*groups), AssignPublicIP: *publicIP}
	case "lambda":
		copts.Lambda = &orchestrate.LambdaOptions{FunctionName: *function}
	default:
		return usagef("-target %q: want ecs or lambda", *target)
	}
	if *catKind != "glue" && *catKind != "local" {
		return usagef("-catalog %q: want glue or local", *catKind)
	}
	if *deploy && (*role == "" || *lakeURL == "") {
		return usagef("-deploy needs -role (the state machine's IAM role) and -lake (the lake the steps work on)")
	}

	p := pipeline()
	if bf.lake = *lakeURL; *doBackfill && *emit == "" && !*deploy {
		return runBackfill(ctx, bf, *catKind, stdout)
	} else if *doBackfill {
		var err error
		if p, err = backfill(bf, false); err != nil {
			return err
		}
	}
	def, err := orchestrate.Compile(p, copts)
	if err != nil {
		return err
	}
	switch {
	case *emit == "-" || (*emit == "" && !*deploy):
		stdout.Write(def)
		fmt.Fprintln(stdout)
	case *emit != "":
		if err := os.WriteFile(*emit, append(def, '\n'), 0o644); err != nil {
			return fmt.Errorf("writing the definition: %w", err)
		}
		fmt.Fprintf(stdout, "definition %s (%d bytes, %d steps)\n", *emit, len(def), len(p.Steps()))
	}
	if !*deploy {
		return nil
	}

	cfg, err := awsConfig(ctx)
	if err != nil {
		return err
	}
	sfn, err := orchestrate.NewSFN(cfg, nil)
	if err != nil {
		return err
	}
	arn, err := sfn.Deploy(ctx, p, *role, copts)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "deployed   %s\n", arn)
	if *runID == "" {
		*runID = "quickstart-" + time.Now().UTC().Format("20060102T150405Z")
	}
	exec, err := sfn.Start(ctx, arn, *runID, Params{Lake: *lakeURL, Catalog: *catKind})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "started    %s\n", exec)
	if *wait <= 0 {
		return nil
	}
	e, werr := sfn.Wait(ctx, exec, &orchestrate.WaitOptions{MinDelay: time.Second, MaxDelay: 15 * time.Second, MaxWait: *wait})
	r, herr := sfn.History(ctx, p, exec, copts)
	if herr == nil {
		for _, s := range p.Steps() {
			st := r.Steps[s.Name]
			line := fmt.Sprintf("step       %-12s %s", s.Name, st.State)
			if st.Error != nil {
				line += ": " + oneLine(fmt.Errorf("%s %s", st.Error.Name, st.Error.Cause))
			}
			fmt.Fprintln(stdout, line)
		}
	}
	if werr != nil {
		return werr
	}
	if herr != nil {
		return herr
	}
	fmt.Fprintf(stdout, "execution  %s %s in %s\n", *runID, e.Status, fmtSeconds(e.Stop.Sub(e.Start)))
	out, _ := json.Marshal(map[string]any{"state_machine": arn, "execution": exec, "status": e.Status})
	fmt.Fprintln(stdout, string(out))
	return nil
}

// pipeline is the quickstart pipeline whose Go steps open the lake the run
// parameters name (the worker's view; locally the quickstart passes its own).
func pipeline() *orchestrate.Pipeline { return Pipeline(opener(), nil) }

// opener opens the environment a run's parameters name, once per
// parameters.
func opener() Opener {
	var mu sync.Mutex
	envs := map[Params]*Env{}
	return func(ctx context.Context, p Params) (*Env, error) {
		mu.Lock()
		defer mu.Unlock()
		if e, ok := envs[p]; ok {
			return e, nil
		}
		if p.Lake == "" {
			return nil, fmt.Errorf("the execution input names no lake: want {\"lake\": \"s3://...\", \"catalog\": \"glue\"}")
		}
		lk, err := lake.Open(ctx, p.Lake, nil)
		if err != nil {
			return nil, err
		}
		var cat catalog.Catalog
		if p.Catalog == "" {
			p.Catalog = "glue"
		}
		if cat, err = openCatalog(ctx, p.Catalog, lk); err != nil {
			return nil, err
		}
		e, err := NewEnv(lk, cat, &EnvOptions{Caller: "examples/stepfunctions worker"})
		if err != nil {
			return nil, err
		}
		envs[p] = e
		return e, nil
	}
}

// work runs one step, as an ECS task started by the state machine does.
func work(ctx context.Context, args []string, stdout io.Writer) error {
	bp, err := backfill(backfillOptions{}, true)
	if err != nil {
		return err
	}
	w := orchestrate.NewWorker(pipeline(), bp)
	w.Stdout = stdout
	if v := os.Getenv(orchestrate.EnvTaskToken); v != "" {
		cfg, err := awsConfig(ctx)
		if err != nil {
			return err
		}
		if w.Tokens, err = orchestrate.NewSFN(cfg, nil); err != nil {
			return err
		}
	}
	return w.Run(ctx, args, os.Environ())
}

func list(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}
