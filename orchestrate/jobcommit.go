package orchestrate

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
)

// ArgStaging is the job argument that tells an external job where to
// write: a staging folder of the lakekit table it writes into.
const ArgStaging = "--lakekit_staging"

// StagedCommitter commits what one run of an external job wrote into a
// staging folder of a lakekit table. transform.Staged implements it.
type StagedCommitter interface {
	// StagingURL is the folder (s3://…/_lakekit/staging/…/, ending in
	// "/") under which each run writes into its own folder "<run id>/".
	StagingURL() string
	// CommitRun adopts the files of run in one commit with the transform
	// ledger (a run already committed adds nothing) and returns the
	// result as JSON.
	CommitRun(ctx context.Context, run string) (json.RawMessage, error)
}

// CommitStepSuffix is appended to a job step's name to name the step that
// commits its output (GlueJobInto).
const CommitStepSuffix = "-commit"

// GlueJobInto returns the two steps of a Glue job that writes into a
// lakekit table: the job step name (a GlueJobStep whose arguments add
// ArgStaging = into.StagingURL()), and the commit step name+"-commit", a
// Go step after it that adopts what the run wrote (into.CommitRun), so
// the job's output becomes visible in one atomic commit with the ledger
// entry "run:<JobRunId>", or not at all. Add both to the pipeline; give
// the job step its Retry and Catch. It fails (ErrInvalidPipeline) without
// a table or when args already set ArgStaging.
//
// The job's script writes its Parquet files under
// args['lakekit_staging'] + args['JOB_RUN_ID'] + '/' (Glue passes every run
// its own --JOB_RUN_ID), as key=value folders for a partitioned table.
// The commit step takes the folder of the run the job step reports
// (JobRunId, the run that SUCCEEDED): files of failed or retried runs are
// never adopted, and Vacuum deletes them after the retention; a failed job
// fails its step, so the commit step does not run and nothing is
// committed; running the commit step again for the same run adds nothing
// twice.
//
// Compiled, the job step is the glue:startJobRun.sync Task (its result
// {"JobRunId", "JobRunState"}) and the commit step the Task (ECS or
// Lambda) right after it, its worker reading the JobRunId from the job
// step's result.
func GlueJobInto(name, jobName string, args map[string]string, into StagedCommitter) (job, commit *Step, err error) {
	if into == nil {
		return nil, nil, fmt.Errorf("%w: step %q: GlueJobInto needs the table to commit into", ErrInvalidPipeline, name)
	}
	if _, ok := args[ArgStaging]; ok {
		return nil, nil, fmt.Errorf("%w: step %q: %s is set by GlueJobInto, not by the arguments", ErrInvalidPipeline, name, ArgStaging)
	}
	a := maps.Clone(args)
	if a == nil {
		a = map[string]string{}
	}
	a[ArgStaging] = into.StagingURL()
	job = GlueJobStep(name, jobName, a)
	commit = GoStep(name+CommitStepSuffix, func(ctx context.Context, in Input) (Output, error) {
		var jr struct {
			JobRunID    string `json:"JobRunId"`
			JobRunState string `json:"JobRunState"`
		}
		raw := in.Deps[name]
		if err := json.Unmarshal(raw, &jr); err != nil || jr.JobRunID == "" {
			return nil, fmt.Errorf("%w: the result of job step %q has no JobRunId: %s", ErrBadInput, name, raw)
		}
		if jr.JobRunState != "" && jr.JobRunState != "SUCCEEDED" {
			return nil, fmt.Errorf("%w: job run %s ended %s; nothing to commit", ErrBadInput, jr.JobRunID, jr.JobRunState)
		}
		return into.CommitRun(ctx, jr.JobRunID)
	}).After(name)
	return job, commit, nil
}
