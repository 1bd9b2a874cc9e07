package catalog

import (
	"context"
	"errors"
	"iter"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/glue"
	"github.com/aws/aws-sdk-go-v2/service/glue/types"
)

// searchUnsupported reports whether err says the service cannot run
// SearchTables: an HTTP 500/501 or an unknown-operation error (moto 5.2.1
// answers 500).
func searchUnsupported(err error) bool {
	var re *awshttp.ResponseError
	if errors.As(err, &re) && (re.HTTPStatusCode() == 500 || re.HTTPStatusCode() == 501) {
		return true
	}
	switch apiCode(err) {
	case "UnknownOperationException", "NotImplemented", "InternalFailure", "InternalServerError":
		return true
	}
	return false
}

// Search implements Catalog. It lists candidate tables with Glue's
// SearchTables (filtered by database when the query names one) and keeps
// those matching every field of q exactly as MatchSearch defines. Where
// the service does not support SearchTables (moto answers HTTP 500) it
// falls back, once and for the catalog's lifetime, to GetDatabases and
// GetTables.
func (g *Glue) Search(ctx context.Context, q SearchQuery) iter.Seq2[*Table, error] {
	return func(yield func(*Table, error) bool) {
		ts, err := g.searchCandidates(ctx, q)
		if err != nil {
			yield(nil, err)
			return
		}
		for _, t := range ts {
			if MatchSearch(q, t) && !yield(t, nil) {
				return
			}
		}
	}
}

func (g *Glue) searchCandidates(ctx context.Context, q SearchQuery) ([]*Table, error) {
	if !g.noSrch.Load() {
		in := &glue.SearchTablesInput{CatalogId: g.catalogID()}
		if q.Database != "" {
			in.Filters = []types.PropertyPredicate{{Key: aws.String("DatabaseName"), Value: aws.String(q.Database), Comparator: types.ComparatorEquals}}
		}
		var ts []*Table
		p := glue.NewSearchTablesPaginator(g.c, in)
		var err error
		for p.HasMorePages() {
			var page *glue.SearchTablesOutput
			page, err = p.NextPage(ctx, func(o *glue.Options) { o.RetryMaxAttempts = 1 })
			if err != nil {
				break
			}
			for i := range page.TableList {
				ts = append(ts, fromGlueTable(&page.TableList[i]))
			}
		}
		if err == nil {
			slices.SortFunc(ts, func(a, b *Table) int {
				return strings.Compare(a.Database+"."+a.Name, b.Database+"."+b.Name)
			})
			return ts, nil
		}
		if !searchUnsupported(err) {
			return nil, glueErr(err, "search tables", nil)
		}
		g.noSrch.Store(true)
	}
	var dbs []string
	if q.Database != "" {
		dbs = []string{q.Database}
	} else {
		for d, err := range g.ListDatabases(ctx) {
			if err != nil {
				return nil, err
			}
			dbs = append(dbs, d.Name)
		}
	}
	var ts []*Table
	for _, d := range dbs {
		dts, err := g.tables(ctx, d)
		if err != nil {
			if q.Database == "" && errors.Is(err, ErrNoSuchDatabase) {
				continue // deleted meanwhile
			}
			return nil, err
		}
		ts = append(ts, dts...)
	}
	return ts, nil
}
