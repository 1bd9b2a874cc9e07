// Package orchestrate runs data-lake pipelines: DAGs of named steps with
// retries, catch handlers and timeouts, run in-process by a Runner or
// compiled to an AWS Step Functions state machine whose Go steps run the
// same binary as Fargate tasks or Lambda functions.
//
// # Pipelines
//
// A Pipeline is a set of steps and their dependencies. Step kinds:
//
//   - GoStep: a Func(ctx, Input) (Output, error) with JSON input and output
//     (Typed adapts a typed function). Transforms plug in as Go steps.
//   - SQLStep: a statement run by a SQLRunner locally (any query engine)
//     and by Athena on AWS.
//   - GlueJobStep, CrawlerStep: an AWS Glue job run or crawl, waited for.
//   - WaitStep, PassStep: a pause; a fixed value.
//   - ChoiceStep: rules over an earlier step's output pick the next step;
//     the targets not chosen, and what depends on them, are skipped.
//   - MapStep: a Go function over each item of a JSON array that an
//     earlier step produced, at most MaxConcurrency at once.
//   - ParallelStep: branches, each a Pipeline, run at the same time.
//
// Each step may have RetryPolicy values (error matchers, interval,
// backoff rate, max attempts, max delay, jitter), CatchHandler values (the
// named step runs with the error in Input.Error; the failed step's
// dependents are skipped) and a timeout per attempt. Error names follow
// the Amazon States Language: States.ALL, States.TaskFailed (anything but
// a timeout), States.Timeout, or a custom name carried by NewError. As on
// AWS, States.Runtime (a choice rule over a missing field) is never
// retried or caught: it fails the run.
//
// Validate refuses cycles, unknown dependencies, duplicate names, names
// Step Functions refuses (more than 80 characters, whitespace, brackets,
// wildcards, " # % \ ^ | ~ $ & , ; : / and control characters), a Map
// without an items source, States.ALL listed with other error names or in
// a retry policy or catch that is not the step's last (Step Functions
// refuses both), and steps that can never run (needing two
// branches of one choice, or a step's success and its catch handler). Each
// error names the step and wraps ErrInvalidPipeline.
//
// # Running locally
//
// Runner.Run runs a pipeline with bounded parallelism (errgroup), honours
// retries, catches, timeouts and context cancellation, and records the run
// (id, step states, attempts, timings, errors, outputs) as JSON in the
// lake after every step, as the next version of the run's internal/objlog
// log under _lakekit/runs/<pipeline>/<run id>/ (create-only: two processes
// resuming one run cannot overwrite each other).
// After an uncaught failure no new step starts; Runner.Resume runs the
// steps that did not succeed again, feeding them the recorded outputs of
// the ones that did.
//
// # Running on AWS
//
// Compile turns a pipeline into an Amazon States Language definition,
// byte-identical for the same pipeline; see Compile for the mapping (a DAG
// becomes a topological chain with guard states where steps may be
// skipped). SFN deploys it (Create/UpdateStateMachine), starts named
// executions idempotently, waits for them, and maps their history back to
// step states (a Run, which the pictures can draw). A Worker serves the Go
// steps: Worker.Run for ECS tasks (pass os.Args[1:] and os.Environ()),
// Worker.HandleLambda for lambda.Start; IsInvocation tells a main function
// which role it was started in. Glue starts and waits for job runs and
// crawls. ScheduleRule and S3EventRule render EventBridge rules that start
// a pipeline on a schedule or when objects land in S3.
//
// Data between steps: locally a step's Input.Deps hold its dependencies'
// outputs (a Map iteration gets its item instead of the items source's
// output, unless that source is also an explicit dependency). On AWS the
// state is {"params": ..., "steps": {<Key(name)>: result}}, and each Go
// task is passed only the params and its dependencies' results; a Lambda
// step's result is {"output": <its output>}, which the worker unwraps, so
// the same Go code sees the same Input. A runTask.sync ECS step's result
// is {"TaskArn": <the task's ARN>} (the output is only logged): set
// ECSOptions.WaitForTaskToken to return outputs through SendTaskSuccess
// instead. Keep outputs small: RunTask allows 8,192 characters of
// overrides, the state included, and Step Functions 256 KiB of state. A Parallel step's output is one object per
// branch mapping step keys to outputs (on AWS each branch object also
// holds the results of the steps before the Parallel).
//
// Error names on AWS: Step Functions sees a Go step's custom error name
// (NewError) when the worker reports it with SendTaskFailure (ECS with
// WaitForTaskToken); an error without a name, or with a name Step
// Functions reserves (beginning with "States."), is reported as
// Lakekit.StepFailed (ErrorStepFailed), the name the local runner gives
// it too. A Lambda function's error is named by the Lambda runtime after
// the error's Go type, and a runTask.sync task's failure is
// States.TaskFailed, so Retry and Catch policies with custom names match
// only locally and on the task-token path; States.ALL, States.TaskFailed
// and States.Timeout match everywhere. Lambda tasks also retry the Lambda
// service's transient errors (LambdaServiceErrors) before the step's own
// policies, as the Step Functions best practices recommend.
//
// # IAM policies
//
// Steps declare the lake data they touch: Reads and Writes take lake
// locations ("s3://bucket/prefix/", as lake.Store.Location returns them)
// and Glue tables ("glue://database/table", "glue://database/*"), KMS the
// keys the data is encrypted with (iam.Read to decrypt, iam.ReadWrite to
// encrypt too). Steps in Map and Parallel branches declare the same way.
//
//	orchestrate.GoStep("clean", clean).
//		Reads(raw.Location("web/")).
//		Writes(cleaned.Location("web/"), "glue://web/clicks").
//		KMS(iam.ReadWrite, lakeKey)
//
// Two least-privilege policies (lake/iam documents, with concrete ARNs
// and no "*" resource) follow from a pipeline and its CompileOptions:
//
//   - StateMachinePolicy, for the role the state machine runs as, is
//     derived from the compiled definition, Task state by Task state:
//     lambda:InvokeFunction on the worker function; for ECS, ecs:RunTask on
//     the task definition, iam:PassRole (to ECS only) on the task's roles
//     (PolicyOptions) and, for runTask.sync, ecs:DescribeTasks/StopTask on
//     the cluster's tasks and the EventBridge rule Step Functions manages;
//     for SQL steps, Athena query actions on the workgroup, the results
//     location, Glue read access to the query's database and the data the
//     step declares (Athena reads and writes with the caller's
//     credentials); glue:StartJobRun, GetJobRun(s) and BatchStopJobRun on
//     Glue jobs; glue:StartCrawler and GetCrawler on crawlers. The actions
//     are those the Step Functions developer guide lists for each
//     integration. A Task resource without a known policy is an error.
//   - WorkerPolicy, for the role the worker runs as (the ECS task role or
//     the Lambda function's role): the union of what the Go and Map steps
//     declare, plus states:SendTaskSuccess and SendTaskFailure on the state
//     machine when ECS tasks report through task tokens.
//
// A SQL step's data goes to the state machine's policy, a Go or Map
// step's to the worker's; Glue jobs and crawlers run as their own roles,
// so declaring data on them (or on Wait, Pass, Choice and Parallel steps)
// is an error, as is a bad location or key, each naming the step and the
// value. GrantStateMachine and GrantWorker add the same grants to an
// existing policy, for a role shared by several pipelines. iam.Validate
// checks any policy document against the IAM grammar.
//
// # Pictures
//
// Mermaid and DOT draw a pipeline; MermaidRun and DOTRun colour each step
// by its state in a run (succeeded, failed, running, skipped, pending).
//
// # Errors
//
// Errors wrap the package's sentinels (ErrInvalidPipeline, ErrRunFailed,
// ErrStepFailed, ErrNoSuchRun, ErrBadInput, ErrNotConfigured,
// ErrExecutionExists, ErrExecutionFailed, ErrWaitTimeout, ErrNotFound,
// ErrInvalidRule); AWS errors stay reachable with errors.As.
//
// # As
//
// SFN.As exposes a **sfn.Client and Glue.As a **glue.Client.
package orchestrate
