package orchestrate

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestValidateRefuses(t *testing.T) {
	long := strings.Repeat("x", 81)
	cases := []struct {
		name string
		p    *Pipeline
		want []string // substrings of the error
	}{
		{"cycle", New("p", GoStep("a", nop).After("c"), GoStep("b", nop).After("a"), GoStep("c", nop).After("b")),
			[]string{"cycle", `"a"`, "a -> b -> c -> a"}},
		{"self", New("p", GoStep("a", nop).After("a")), []string{`step "a"`, "itself"}},
		{"dangling", New("p", GoStep("a", nop), GoStep("b", nop).After("nope")), []string{`step "b"`, `unknown step "nope"`}},
		{"duplicate", New("p", GoStep("a", nop), GoStep("a", nop)), []string{`step "a"`, "duplicate"}},
		{"key clash", New("p", GoStep("a-b", nop), GoStep("a.b", nop)), []string{`step "a.b"`, "key"}},
		{"too long", New("p", GoStep(long, nop)), []string{long, "81 characters", "80"}},
		{"space", New("p", GoStep("load data", nop)), []string{`"load data"`, "whitespace"}},
		{"bracket", New("p", GoStep("load[1]", nop)), []string{`"load[1]"`, `'['`}},
		{"wildcard", New("p", GoStep("load*", nop)), []string{`"load*"`, `'*'`}},
		{"colon", New("p", GoStep("a:b", nop)), []string{`"a:b"`, `':'`}},
		{"slash", New("p", GoStep("a/b", nop)), []string{`"a/b"`, `'/'`}},
		{"control", New("p", GoStep("a\x01b", nop)), []string{`"a\x01b"`, "control"}},
		{"pipeline name", New("my pipeline", GoStep("a", nop)), []string{`pipeline "my pipeline"`}},
		{"map without items", New("p", GoStep("list", nop), &Step{Name: "fan", Kind: KindMap, Map: MapSpec{Func: nop}}),
			[]string{`step "fan"`, "items source"}},
		{"map unknown source", New("p", MapStep("fan", "ghost", "", nop)), []string{`step "fan"`, `"ghost"`}},
		{"exclusive branches", New("p", PassStep("cfg", 1),
			ChoiceStep("c", "b", Rule{Step: "cfg", Op: NumericEquals, Value: 1, Next: "a"}),
			PassStep("a", 1), PassStep("b", 2), PassStep("join", 3).After("a", "b")),
			[]string{`step "join"`, "never run"}},
		{"success and catch", New("p", GoStep("s", nop).Catch("h"), GoStep("h", nop), GoStep("x", nop).After("s").Catch("h2"),
			GoStep("h2", nop), GoStep("both", nop).After("s", "h2")), nil},
		{"unknown catch", New("p", GoStep("a", nop).Catch("nobody")), []string{`step "a"`, `"nobody"`}},
		{"handler with deps", New("p", GoStep("a", nop).Catch("h"), GoStep("h", nop).After("a")), []string{`step "h"`, "catch handler"}},
		{"choice to unknown", New("p", PassStep("x", 1), ChoiceStep("c", "", Rule{Step: "x", Op: IsPresent, Value: true, Next: "y"})),
			[]string{`step "c"`, `"y"`}},
		{"bad op value", New("p", PassStep("x", 1), ChoiceStep("c", "", Rule{Step: "x", Op: NumericEquals, Value: "1", Next: "x2"}), PassStep("x2", 1)),
			[]string{`step "c"`, "numeric"}},
		{"no function", New("p", GoStep("a", nil)), []string{`step "a"`, "function"}},
		{"retry on wait", New("p", WaitStep("w", time.Second).Retry(RetryPolicy{ErrorEquals: []string{ErrorAll}})), []string{`step "w"`}},
		{"pass value", New("p", PassStep("x", make(chan int))), []string{`step "x"`, "pass value"}},
		{"empty", New("p"), []string{`pipeline "p"`, "no steps"}},
		{"branch error", New("p", ParallelStep("par", New("b", GoStep("x y", nop)))), []string{`"par"`, `"x y"`}},
		{"name reused in branch", New("p", GoStep("a", nop), ParallelStep("par", New("b", GoStep("a", nop)))), []string{`step "a"`, "duplicate"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.p.Validate()
			if c.want == nil { // "success and catch" is the handler-vs-success case below
				return
			}
			if !errors.Is(err, ErrInvalidPipeline) {
				t.Fatalf("got %v, want ErrInvalidPipeline", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %s", err, w)
				}
			}
		})
	}
}

func TestValidateUnreachableHandlerJoin(t *testing.T) {
	// "after" needs "s" to succeed and its catch handler "h" to run: never both.
	p := New("p", GoStep("s", nop).Catch("h"), GoStep("h", nop), GoStep("after", nop).After("s", "h"))
	err := p.Validate()
	if !errors.Is(err, ErrInvalidPipeline) || !strings.Contains(err.Error(), `step "after"`) || !strings.Contains(err.Error(), "never run") {
		t.Fatalf("got %v", err)
	}
	// Reachable shapes pass.
	ok := []*Pipeline{
		New("p", GoStep("s", nop).Catch("h"), GoStep("h", nop), GoStep("after", nop).After("s")),
		New("p", PassStep("cfg", 1), ChoiceStep("c", "b", Rule{Step: "cfg", Op: NumericEquals, Value: 1, Next: "a"}),
			PassStep("a", 1), PassStep("b", 2), PassStep("after-a", 3).After("a", "cfg")),
	}
	for i, p := range ok {
		if err := p.Validate(); err != nil {
			t.Errorf("%d: %v", i, err)
		}
	}
}

func TestValidNamesAccepted(t *testing.T) {
	for _, n := range []string{"a", "load-orders", "load_orders.v2", "étape", strings.Repeat("x", 80)} {
		if err := ValidateName("step", n); err != nil {
			t.Errorf("%q: %v", n, err)
		}
	}
}
