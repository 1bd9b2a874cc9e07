package transform

import (
	"context"
	"errors"
	"fmt"

	"github.com/lakekit/lakekit/zones"
)

// fanOutOutputs decides where a batch's output files go. An output
// partition the table does not have yet, and every partition of a replay
// (its commit overwrites them), is written into the plan's generation
// folder of the output table, "<table>/_fanout-<plan>/<partition>/": the
// commit (zones.Dataset.AddFiles) makes that folder the partition's
// location, so nothing is moved or copied, however many units the plan
// has. Output for a partition the table already has goes to the table's
// staging folder, which AddFiles takes over and the commit moves into the
// partition's folder (one rename or server-side copy per file). Either way
// the folder is hidden from engines reading the table until the commit.
type fanOutOutputs struct {
	prefix string // the output table's prefix
	plan   string
	replay bool
	exists map[string]bool // partition paths the output table had when the batch began
}

// outputs reads what the batch needs to place its files: the plan (is it
// a replay?) and the output table's partitions.
func (f *FanOut[In, Out]) outputs(ctx context.Context, id string) (*fanOutOutputs, error) {
	p, err := f.LoadPlan(ctx, id)
	if err != nil {
		return nil, err
	}
	tb := f.t.out.Table()
	o := &fanOutOutputs{prefix: tb.Prefix(), plan: id, replay: p.Replay != nil, exists: map[string]bool{}}
	snap, err := tb.Snapshot(ctx, 0)
	switch {
	case errors.Is(err, zones.ErrNoSuchTable):
	case err != nil:
		return nil, fmt.Errorf("transform %s: fan-out plan %s: the output table: %w", f.t.name, id, err)
	default:
		for pp := range snap.Locations {
			o.exists[pp] = true
		}
	}
	return o, nil
}

// generationName is the name of a plan's generation folder.
func generationName(plan string) string { return "_fanout-" + plan }

// key is where a unit's output file name of partition path pp ("" when
// the output table is unpartitioned) goes; staging is the unit's folder
// in the staging area.
func (o *fanOutOutputs) key(staging, pp, name string) string {
	if pp != "" && (o.replay || !o.exists[pp]) {
		return zones.GenerationFolder(o.prefix, generationName(o.plan), pp) + "/" + name
	}
	if pp != "" {
		return staging + pp + "/" + name
	}
	return staging + name
}

// outputPrefixes are the folders the plan's workers write under: the
// staging folder and the generation folder.
func (f *FanOut[In, Out]) outputPrefixes(id string) []string {
	return []string{f.stagingPrefix(id), f.t.out.Table().Prefix() + "/" + generationName(id) + "/"}
}
