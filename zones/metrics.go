package zones

import (
	"context"
	"errors"

	"github.com/parquet-go/parquet-go/format"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/lakekit/lakekit/lake"
)

// MetricScope is the OpenTelemetry instrumentation scope of this package's
// instruments.
const MetricScope = "github.com/lakekit/lakekit/zones"

// Names of this package's instruments (lake.Options.MeterProvider). No
// OpenTelemetry semantic convention covers table commits, so all are
// lakekit.*; attributes are lakekit.zone, lakekit.table
// ("<database>.<table>") and, on failures, the semantic-convention
// error.type.
const (
	// MetricCommits counts commit calls, by lakekit.commit.outcome:
	// "committed", "duplicate" (an idempotency key seen before) or
	// "failed" (with error.type).
	MetricCommits = "lakekit.commits"
	// MetricCommitRetries counts commit attempts after the first (another
	// writer took the version, or the store throttled).
	MetricCommitRetries = "lakekit.commit.retries"
	// MetricCommitConflicts counts commits refused with ErrConflict.
	MetricCommitConflicts = "lakekit.commit.conflicts"
	// MetricRowsWritten, MetricBytesWritten and MetricFilesWritten count
	// what new commits added (duplicates add nothing).
	MetricRowsWritten  = "lakekit.rows.written"
	MetricBytesWritten = "lakekit.bytes.written"
	MetricFilesWritten = "lakekit.files.written"
	// MetricRowsRead and MetricBytesRead count rows decoded from data files
	// (before row-level predicate filtering) and the compressed bytes of
	// the column chunks read for them.
	MetricRowsRead  = "lakekit.rows.read"
	MetricBytesRead = "lakekit.bytes.read"
	// MetricFilesRead counts data files opened by reads (files pruned by
	// partition are not opened; a file whose row groups statistics skip
	// is).
	MetricFilesRead = "lakekit.files.read"
)

type instruments struct {
	commits, retries, conflicts         metric.Int64Counter
	rowsWritten, bytesWritten, filesOut metric.Int64Counter
	rowsRead, bytesRead, filesIn        metric.Int64Counter
}

// instrumentsOf returns the lake's instruments of this package, nil when the
// lake records no metrics.
func instrumentsOf(lk *lake.Lake) *instruments {
	if !lk.MetricsEnabled() {
		return nil
	}
	s, _ := lk.Instruments(MetricScope, func(m metric.Meter) (any, error) {
		var in instruments
		var errs []error
		counter := func(dst *metric.Int64Counter, name, unit, desc string) {
			c, err := m.Int64Counter(name, metric.WithUnit(unit), metric.WithDescription(desc))
			*dst = c
			errs = append(errs, err)
		}
		counter(&in.commits, MetricCommits, "{commit}", "Table commits, by outcome.")
		counter(&in.retries, MetricCommitRetries, "{attempt}", "Commit attempts after the first.")
		counter(&in.conflicts, MetricCommitConflicts, "{commit}", "Commits refused as conflicting.")
		counter(&in.rowsWritten, MetricRowsWritten, "{row}", "Rows added by commits.")
		counter(&in.bytesWritten, MetricBytesWritten, "By", "Data file bytes added by commits.")
		counter(&in.filesOut, MetricFilesWritten, "{file}", "Data files added by commits.")
		counter(&in.rowsRead, MetricRowsRead, "{row}", "Rows decoded from data files.")
		counter(&in.bytesRead, MetricBytesRead, "By", "Compressed column chunk bytes read from data files.")
		counter(&in.filesIn, MetricFilesRead, "{file}", "Data files opened by reads.")
		return &in, errors.Join(errs...)
	})
	in, _ := s.(*instruments)
	return in
}

func (t *Table) metricAttrs(extra ...attribute.KeyValue) metric.MeasurementOption {
	return metric.WithAttributes(append([]attribute.KeyValue{
		attribute.String("lakekit.zone", string(t.zone.Name())),
		attribute.String("lakekit.table", t.database+"."+t.name),
	}, extra...)...)
}

// recordCommit records the outcome of Tx.commit.
func (t *Table) recordCommit(ctx context.Context, res *CommitResult, err error) {
	in := instrumentsOf(t.lk)
	if in == nil {
		return
	}
	switch {
	case res == nil:
		in.commits.Add(ctx, 1, t.metricAttrs(attribute.String("lakekit.commit.outcome", "failed"), attribute.String("error.type", errorType(err))))
		if errors.Is(err, ErrConflict) {
			in.conflicts.Add(ctx, 1, t.metricAttrs())
		}
		return
	case res.Duplicate:
		in.commits.Add(ctx, 1, t.metricAttrs(attribute.String("lakekit.commit.outcome", "duplicate")))
	default:
		attrs := t.metricAttrs()
		in.commits.Add(ctx, 1, t.metricAttrs(attribute.String("lakekit.commit.outcome", "committed")))
		in.rowsWritten.Add(ctx, res.Rows, attrs)
		in.bytesWritten.Add(ctx, res.Bytes, attrs)
		in.filesOut.Add(ctx, int64(len(res.Files)), attrs)
	}
	if res.Attempts > 1 {
		in.retries.Add(ctx, int64(res.Attempts-1), t.metricAttrs())
	}
}

// recordRead records one row group read of the columns in needed.
func (t *Table) recordRead(ctx context.Context, rg format.RowGroup, needed map[string]bool) {
	in := instrumentsOf(t.lk)
	if in == nil {
		return
	}
	var bytes int64
	for _, cc := range rg.Columns {
		if len(cc.MetaData.PathInSchema) > 0 && needed[cc.MetaData.PathInSchema[0]] {
			bytes += cc.MetaData.TotalCompressedSize
		}
	}
	attrs := t.metricAttrs()
	in.rowsRead.Add(ctx, rg.NumRows, attrs)
	in.bytesRead.Add(ctx, bytes, attrs)
}

// recordFileRead records one data file opened by a read.
func (t *Table) recordFileRead(ctx context.Context) {
	if in := instrumentsOf(t.lk); in != nil {
		in.filesIn.Add(ctx, 1, t.metricAttrs())
	}
}

// errorType names an error for the error.type attribute: the package
// sentinel it matches, else "other".
func errorType(err error) string {
	for _, s := range []struct {
		err  error
		name string
	}{
		{ErrConflict, "conflict"},
		{ErrTooManyAttempts, "too_many_attempts"},
		{ErrCommitUnknown, "commit_unknown"},
		{context.Canceled, "canceled"},
		{context.DeadlineExceeded, "timeout"},
	} {
		if errors.Is(err, s.err) {
			return s.name
		}
	}
	return "other"
}
