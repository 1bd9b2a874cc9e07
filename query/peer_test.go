package query_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lakekit/lakekit/query"
	"github.com/lakekit/lakekit/query/enginetest"
)

// The AWS peers answer by running the statement they receive, so the
// conformance suite fails when an engine sends a wrong statement or a
// wrong parameter: the same case with another parameter answers other
// rows, and a misspelt table fails the execution with ErrQueryFailed.
func TestPeersAnswerByRunningTheStatement(t *testing.T) {
	var bound enginetest.Case
	for _, c := range enginetest.Cases() {
		if c.Name == "bound_filter" {
			bound = c
		}
	}
	if len(bound.Params) != 2 || len(bound.Rows) == 0 {
		t.Fatalf("the suite's bound_filter case changed: %+v", bound)
	}
	engines := map[string]func(t *testing.T) query.Engine{
		"athena": func(t *testing.T) query.Engine {
			p := enginetest.StartAthena(t)
			p.Statements = enginetest.OpenOrdersDB(t)
			return newAthena(t, p, nil)
		},
		"redshift": func(t *testing.T) query.Engine {
			f := enginetest.StartRedshift(t)
			f.Answer = enginetest.RedshiftAnswer(t)
			return newRedshift(t, f, nil)
		},
	}
	for name, open := range engines {
		t.Run(name, func(t *testing.T) {
			e := open(t)
			ctx := context.Background()
			rows := func(params ...any) [][]any {
				t.Helper()
				res, err := e.Query(ctx, bound.SQL, params...)
				if err != nil {
					t.Fatal(err)
				}
				defer res.Close()
				got, err := res.All()
				if err != nil {
					t.Fatal(err)
				}
				return got
			}
			if got := rows(bound.Params...); !cmp.Equal(got, bound.Rows) {
				t.Fatalf("the right parameters: rows (-want +got):\n%s", cmp.Diff(bound.Rows, got))
			}
			if got := rows("us", bound.Params[1]); len(got) == 0 || cmp.Equal(got, bound.Rows) {
				t.Fatalf("another region answered %d rows, the same as the case's: the peer does not run the statement", len(got))
			}
			_, err := e.Query(ctx, `SELECT count(*) AS n FROM shop.orderz`)
			if !errors.Is(err, query.ErrQueryFailed) {
				t.Fatalf("a misspelt table: err = %v, want query.ErrQueryFailed", err)
			}
		})
	}
}
