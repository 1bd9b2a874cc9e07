package transform

import (
	"encoding/json"
	"time"

	"github.com/lakekit/lakekit/zones"
)

// QuarantineSuffix ends the name of a transform's quarantine table: the
// rejects of a transform writing db.orders go to db.orders_quarantine in the
// same zone.
const QuarantineSuffix = "_quarantine"

// Quarantine is one rejected input record, as stored in the quarantine
// dataset: what it was, where it came from and why it was rejected. Nothing
// a transform reads is lost: every input record ends up either in the
// output (or deliberately skipped) or here.
type Quarantine struct {
	// Transform is the name of the transform that rejected the record.
	Transform string `parquet:"transform" json:"transform"`
	// Source is the raw object key or input data file key.
	Source string `parquet:"source" json:"source"`
	// Partition is the input partition's Hive path ("" for none).
	Partition string `parquet:"partition" json:"partition"`
	// Offset is the byte offset of the record in the decompressed source,
	// or the row's index in a data file.
	Offset int64 `parquet:"offset" json:"offset"`
	// Line is the 1-based line number (0 for data file rows).
	Line int64 `parquet:"line" json:"line"`
	// Record holds the record's bytes as they arrived (a data file row is
	// rendered as JSON).
	Record string `parquet:"record" json:"record"`
	// Rule is what rejected it: "decode", "required", "range", "regexp",
	// "enum", "custom", a RowCheck's name, or "map" for an error of the
	// transform's row function.
	Rule string `parquet:"rule" json:"rule"`
	// Field is the field the rule checked, if any.
	Field string `parquet:"field" json:"field"`
	// Reason says what was wrong.
	Reason string `parquet:"reason" json:"reason"`
	// RejectedAt is when the transform rejected it.
	RejectedAt time.Time `parquet:"rejected_at,timestamp(microsecond)" json:"rejected_at"`
}

// QuarantineDataset returns the quarantine dataset of a transform writing
// to out: <out table>_quarantine in out's zone and database, unpartitioned.
func QuarantineDataset[T any](out *zones.Dataset[T]) (*zones.Dataset[Quarantine], error) {
	t := out.Table()
	return zones.NewDataset[Quarantine](t.Zone().Lake(), t.Zone().Name(), t.Database(), t.Name()+QuarantineSuffix, nil)
}

func quarantineOf(name string, rec Record, partPath string, row any, rule, field, reason string, at time.Time) Quarantine {
	raw := string(rec.Raw)
	if rec.Raw == nil && row != nil {
		if b, err := json.Marshal(row); err == nil {
			raw = string(b)
		}
	}
	return Quarantine{Transform: name, Source: rec.Source, Partition: partPath, Offset: rec.Offset, Line: rec.Line,
		Record: raw, Rule: rule, Field: field, Reason: reason, RejectedAt: at}
}
