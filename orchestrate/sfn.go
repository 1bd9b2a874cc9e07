package orchestrate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

// SFNAPI is the part of the AWS Step Functions client SFN calls: an
// *sfn.Client has these methods. NewSFNFromClient takes any value that has
// them, so a service can hand in an instrumented client or a test can hand
// in a stub.
type SFNAPI interface {
	CreateStateMachine(context.Context, *sfn.CreateStateMachineInput, ...func(*sfn.Options)) (*sfn.CreateStateMachineOutput, error)
	UpdateStateMachine(context.Context, *sfn.UpdateStateMachineInput, ...func(*sfn.Options)) (*sfn.UpdateStateMachineOutput, error)
	ListStateMachines(context.Context, *sfn.ListStateMachinesInput, ...func(*sfn.Options)) (*sfn.ListStateMachinesOutput, error)
	StartExecution(context.Context, *sfn.StartExecutionInput, ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error)
	DescribeExecution(context.Context, *sfn.DescribeExecutionInput, ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error)
	GetExecutionHistory(context.Context, *sfn.GetExecutionHistoryInput, ...func(*sfn.Options)) (*sfn.GetExecutionHistoryOutput, error)
	SendTaskSuccess(context.Context, *sfn.SendTaskSuccessInput, ...func(*sfn.Options)) (*sfn.SendTaskSuccessOutput, error)
	SendTaskFailure(context.Context, *sfn.SendTaskFailureInput, ...func(*sfn.Options)) (*sfn.SendTaskFailureOutput, error)
}

// SFNOptions configure an SFN. A nil *SFNOptions means defaults.
type SFNOptions struct {
	// Wait shapes Wait when it is called with nil WaitOptions; zero fields
	// take the defaults.
	Wait WaitOptions
	// ClientOptions are applied to the sfn.Options of the client NewSFN
	// builds, after the aws.Config: a custom HTTP client, a retryer or an
	// endpoint. NewSFNFromClient ignores them.
	ClientOptions []func(*sfn.Options)
}

// SFN deploys compiled pipelines to AWS Step Functions, starts and waits
// for executions, and maps their history back to step states.
type SFN struct {
	c    SFNAPI
	wait *WaitOptions
}

var _ TaskTokenSender = (*SFN)(nil)

// NewSFN returns an SFN over a client built from cfg (region, credentials,
// endpoint) and opts.ClientOptions. A nil opts means defaults.
func NewSFN(cfg aws.Config, opts *SFNOptions) (*SFN, error) {
	var fns []func(*sfn.Options)
	if opts != nil {
		fns = opts.ClientOptions
	}
	return NewSFNFromClient(sfn.NewFromConfig(cfg, fns...), opts)
}

// NewSFNFromClient returns an SFN over client: an *sfn.Client, or any
// SFNAPI (an instrumented client, a stub in a test). It fails with
// ErrNotConfigured when client is nil.
func NewSFNFromClient(client SFNAPI, opts *SFNOptions) (*SFN, error) {
	if client == nil {
		return nil, fmt.Errorf("%w: NewSFNFromClient: the Step Functions client is nil", ErrNotConfigured)
	}
	var o SFNOptions
	if opts != nil {
		o = *opts
	}
	return &SFN{c: client, wait: &o.Wait}, nil
}

// As exposes the *sfn.Client.
func (s *SFN) As(i any) bool {
	p, ok := i.(**sfn.Client)
	if !ok {
		return false
	}
	c, ok := s.c.(*sfn.Client)
	if ok {
		*p = c
	}
	return ok
}

// Deploy compiles p and creates the state machine named after it (a
// STANDARD one) with roleARN, or updates the existing one. It returns the
// state machine's ARN.
func (s *SFN) Deploy(ctx context.Context, p *Pipeline, roleARN string, opts *CompileOptions) (string, error) {
	def, err := Compile(p, opts)
	if err != nil {
		return "", err
	}
	if roleARN == "" {
		return "", fmt.Errorf("%w: pipeline %q: deploy needs an IAM role ARN", ErrInvalidPipeline, p.Name())
	}
	out, err := s.c.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String(p.Name()),
		Definition: aws.String(string(def)), RoleArn: aws.String(roleARN), Type: sfntypes.StateMachineTypeStandard})
	if err == nil {
		return aws.ToString(out.StateMachineArn), nil
	}
	var exists *sfntypes.StateMachineAlreadyExists
	if !errors.As(err, &exists) {
		return "", fmt.Errorf("orchestrate: creating state machine %q: %w", p.Name(), err)
	}
	arn, err := s.find(ctx, p.Name())
	if err != nil {
		return "", err
	}
	if _, err := s.c.UpdateStateMachine(ctx, &sfn.UpdateStateMachineInput{StateMachineArn: aws.String(arn),
		Definition: aws.String(string(def)), RoleArn: aws.String(roleARN)}); err != nil {
		return "", fmt.Errorf("orchestrate: updating state machine %q: %w", p.Name(), err)
	}
	return arn, nil
}

// find returns the ARN of the state machine named name.
func (s *SFN) find(ctx context.Context, name string) (string, error) {
	pg := sfn.NewListStateMachinesPaginator(s.c, &sfn.ListStateMachinesInput{})
	for pg.HasMorePages() {
		page, err := pg.NextPage(ctx)
		if err != nil {
			return "", fmt.Errorf("orchestrate: listing state machines: %w", err)
		}
		for _, m := range page.StateMachines {
			if aws.ToString(m.Name) == name {
				return aws.ToString(m.StateMachineArn), nil
			}
		}
	}
	return "", fmt.Errorf("%w: state machine %q", ErrNotFound, name)
}

// StateMachineARN returns the ARN of the deployed state machine of p.
func (s *SFN) StateMachineARN(ctx context.Context, p *Pipeline) (string, error) {
	return s.find(ctx, p.Name())
}

// Start starts an execution named name (a run id, say) with input (any
// JSON-able value). It is idempotent: when an execution of that name
// exists with the same input, its ARN is returned; with another input the
// error wraps ErrExecutionExists.
func (s *SFN) Start(ctx context.Context, stateMachineARN, name string, input any) (string, error) {
	if err := ValidateName("execution", name); err != nil {
		return "", err
	}
	raw, err := toRaw(input)
	if err != nil {
		return "", fmt.Errorf("%w: execution %q input: %v", ErrBadInput, name, err)
	}
	if raw == nil {
		raw = json.RawMessage("{}")
	}
	execARN := executionARN(stateMachineARN, name)
	// Look first: emulators (and redriven executions) may not refuse a
	// second start with the same name.
	if d, err := s.c.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(execARN)}); err == nil {
		return s.sameInput(d, name, raw)
	}
	out, err := s.c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(stateMachineARN),
		Name: aws.String(name), Input: aws.String(string(raw))})
	if err == nil {
		return aws.ToString(out.ExecutionArn), nil
	}
	var exists *sfntypes.ExecutionAlreadyExists
	if !errors.As(err, &exists) {
		var nf *sfntypes.StateMachineDoesNotExist
		if errors.As(err, &nf) {
			return "", fmt.Errorf("orchestrate: starting %q: %w: %w", name, ErrNotFound, err)
		}
		return "", fmt.Errorf("orchestrate: starting %q: %w", name, err)
	}
	d, derr := s.c.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(execARN)})
	if derr != nil {
		return "", fmt.Errorf("%w: %q: %w", ErrExecutionExists, name, err)
	}
	return s.sameInput(d, name, raw)
}

func (s *SFN) sameInput(d *sfn.DescribeExecutionOutput, name string, raw json.RawMessage) (string, error) {
	if !jsonEqual([]byte(aws.ToString(d.Input)), raw) {
		return "", fmt.Errorf("%w: execution %q has input %s", ErrExecutionExists, name, truncate(aws.ToString(d.Input), 200))
	}
	return aws.ToString(d.ExecutionArn), nil
}

func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return string(xa) == string(ya)
}

// executionARN derives an execution's ARN from its state machine's:
// arn:aws:states:REGION:ACCOUNT:stateMachine:NAME → ...:execution:NAME:EXEC.
func executionARN(stateMachineARN, name string) string {
	return strings.Replace(stateMachineARN, ":stateMachine:", ":execution:", 1) + ":" + name
}

// Execution is the state of a Step Functions execution.
type Execution struct {
	ARN    string
	Status string // RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED, PENDING_REDRIVE
	Output json.RawMessage
	Error  string
	Cause  string
	Start  time.Time
	Stop   time.Time
}

// Describe returns the execution's state.
func (s *SFN) Describe(ctx context.Context, executionARN string) (*Execution, error) {
	d, err := s.c.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(executionARN)})
	if err != nil {
		var nf *sfntypes.ExecutionDoesNotExist
		if errors.As(err, &nf) {
			return nil, fmt.Errorf("orchestrate: execution %s: %w: %w", executionARN, ErrNotFound, err)
		}
		return nil, fmt.Errorf("orchestrate: describing execution %s: %w", executionARN, err)
	}
	e := &Execution{ARN: executionARN, Status: string(d.Status), Error: aws.ToString(d.Error), Cause: aws.ToString(d.Cause),
		Start: aws.ToTime(d.StartDate), Stop: aws.ToTime(d.StopDate)}
	if d.Output != nil {
		e.Output = json.RawMessage(*d.Output)
	}
	return e, nil
}

// Wait polls an execution until it stops, as o says (nil: the SFN's
// SFNOptions.Wait). An execution that did not succeed is returned with an
// error wrapping ErrExecutionFailed.
func (s *SFN) Wait(ctx context.Context, executionARN string, o *WaitOptions) (*Execution, error) {
	if o == nil {
		o = s.wait
	}
	var e *Execution
	err := poll(ctx, o, "execution "+executionARN, func(ctx context.Context) (bool, error) {
		var err error
		e, err = s.Describe(ctx, executionARN)
		if err != nil {
			return false, err
		}
		switch sfntypes.ExecutionStatus(e.Status) {
		case sfntypes.ExecutionStatusRunning, sfntypes.ExecutionStatusPendingRedrive:
			return false, nil
		case sfntypes.ExecutionStatusSucceeded:
			return true, nil
		}
		return true, fmt.Errorf("%w: execution %s ended %s: %s: %s", ErrExecutionFailed, executionARN, e.Status, e.Error, e.Cause)
	})
	return e, err
}

// History reads the execution's event history (every page) and maps it
// back to the steps of p: a step whose states were entered is running,
// then succeeded when they exited without an unrecovered failure, failed
// otherwise; a step never entered is skipped once the execution has
// ended, pending while it runs.
func (s *SFN) History(ctx context.Context, p *Pipeline, executionARN string, opts *CompileOptions) (*Run, error) {
	owners, err := StateOwners(p, opts)
	if err != nil {
		return nil, err
	}
	e, err := s.Describe(ctx, executionARN)
	if err != nil {
		return nil, err
	}
	run := &Run{ID: executionARN, Pipeline: p.Name(), Steps: map[string]*StepRun{}, Started: e.Start, Ended: e.Stop}
	switch sfntypes.ExecutionStatus(e.Status) {
	case sfntypes.ExecutionStatusSucceeded:
		run.State = StateSucceeded
	case sfntypes.ExecutionStatusRunning, sfntypes.ExecutionStatusPendingRedrive:
		run.State = StateRunning
	default:
		run.State = StateFailed
		run.Error = strings.TrimSpace(e.Error + ": " + e.Cause)
	}
	var events []sfntypes.HistoryEvent
	pg := sfn.NewGetExecutionHistoryPaginator(s.c, &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(executionARN)})
	for pg.HasMorePages() {
		page, err := pg.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("orchestrate: execution history %s: %w", executionARN, err)
		}
		events = append(events, page.Events...)
	}
	run.Steps = stepStates(p, owners, events, run.State)
	return run, nil
}

// stepStates folds history events into step states. Events of states
// inside a Map's item processor belong to the Map and are left to the Map
// state's own events.
func stepStates(p *Pipeline, owners map[string]string, events []sfntypes.HistoryEvent, runState State) map[string]*StepRun {
	steps := map[string]*StepRun{}
	var all []string
	var walk func(*Pipeline)
	walk = func(q *Pipeline) {
		for _, st := range q.steps {
			all = append(all, st.Name)
			for _, b := range st.Branches {
				walk(b)
			}
		}
	}
	walk(p)
	for _, n := range all {
		steps[n] = &StepRun{State: StatePending}
	}
	// Every event belongs to the step of the state it follows from: a
	// StateEntered event names its state, the others chain back through
	// PreviousEventId. That keeps interleaved Parallel branches apart.
	byID := map[int64]string{}
	for _, ev := range events {
		ts := aws.ToTime(ev.Timestamp)
		step := byID[ev.PreviousEventId]
		if ev.StateEnteredEventDetails != nil {
			step = owners[aws.ToString(ev.StateEnteredEventDetails.Name)]
		}
		if ev.StateExitedEventDetails != nil {
			step = owners[aws.ToString(ev.StateExitedEventDetails.Name)]
		}
		byID[ev.Id] = step
		if step == "" {
			continue
		}
		sr := steps[step]
		switch {
		case ev.StateEnteredEventDetails != nil:
			if strings.HasPrefix(aws.ToString(ev.StateEnteredEventDetails.Name), "item:") {
				continue // a Map iteration: the Map state's own events decide
			}
			if sr.State != StateRunning {
				sr.Started = ts
			}
			sr.State = StateRunning
		case ev.StateExitedEventDetails != nil:
			name := aws.ToString(ev.StateExitedEventDetails.Name)
			if strings.HasPrefix(name, "item:") || strings.HasPrefix(name, "in:") {
				continue // an iteration, or the Pass building an ECS step's input
			}
			if sr.Error == nil {
				sr.State = StateSucceeded
			} else {
				sr.State = StateFailed
			}
			sr.Ended = ts
			if out := ev.StateExitedEventDetails.Output; out != nil && step == name {
				var state struct {
					Steps map[string]json.RawMessage `json:"steps"`
				}
				if json.Unmarshal([]byte(*out), &state) == nil {
					sr.Output = state.Steps[Key(step)]
				}
			}
		case ev.TaskFailedEventDetails != nil:
			sr.Error = &StepError{Step: step, Name: aws.ToString(ev.TaskFailedEventDetails.Error), Cause: aws.ToString(ev.TaskFailedEventDetails.Cause)}
			sr.Attempts = append(sr.Attempts, Attempt{Ended: ts, Error: sr.Error.Name})
		case ev.TaskTimedOutEventDetails != nil:
			sr.Error = &StepError{Step: step, Name: ErrorTimeout, Cause: aws.ToString(ev.TaskTimedOutEventDetails.Cause)}
			sr.Attempts = append(sr.Attempts, Attempt{Ended: ts, Error: ErrorTimeout})
		case ev.TaskSucceededEventDetails != nil:
			sr.Error = nil
			sr.Attempts = append(sr.Attempts, Attempt{Ended: ts})
		case ev.ExecutionFailedEventDetails != nil:
			if sr.State == StateRunning && sr.Error == nil {
				sr.Error = &StepError{Step: step, Name: aws.ToString(ev.ExecutionFailedEventDetails.Error), Cause: aws.ToString(ev.ExecutionFailedEventDetails.Cause)}
			}
		}
	}
	if runState != StateRunning {
		for _, sr := range steps {
			switch sr.State {
			case StatePending:
				sr.State = StateSkipped
			case StateRunning: // entered, never left: it failed (and was caught, if the run succeeded)
				sr.State = StateFailed
			}
		}
	}
	return steps
}

// SendTaskSuccess reports a .waitForTaskToken task's output.
func (s *SFN) SendTaskSuccess(ctx context.Context, token string, output json.RawMessage) error {
	if output == nil {
		output = json.RawMessage("null")
	}
	_, err := s.c.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: aws.String(token), Output: aws.String(string(output))})
	if err != nil {
		return fmt.Errorf("orchestrate: SendTaskSuccess: %w", err)
	}
	return nil
}

// SendTaskFailure reports a .waitForTaskToken task's failure.
func (s *SFN) SendTaskFailure(ctx context.Context, token, errorName, cause string) error {
	_, err := s.c.SendTaskFailure(ctx, &sfn.SendTaskFailureInput{TaskToken: aws.String(token),
		Error: aws.String(truncate(errorName, 256)), Cause: aws.String(truncate(cause, 32000))})
	if err != nil {
		return fmt.Errorf("orchestrate: SendTaskFailure: %w", err)
	}
	return nil
}
