package orchestrate

import (
	"context"
	"sync"

	"github.com/aws/smithy-go/middleware"
)

var countMu sync.Mutex

// countCalls is an SDK middleware counting calls of one operation.
func countCalls(op string, n *int) func(*middleware.Stack) error {
	return func(st *middleware.Stack) error {
		return st.Initialize.Add(middleware.InitializeMiddlewareFunc("countCalls", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			if middleware.GetOperationName(ctx) == op {
				countMu.Lock()
				*n++
				countMu.Unlock()
			}
			return next.HandleInitialize(ctx, in)
		}), middleware.After)
	}
}
