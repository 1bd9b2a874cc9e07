package codeshape

// allowLong lists the functions known to be over MaxFunctionLines, as
// "file FuncName" (Recv.Name for methods) with the reason each is still
// long. It may only shrink: TestNoLongFunctions fails on a new long
// function and on an entry that is no longer long, so whoever splits one
// removes its line here.
var allowLong = map[string]string{
	// files other engineers own and are changing now (issue 27)
	"examples/cdc/main.go run":             "examples: owned by the examples work",
	"examples/ingest-services/main.go run": "examples: owned by the examples work",
	"examples/partner-files/main.go run":   "examples: owned by the examples work",
	"examples/quickstart/main.go run":      "examples: owned by the examples work",
	"examples/stepfunctions/main.go run":   "examples: owned by the examples work",
	// the benchmark harness
	"internal/bench/glue.go glueCalls10kPartitions":          "internal/bench: being changed by another engineer",
	"internal/bench/jsontransform.go transformJSONToParquet": "internal/bench: being changed by another engineer",
	"internal/bench/harness.go run":                          "internal/bench: being changed by another engineer",
	"internal/bench/query.go queryVsReadParquet":             "internal/bench: being changed by another engineer",
	"internal/bench/s3.go s3GetsPerProjectedRead":            "internal/bench: being changed by another engineer",
	"internal/bench/transform.go transformRerunReads":        "internal/bench: being changed by another engineer",
}
