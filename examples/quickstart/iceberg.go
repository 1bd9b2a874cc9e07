// -format iceberg: the curated page views also as an Apache Iceberg table,
// written through the same zones.Dataset API with Options.Format set, and
// queried with DuckDB as a view over the Iceberg snapshot's data files.

package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"time"

	icecatalog "github.com/apache/iceberg-go/catalog"

	"github.com/lakekit/lakekit/iceberg"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/query"
	"github.com/lakekit/lakekit/query/duckdb"
	"github.com/lakekit/lakekit/zones"
)

// IcebergTable is the curated page views as Iceberg (web.page_views_iceberg).
const IcebergTable = "page_views_iceberg"

// IcebergSummary is the Iceberg part of the summary.
type IcebergSummary struct {
	Table    string `json:"table"`
	Snapshot int64  `json:"snapshot"`
	Rows     int64  `json:"rows"`
	Files    int    `json:"files"`
	// Metadata is the current metadata file (Glue's metadata_location).
	Metadata string `json:"metadata"`
	// SameReport: the report query gives the same rows on the Iceberg
	// table as on web.page_views.
	SameReport bool `json:"same_report"`
}

// icebergCatalog is the Iceberg catalog for the lake: a local one in the
// lake's iceberg/ folder for a lake on disk, AWS Glue (files in the lake's
// bucket) with -catalog glue. Other combinations are refused before any
// work.
func icebergCatalog(ctx context.Context, lk *lake.Lake, catKind string) (icecatalog.Catalog, error) {
	var root string
	switch {
	case catKind == "glue":
		cfg, err := awsConfig(ctx)
		if err != nil {
			return nil, err
		}
		ep := os.Getenv("AWS_ENDPOINT_URL_S3")
		if ep == "" {
			ep = os.Getenv("AWS_ENDPOINT_URL")
		}
		return iceberg.GlueCatalog(cfg, &iceberg.GlueOptions{S3Endpoint: ep})
	case lk.Store().As(&root):
		return iceberg.LocalCatalog(filepath.Join(root, "iceberg"))
	}
	return nil, usagef("-format iceberg needs a lake on disk (local catalog) or -catalog glue")
}

// curateIceberg writes every cleaned click as a page view into the Iceberg
// table (one overwrite snapshot, so it matches web.page_views after every
// run), shows it to DuckDB and runs the report on it.
func curateIceberg(ctx context.Context, env *Env, icat icecatalog.Catalog, eng *duckdb.Engine, hive []DayRow, stdout io.Writer) (*IcebergSummary, error) {
	t0 := time.Now()
	ds, err := zones.NewDataset(env.Lake, lake.Curated, Database, IcebergTable,
		&zones.Options[PageView]{Format: iceberg.Format[PageView](icat, nil)})
	if err != nil {
		return nil, err
	}
	w, err := ds.NewWriter(ctx, &zones.WriterOptions{Mode: zones.Overwrite})
	if err != nil {
		return nil, err
	}
	views := make([]PageView, 0, 4096)
	err = env.Cleaned.ReadBatches(ctx, nil, func(clicks []Click) error {
		views = views[:0]
		for _, c := range clicks {
			v, err := pageView(ctx, c)
			if err != nil {
				return err
			}
			views = append(views, v)
		}
		return w.Write(ctx, views)
	})
	if err != nil {
		w.Abort(ctx)
		return nil, err
	}
	res, err := w.Commit(ctx)
	if err != nil {
		return nil, err
	}
	_, ft := ds.Format()
	dt := ft.(*iceberg.DatasetTable[PageView])
	tbl, err := dt.Table(ctx)
	if err != nil {
		return nil, err
	}
	it, err := tbl.Iceberg(ctx)
	if err != nil {
		return nil, err
	}
	snap, err := ds.Snapshot(ctx, 0)
	if err != nil {
		return nil, err
	}
	s := &IcebergSummary{Table: Database + "." + IcebergTable, Snapshot: res.Version, Rows: snap.Rows(), Files: len(snap.Files), Metadata: it.MetadataLocation()}
	fmt.Fprintf(stdout, "iceberg    %s rows → curated %s (Iceberg snapshot %d, %d files) in %s (%s)\n",
		fmtCount(s.Rows), s.Table, s.Snapshot, s.Files, fmtSeconds(time.Since(t0)), fmtRate(s.Rows, time.Since(t0)))

	t0 = time.Now()
	if err := eng.Attach(ctx, Database, IcebergTable, dt, 0); err != nil {
		return nil, err
	}
	days, err := query.All[DayRow](ctx, eng, strings.Replace(reportSQL, "FROM web.page_views ", "FROM web."+IcebergTable+" ", 1))
	if err != nil {
		return nil, fmt.Errorf("report query on Iceberg: %w", err)
	}
	s.SameReport = reflect.DeepEqual(days, hive)
	fmt.Fprintf(stdout, "query      %d rows from %s on DuckDB in %s; same as from web.page_views: %v\n",
		len(days), s.Table, fmtSeconds(time.Since(t0)), s.SameReport)
	return s, nil
}
