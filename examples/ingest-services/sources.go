// Where each transform reads: the raw dataset, in its service's layout.

package main

import (
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/transform"
	"github.com/lakekit/lakekit/zones/raw"
)

// clickSource reads raw/web/clicks/ in Firehose's layout, where the
// rendered set-up (raw.RenderFirehose) has Firehose deliver: the objects
// (gzip, JSON records concatenated without a delimiter, which JSONLines
// splits), read by the time in their names, and the error output under
// errors/, whose records go to quarantine with Firehose's error code.
func clickSource(lk *lake.Lake) transform.Source[RawClick] {
	return transform.FromRaw(lk, ClickSource, ClickDataset, transform.JSONLines[RawClick](nil),
		transform.WithLayout(&raw.FirehoseLayout{}))
}

// changeSource reads raw/crm/customers/ in DMS's layout, where the
// rendered endpoint settings (raw.RenderDMS) have DMS write: the table's
// full load in counter order, then its change files in time order, never
// a change file before the full load.
func changeSource(lk *lake.Lake) transform.Source[Change] {
	return transform.FromRaw(lk, DMSSource, DMSDataset, transform.CSV[Change](nil),
		transform.WithLayout(&raw.DMSLayout{Schema: SourceSchema, Table: SourceTable}))
}
