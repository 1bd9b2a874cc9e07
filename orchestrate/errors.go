package orchestrate

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Every error the package returns wraps one of them, so
// errors.Is can tell what went wrong while the message names the pipeline
// or step concerned.
var (
	// ErrInvalidPipeline: the pipeline failed validation (a cycle, an
	// unknown dependency, a duplicate or refused name, an unreachable step,
	// a Map without an items source, ...).
	ErrInvalidPipeline = errors.New("orchestrate: invalid pipeline")
	// ErrStepFailed: a step failed after its retries and no catch handler
	// took the error.
	ErrStepFailed = errors.New("orchestrate: step failed")
	// ErrRunFailed: a run ended in the failed state.
	ErrRunFailed = errors.New("orchestrate: run failed")
	// ErrNoSuchRun: no recorded run has that id.
	ErrNoSuchRun = errors.New("orchestrate: no such run")
	// ErrNoSuchStep: a worker or lookup named a step the pipeline lacks.
	ErrNoSuchStep = errors.New("orchestrate: no such step")
	// ErrNoSuchPipeline: a worker was asked for a pipeline it does not know.
	ErrNoSuchPipeline = errors.New("orchestrate: no such pipeline")
	// ErrBadInput: a worker invocation or a step input could not be decoded.
	ErrBadInput = errors.New("orchestrate: bad input")
	// ErrNotConfigured: a step needs a backend the runner was not given
	// (a SQLRunner for SQL steps, Glue for Glue jobs and crawlers).
	ErrNotConfigured = errors.New("orchestrate: backend not configured")
	// ErrExecutionExists: an execution with that name exists with a
	// different input (Step Functions' ExecutionAlreadyExists).
	ErrExecutionExists = errors.New("orchestrate: execution exists with a different input")
	// ErrWaitTimeout: a waiter gave up after its maximum wait.
	ErrWaitTimeout = errors.New("orchestrate: wait exceeded its maximum duration")
	// ErrExecutionFailed: a Step Functions execution, Glue job run or
	// crawl ended in a failed state.
	ErrExecutionFailed = errors.New("orchestrate: execution failed")
	// ErrNotFound: the AWS resource (state machine, execution, job, crawler)
	// does not exist.
	ErrNotFound = errors.New("orchestrate: not found")
	// ErrInvalidRule: an EventBridge rule could not be rendered.
	ErrInvalidRule = errors.New("orchestrate: invalid rule")
)

// Error names that retry and catch matchers understand, as in the Amazon
// States Language.
const (
	// ErrorAll matches every error.
	ErrorAll = "States.ALL"
	// ErrorTaskFailed matches every error except a timeout.
	ErrorTaskFailed = "States.TaskFailed"
	// ErrorTimeout is the name of a step that exceeded its timeout.
	ErrorTimeout = "States.Timeout"
	// ErrorNoChoiceMatched: a choice without a default matched no rule.
	ErrorNoChoiceMatched = "States.NoChoiceMatched"
	// ErrorRuntime: the state machine could not process a state (a
	// choice rule over a missing field). As on AWS, it always fails the
	// run: no matcher, not even States.ALL, retries or catches it.
	ErrorRuntime = "States.Runtime"
	// ErrorStepFailed names a step's error that carries no name of its own
	// (see NewError). Names beginning with "States." are reserved for
	// Step Functions, so workers report this one instead; States.TaskFailed
	// and States.ALL match it.
	ErrorStepFailed = "Lakekit.StepFailed"
)

// Error is an error with a name that retry and catch policies can match,
// like a custom error thrown by a Lambda function in Step Functions.
type Error struct {
	Name string
	Err  error
}

// NewError returns an error named name (matched by Retry/Catch policies
// listing that name) wrapping err.
func NewError(name string, err error) error { return &Error{Name: name, Err: err} }

func (e *Error) Error() string {
	if e.Err == nil {
		return e.Name
	}
	return e.Name + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// ErrorName returns the name retry and catch matchers see for err: the Name
// of an *Error in its chain, States.Timeout for a step timeout, or
// Lakekit.StepFailed (ErrorStepFailed).
func ErrorName(err error) string {
	var ne *Error
	if errors.As(err, &ne) && ne.Name != "" {
		return ne.Name
	}
	if errors.Is(err, errStepTimeout) {
		return ErrorTimeout
	}
	return ErrorStepFailed
}

// reportedName is the error name a worker reports to Step Functions: the
// error's name unless Step Functions reserves it ("States." names are
// only for the errors Step Functions raises itself), then ErrorStepFailed.
func reportedName(err error) string {
	name := ErrorName(err)
	if strings.HasPrefix(name, "States.") {
		return ErrorStepFailed
	}
	return name
}

// errStepTimeout marks an attempt that ran out of its step's timeout.
var errStepTimeout = errors.New("step timed out")

// matchError reports whether an error named name matches any of matchers,
// with the Amazon States Language's rules: States.ALL matches anything,
// States.TaskFailed anything but States.Timeout, other names exactly; and
// nothing matches States.Runtime, which always fails the run.
func matchError(matchers []string, name string) bool {
	if name == ErrorRuntime {
		return false
	}
	for _, m := range matchers {
		switch {
		case m == ErrorAll:
			return true
		case m == ErrorTaskFailed && name != ErrorTimeout:
			return true
		case m == name:
			return true
		}
	}
	return false
}

// StepError describes a failed step: what a catch handler receives in
// Input.Error and what run history records.
type StepError struct {
	Step  string `json:"step"`
	Name  string `json:"error"`
	Cause string `json:"cause"`
}

func (e *StepError) Error() string {
	return fmt.Sprintf("step %q: %s: %s", e.Step, e.Name, e.Cause)
}

func isCtxErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
