package orchestrate

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

// History events of two interleaved Parallel branches map to the right
// steps: a retried task that then succeeds is succeeded, a failed one is
// failed, a state never entered is skipped.
func TestStepStatesFromHistory(t *testing.T) {
	p := New("h", ParallelStep("par",
		New("b1", GoStep("flaky", nop)),
		New("b2", GoStep("broken", nop).Catch("fix"), GoStep("fix", nop), GoStep("after", nop).After("broken"))))
	owners, err := StateOwners(p, lambdaOpts)
	if err != nil {
		t.Fatal(err)
	}
	var evs []sfntypes.HistoryEvent
	add := func(prev int64, ev sfntypes.HistoryEvent) int64 {
		ev.Id = int64(len(evs) + 1)
		ev.PreviousEventId = prev
		evs = append(evs, ev)
		return ev.Id
	}
	enter := func(prev int64, name string) int64 {
		return add(prev, sfntypes.HistoryEvent{StateEnteredEventDetails: &sfntypes.StateEnteredEventDetails{Name: aws.String(name)}})
	}
	exit := func(prev int64, name string) int64 {
		return add(prev, sfntypes.HistoryEvent{StateExitedEventDetails: &sfntypes.StateExitedEventDetails{Name: aws.String(name)}})
	}
	failed := func(prev int64, e string) int64 {
		return add(prev, sfntypes.HistoryEvent{TaskFailedEventDetails: &sfntypes.TaskFailedEventDetails{Error: aws.String(e)}})
	}
	ok := func(prev int64) int64 {
		return add(prev, sfntypes.HistoryEvent{TaskSucceededEventDetails: &sfntypes.TaskSucceededEventDetails{}})
	}
	par := enter(0, "par")
	f := enter(par, "flaky")
	b := enter(par, "broken")
	f1 := failed(f, "Throttled") // branch 1 fails once...
	b1 := failed(b, "States.TaskFailed")
	g := enter(b1, "if:fix") // guard states have no owner
	fx := enter(g, "fix")
	f2 := ok(f1) // ...and succeeds on retry, interleaved with branch 2
	exit(f2, "flaky")
	exit(ok(fx), "fix")
	exit(add(0, sfntypes.HistoryEvent{}), "par")

	got := stepStates(p, owners, evs, StateSucceeded)
	want := map[string]State{"par": StateSucceeded, "flaky": StateSucceeded, "broken": StateFailed, "fix": StateSucceeded, "after": StateSkipped}
	for step, st := range want {
		if got[step].State != st {
			t.Errorf("%s: %s, want %s", step, got[step].State, st)
		}
	}
	if len(got["flaky"].Attempts) != 2 || got["broken"].Error == nil || got["broken"].Error.Name != "States.TaskFailed" {
		t.Errorf("flaky attempts %d, broken error %+v", len(got["flaky"].Attempts), got["broken"].Error)
	}
}
