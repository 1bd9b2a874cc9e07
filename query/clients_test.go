package query_test

import (
	"errors"
	"testing"

	"github.com/lakekit/lakekit/query"
)

// TestNewFromClientRefusesNil: the constructors over a client refuse a nil
// one with ErrInvalid instead of failing at the first query.
func TestNewFromClientRefusesNil(t *testing.T) {
	if a, err := query.NewAthenaFromClient(nil, nil); a != nil || !errors.Is(err, query.ErrInvalid) {
		t.Errorf("NewAthenaFromClient(nil, nil) = %v, %v; want ErrInvalid", a, err)
	}
	opts := &query.RedshiftOptions{Database: "dev", WorkgroupName: "wg"}
	if r, err := query.NewRedshiftFromClient(nil, opts); r != nil || !errors.Is(err, query.ErrInvalid) {
		t.Errorf("NewRedshiftFromClient(nil, ...) = %v, %v; want ErrInvalid", r, err)
	}
}
