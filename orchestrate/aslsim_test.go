package orchestrate

import "encoding/json"

// aslDef and aslState decode the parts of a compiled definition the
// fidelity tests read.
type aslDef struct {
	StartAt string
	States  map[string]aslState
}

type aslRetrier struct {
	ErrorEquals     []string
	IntervalSeconds int
	MaxAttempts     int
	BackoffRate     float64
}

type aslState struct {
	Type           string
	Resource       string
	Next           string
	End            bool
	Parameters     map[string]any
	ResultSelector map[string]any
	ResultPath     *string
	OutputPath     *string
	ItemsPath      string
	ItemSelector   map[string]any
	ItemProcessor  *aslDef
	Branches       []aslDef
	Choices        []map[string]any
	Default        string
	Retry          []aslRetrier
	Catch          []map[string]any
	Raw            json.RawMessage `json:"-"`
}
