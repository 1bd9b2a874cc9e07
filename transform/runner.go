package transform

import "context"

// Runner is what every transform of this package is — a *Transform, a
// *Merger and a *SQLTransform, whatever their row types — so transforms
// can be kept in one slice, run in order, or handed to code that schedules
// them (an orchestrate step, a worker) without knowing their types:
//
//	steps := []transform.Runner{clean, curate, daily}
//	for _, s := range steps {
//		res, err := s.Run(ctx)
//		...
//	}
//
// Run's error says what is committed (see Transform.Run): all the work is
// committed and in the ledger when it is nil, and also when it wraps
// zones.ErrCatalog (then only the catalog lags).
type Runner interface {
	// Name is the transform's name, which keys its ledger.
	Name() string
	// Run processes the input not yet in the ledger.
	Run(ctx context.Context) (*Result, error)
}

var (
	_ Runner = (*Transform[struct{}, struct{}])(nil)
	_ Runner = (*Merger[struct{}, struct{}, int, int])(nil)
	_ Runner = (*SQLTransform[struct{}])(nil)
)
