package orchestrate

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/lakekit/lakekit/lake/iam"
)

// access is what a step declared with Reads, Writes and KMS.
type access struct {
	reads, writes []dataLoc
	keys          map[string]iam.Access
	errs          []error
}

// dataLoc is a parsed lake location: an S3 prefix or a Glue table.
type dataLoc struct {
	raw             string
	s3              bool
	database, table string // glue; table "*" for every table
}

func (s *Step) declare(kind string, locs []string) []dataLoc {
	var out []dataLoc
	for _, loc := range locs {
		l, err := parseDataLoc(loc)
		if err != nil {
			s.access.errs = append(s.access.errs, fmt.Errorf("%w: step %q: %s location %q: %w", ErrInvalidPipeline, s.Name, kind, loc, err))
			continue
		}
		out = append(out, l)
	}
	return out
}

func parseDataLoc(loc string) (dataLoc, error) {
	switch {
	case strings.HasPrefix(loc, "s3://"):
		if _, _, err := iam.ParseS3(loc); err != nil {
			return dataLoc{}, err
		}
		return dataLoc{raw: loc, s3: true}, nil
	case strings.HasPrefix(loc, "glue://"):
		db, table, ok := strings.Cut(strings.TrimPrefix(loc, "glue://"), "/")
		if !ok || table == "" {
			return dataLoc{}, fmt.Errorf("a Glue location names a table: glue://database/table, or glue://database/* for every table: %w", iam.ErrInvalid)
		}
		if err := iam.CheckGlueName("database", db); err != nil {
			return dataLoc{}, err
		}
		if table != "*" {
			if err := iam.CheckGlueName("table", table); err != nil {
				return dataLoc{}, err
			}
		}
		return dataLoc{raw: loc, database: db, table: table}, nil
	}
	return dataLoc{}, fmt.Errorf("want s3://bucket/prefix (a lake location) or glue://database/table: %w", iam.ErrInvalid)
}

// Reads declares the data the step reads: lake locations
// ("s3://bucket/prefix/", as lake.Store.Location returns them) and Glue
// tables ("glue://database/table", or "glue://database/*" for every table
// of a database). The policies StateMachinePolicy and WorkerPolicy render
// grant what the steps declare, and nothing else: a Go or Map step's data
// goes to the worker's role, a SQL step's to the state machine's (Athena
// reads and writes with the caller's credentials). A bad location is
// reported, naming the step and the location, when a policy is rendered.
func (s *Step) Reads(locations ...string) *Step {
	s.access.reads = append(s.access.reads, s.declare("read", locations)...)
	return s
}

// Writes declares the data the step writes (which it may also read and
// delete, as commits and vacuums do), in the forms Reads takes.
func (s *Step) Writes(locations ...string) *Step {
	s.access.writes = append(s.access.writes, s.declare("write", locations)...)
	return s
}

// KMS declares KMS keys (key ARNs; an alias ARN cannot identify a key in
// a policy and is refused) the step's data is encrypted with: iam.Read to
// decrypt, iam.ReadWrite to encrypt as well. A key declared twice gets
// the wider access.
func (s *Step) KMS(a iam.Access, keyARNs ...string) *Step {
	for _, k := range keyARNs {
		if err := iam.CheckKMSKey(k); err != nil {
			s.access.errs = append(s.access.errs, fmt.Errorf("%w: step %q: %w", ErrInvalidPipeline, s.Name, err))
			continue
		}
		if a != iam.Read && a != iam.ReadWrite {
			s.access.errs = append(s.access.errs, fmt.Errorf("%w: step %q: KMS key %q: unknown access %d (iam.Read or iam.ReadWrite)", ErrInvalidPipeline, s.Name, k, a))
			continue
		}
		if s.access.keys == nil {
			s.access.keys = map[string]iam.Access{}
		}
		if cur, ok := s.access.keys[k]; !ok || a > cur {
			s.access.keys[k] = a
		}
	}
	return s
}

func (a access) declared() bool { return len(a.reads)+len(a.writes)+len(a.keys) > 0 }

// grant adds a step's declared data access to pol. Athena also asks for
// the location of every bucket it reads or writes.
func (a access) grant(pol *iam.Policy, athena bool) {
	for _, side := range []struct {
		locs  []dataLoc
		write bool
	}{{a.reads, false}, {a.writes, true}} {
		for _, l := range side.locs {
			switch {
			case l.s3 && side.write:
				pol.WritePrefix(l.raw)
			case l.s3:
				pol.ReadPrefix(l.raw)
			case side.write:
				pol.Catalog(iam.ReadWrite, l.database, l.table)
			default:
				pol.Catalog(iam.Read, l.database, l.table)
			}
			if l.s3 && athena {
				pol.BucketLocation(l.raw)
			}
		}
	}
	for _, k := range sortedNames(a.keys) {
		pol.KMS(a.keys[k], k)
	}
}

func sortedNames[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// eachStep calls fn for every step of p, those in Parallel branches too.
func eachStep(p *Pipeline, fn func(*Step)) {
	for _, s := range p.steps {
		fn(s)
		for _, b := range s.Branches {
			eachStep(b, fn)
		}
	}
}

// checkAccess validates the pipeline and its data declarations: bad
// locations or keys, and declarations on steps whose data access belongs
// to another role.
func checkAccess(p *Pipeline) error {
	if err := p.Validate(); err != nil {
		return err
	}
	var errs []error
	eachStep(p, func(s *Step) {
		errs = append(errs, s.access.errs...)
		if !s.access.declared() {
			return
		}
		switch s.Kind {
		case KindGo, KindMap, KindSQL:
		case KindGlueJob, KindCrawler:
			errs = append(errs, fmt.Errorf("%w: step %q is a %v step: the data it touches belongs in the policy of the Glue %s's own role; declare reads and writes on Go, Map and SQL steps",
				ErrInvalidPipeline, s.Name, s.Kind, map[Kind]string{KindGlueJob: "job", KindCrawler: "crawler"}[s.Kind]))
		default:
			errs = append(errs, fmt.Errorf("%w: step %q is a %v step, which touches no data; declare reads and writes on Go, Map and SQL steps",
				ErrInvalidPipeline, s.Name, s.Kind))
		}
	})
	return errors.Join(errs...)
}

// ECSPrincipal is the service ECS task roles are passed to.
const ECSPrincipal = "ecs-tasks.amazonaws.com"

// PolicyOptions tell StateMachinePolicy what the compiled definition does
// not say.
type PolicyOptions struct {
	// ECSTaskRole and ECSExecutionRole are the ARNs of the task role and
	// the task execution role of ECSOptions.TaskDefinition. ecs:RunTask
	// passes them, so the state machine needs iam:PassRole on them (to ECS
	// only). ECSTaskRole is required when Go steps run on ECS: it is the
	// role WorkerPolicy's policy belongs to.
	ECSTaskRole, ECSExecutionRole string
}

// StateMachinePolicy renders the least-privilege policy of the IAM role a
// pipeline's state machine runs as (the role SFN.Deploy is given). It is
// derived from what Compile emits for p and opts, Task state by Task
// state, so it grants exactly what the service integrations call, on the
// resources the states name:
//
//   - lambda:invoke: lambda:InvokeFunction on the function.
//   - ecs:runTask.sync: ecs:RunTask on the task definition (every revision
//     of a family given without one); ecs:DescribeTasks and ecs:StopTask on
//     the cluster's tasks; events:PutRule, events:PutTargets and
//     events:DescribeRule on the rule Step Functions manages
//     (iam.ECSStepFunctionsRule); iam:PassRole on the task's roles (see
//     PolicyOptions), to ECS only. ecs:runTask.waitForTaskToken: ecs:RunTask
//     and iam:PassRole.
//   - athena:startQueryExecution.sync: athena:StartQueryExecution,
//     GetQueryExecution and StopQueryExecution on the workgroup ("primary"
//     when none is set), athena:GetDataCatalog on the default catalog,
//     lakeformation:GetDataAccess (on "*": it has no resource types) for
//     tables whose locations Lake Formation governs;
//     writing the output location (a SQL step without one is an error:
//     set SQLSpec.OutputLocation or CompileOptions.AthenaOutputLocation);
//     Glue read access to the query's database (only to the tables the
//     step declares in it, if it declares any); and the S3 prefixes, Glue
//     tables and KMS keys the step declares with Reads, Writes and KMS.
//   - glue:startJobRun.sync: glue:StartJobRun, GetJobRun, GetJobRuns and
//     BatchStopJobRun on the job.
//   - aws-sdk:glue:startCrawler and getCrawler: glue:StartCrawler and
//     glue:GetCrawler on the crawler.
//
// Steps inside Map and Parallel states count like the others. A Task
// resource the function does not know is an error, so a new kind of step
// cannot compile without its policy. The returned policy may be given more
// grants before it is rendered (iam.Policy.JSON). The error wraps
// ErrInvalidPipeline for the pipeline and its declarations, iam.ErrInvalid
// for a name or account the policy cannot use.
func StateMachinePolicy(p *Pipeline, opts *CompileOptions, acct iam.Account, po *PolicyOptions) (*iam.Policy, error) {
	pol := iam.NewPolicy(acct)
	if err := GrantStateMachine(pol, p, opts, po); err != nil {
		return nil, err
	}
	if _, err := pol.Document(); err != nil {
		return nil, fmt.Errorf("orchestrate: state machine policy of pipeline %q: %w", p.Name(), err)
	}
	return pol, nil
}

// GrantStateMachine adds to pol the grants StateMachinePolicy renders for
// p: one role may run several state machines. Names the policy cannot use
// are reported when pol is rendered.
func GrantStateMachine(pol *iam.Policy, p *Pipeline, opts *CompileOptions, po *PolicyOptions) error {
	if err := checkAccess(p); err != nil {
		return err
	}
	def, err := Compile(p, opts)
	if err != nil {
		return err
	}
	owners, err := StateOwners(p, opts)
	if err != nil {
		return err
	}
	var top struct {
		States map[string]json.RawMessage
	}
	if err := json.Unmarshal(def, &top); err != nil {
		return fmt.Errorf("orchestrate: reading the compiled definition of %q: %w", p.Name(), err)
	}
	if po == nil {
		po = &PolicyOptions{}
	}
	grantDistributed(pol, p)
	return walkTasks(top.States, func(state string, t taskState) error {
		return grantTask(pol, p, owners[state], state, t, po)
	})
}

// taskState is what the policy needs of a compiled Task state.
type taskState struct {
	Resource   string
	Parameters struct {
		FunctionName          string
		Cluster               string
		TaskDefinition        string
		WorkGroup             string
		QueryExecutionContext struct{ Database string }
		ResultConfiguration   struct{ OutputLocation string }
		JobName               string
		Name                  string
	}
}

// walkTasks calls fn for each Task state of a States object, those in Map
// item processors and Parallel branches too, in name order.
func walkTasks(states map[string]json.RawMessage, fn func(name string, t taskState) error) error {
	for _, name := range sortedNames(states) {
		var st struct {
			Type          string
			ItemProcessor struct{ States map[string]json.RawMessage }
			Branches      []struct{ States map[string]json.RawMessage }
		}
		if err := json.Unmarshal(states[name], &st); err != nil {
			return fmt.Errorf("orchestrate: state %q: %w", name, err)
		}
		var err error
		switch st.Type {
		case "Task":
			var t taskState
			if err := json.Unmarshal(states[name], &t); err != nil {
				return fmt.Errorf("orchestrate: state %q: %w", name, err)
			}
			err = fn(name, t)
		case "Map":
			err = walkTasks(st.ItemProcessor.States, fn)
		case "Parallel":
			for _, b := range st.Branches {
				if err = walkTasks(b.States, fn); err != nil {
					break
				}
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func grantTask(pol *iam.Policy, p *Pipeline, step, state string, t taskState, po *PolicyOptions) error {
	prm := t.Parameters
	switch t.Resource {
	case ResourceLambda:
		pol.LambdaInvoke(prm.FunctionName)
	case ResourceECSSync, ResourceECSToken:
		if po.ECSTaskRole == "" {
			return fmt.Errorf("%w: pipeline %q: state %q runs an ECS task, which passes the task definition's roles: set PolicyOptions.ECSTaskRole (and ECSExecutionRole if the task definition has one)",
				ErrInvalidPipeline, p.Name(), state)
		}
		pol.ECSTask(prm.Cluster, prm.TaskDefinition, t.Resource == ResourceECSSync)
		roles := []string{po.ECSTaskRole}
		if po.ECSExecutionRole != "" {
			roles = append(roles, po.ECSExecutionRole)
		}
		pol.PassRole(ECSPrincipal, roles...)
	case ResourceAthenaSync:
		wg := firstNonEmpty(prm.WorkGroup, "primary")
		pol.AthenaSync(wg)
		if prm.ResultConfiguration.OutputLocation == "" {
			return fmt.Errorf("%w: step %q: SQL step without an Athena output location, so the policy cannot grant writing its results: set SQLSpec.OutputLocation (Step.Athena) or CompileOptions.AthenaOutputLocation",
				ErrInvalidPipeline, step)
		}
		pol.AthenaResults(prm.ResultConfiguration.OutputLocation)
		s, _ := p.find(step)
		if s == nil {
			return fmt.Errorf("%w: state %q belongs to no step", ErrInvalidPipeline, state)
		}
		if db := prm.QueryExecutionContext.Database; db != "" {
			var tables []string
			for _, l := range slices.Concat(s.access.reads, s.access.writes) {
				if !l.s3 && l.database == db {
					tables = append(tables, l.table)
				}
			}
			pol.Catalog(iam.Read, db, tables...)
		}
		s.access.grant(pol, true)
	case ResourceGlueJobSync:
		pol.GlueJobSync(prm.JobName)
	case ResourceStartCrawler, ResourceGetCrawler:
		pol.Crawler(prm.Name)
	default:
		return fmt.Errorf("%w: pipeline %q: state %q uses the integration %q, for which no IAM policy is known",
			ErrInvalidPipeline, p.Name(), state, t.Resource)
	}
	return nil
}

// WorkerPolicy renders the least-privilege policy of the role the worker
// runs as (the ECS task role, or the Lambda function's execution role):
// the data the pipeline's Go and Map steps declare with Reads, Writes and
// KMS, those in Parallel branches too, and what the Worker itself calls
// when ECS tasks report through task tokens (ECSOptions.WaitForTaskToken):
// states:SendTaskSuccess, SendTaskFailure and SendTaskHeartbeat, on "*"
// because they have no resource types (the token names the task).
// Platform needs (pulling the image, writing logs) belong to the ECS
// execution role or the Lambda basic execution policy, not here.
func WorkerPolicy(p *Pipeline, opts *CompileOptions, acct iam.Account) (*iam.Policy, error) {
	pol := iam.NewPolicy(acct)
	if err := GrantWorker(pol, p, opts); err != nil {
		return nil, err
	}
	if _, err := pol.Document(); err != nil {
		return nil, fmt.Errorf("orchestrate: worker policy of pipeline %q: %w", p.Name(), err)
	}
	return pol, nil
}

// GrantWorker adds to pol the grants WorkerPolicy renders for p: one
// worker serves several pipelines. Names the policy cannot use are
// reported when pol is rendered.
func GrantWorker(pol *iam.Policy, p *Pipeline, opts *CompileOptions) error {
	if err := checkAccess(p); err != nil {
		return err
	}
	if _, err := Compile(p, opts); err != nil {
		return err
	}
	workers := 0
	eachStep(p, func(s *Step) {
		if s.Kind == KindGo || s.Kind == KindMap {
			workers++
			s.access.grant(pol, false)
		}
	})
	if workers == 0 {
		return fmt.Errorf("%w: pipeline %q has no Go or Map steps: no worker runs any of its steps", ErrInvalidPipeline, p.Name())
	}
	if opts != nil && opts.ECS != nil && opts.ECS.WaitForTaskToken {
		pol.TaskResponse()
	}
	return nil
}

// DeployPolicy renders the least-privilege policy of whoever deploys and
// runs p's state machine with SFN (a CI role, an operator): what
// SFN.Deploy calls, states:CreateStateMachine and UpdateStateMachine on
// the state machine, states:ListStateMachines (on "*": it has no resource
// types) and iam:PassRole on roleARN, the state machine's role, to Step
// Functions only; and what SFN.Start, Wait, Describe and History call,
// states:StartExecution on the state machine and DescribeExecution and
// GetExecutionHistory on its executions (iam.Policy.StepFunctions). The
// error wraps ErrInvalidPipeline for the pipeline, iam.ErrInvalid for a
// name, role or account the policy cannot use.
func DeployPolicy(p *Pipeline, acct iam.Account, roleARN string) (*iam.Policy, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	pol := iam.NewPolicy(acct).DeployStateMachine(p.Name(), roleARN).StepFunctions(p.Name())
	if _, err := pol.Document(); err != nil {
		return nil, fmt.Errorf("orchestrate: deploy policy of pipeline %q: %w", p.Name(), err)
	}
	return pol, nil
}
