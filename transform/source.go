package transform

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"iter"
	"sort"
	"strings"

	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/zones"
	"github.com/lakekit/lakekit/zones/raw"
)

// Source is where a transform's input comes from: raw objects through a
// Decoder (FromRaw), or a typed zone dataset (FromDataset). A source lists
// its input cheaply — object listings or the dataset's commit log, never
// data — so that a run with nothing new reads no data file.
type Source[In any] interface {
	// String describes the source for logs and errors.
	String() string
	// plan returns the units of work not yet in the ledger.
	plan(ctx context.Context, l *Ledger, o planOptions) ([]*unit, error)
	// rows yields the records of a unit. A non-nil error ends the unit.
	rows(ctx context.Context, u *unit) iter.Seq2[Decoded[In], error]
}

type planOptions struct {
	// wholePartitions: a unit is a whole input partition, redone when any
	// of its files changed (OverwritePartitions).
	wholePartitions bool
	// filesPerUnit bounds the new files of one unit otherwise.
	filesPerUnit int
	// maxUnits bounds the units of one run (0: no bound).
	maxUnits int
	// stats receives what the plan saw besides its units (may be nil).
	stats *planStats
}

// planStats is what a plan reports besides its units.
type planStats struct {
	// unaccepted counts raw objects the layout accepts under no rule.
	unaccepted int
}

// unit is one unit of work: input files that become one output commit.
type unit struct {
	name      string
	partition lake.Partition
	partPath  string
	inputs    []InputFile
	files     []zones.DataFile // dataset input
	version   int64            // input dataset version
	// errorOutput marks the inputs that are a service's error output
	// (raw.ErrorOutput): their records go to quarantine.
	errorOutput map[string]bool
}

// group turns the new files of one partition into units of at most n files.
func group(partPath string, part lake.Partition, files []InputFile, n int, whole bool) []*unit {
	if whole {
		return []*unit{{name: "partition:" + partPath, partition: part, partPath: partPath, inputs: files}}
	}
	if n <= 0 {
		n = 1
	}
	var out []*unit
	for len(files) > 0 {
		k := min(n, len(files))
		chunk := files[:k]
		files = files[k:]
		name := "file:" + chunk[0].Key
		if len(chunk) > 1 {
			h := sha256.New()
			for _, f := range chunk {
				fmt.Fprintf(h, "%s\x00", f.Key)
			}
			name = fmt.Sprintf("files:%s+%d:%s", chunk[0].Key, len(chunk)-1, hex.EncodeToString(h.Sum(nil)[:8]))
		}
		out = append(out, &unit{name: name, partition: part, partPath: partPath, inputs: chunk})
	}
	return out
}

// rawSource reads objects landed in the raw zone for a source and dataset.
type rawSource[In any] struct {
	lk      *lake.Lake
	source  string
	dataset string
	dec     Decoder[In]
	layout  raw.Layout
}

// RawOption configures FromRaw; WithLayout makes one. The zero RawOption
// changes nothing.
type RawOption struct {
	layout raw.Layout
}

// WithLayout makes FromRaw read the raw objects in a layout other than
// lakekit's own: raw.FirehoseLayout (Amazon Data Firehose's delivery and
// error output), raw.DMSLayout (an AWS DMS S3 target: full load, then
// changes), raw.PlainLayout (any keys, as Transfer Family or DataSync
// write them), or a raw.Layout of your own.
func WithLayout(l raw.Layout) RawOption { return RawOption{layout: l} }

// FromRaw reads the objects in the raw zone under <source>/<dataset>/ that
// the layout accepts (lakekit's own by default — raw.Land and the ingestion
// buffer write <source>/<dataset>/ingest_date=YYYY-MM-DD/; see WithLayout
// for what AWS services write), in the layout's order, decompressing gzip
// and zstd objects and decoding them with dec. The input partition of an
// object is its ingest_date (the layout's ingest time). New objects, and
// objects whose ETag changed, are processed; the ledger remembers the rest.
// Objects the layout classifies as error output (Firehose's) are not
// decoded with dec: each record in them goes to the quarantine dataset with
// the service's error code. Objects no rule of the layout accepts are not
// read: they are logged and counted in Result.Unaccepted.
func FromRaw[In any](lk *lake.Lake, source, dataset string, dec Decoder[In], opts ...RawOption) Source[In] {
	var layout raw.Layout
	for _, o := range opts {
		if o.layout != nil {
			layout = o.layout
		}
	}
	return &rawSource[In]{lk: lk, source: source, dataset: dataset, dec: dec, layout: layout}
}

func (s *rawSource[In]) String() string { return "raw:" + s.source + "/" + s.dataset }

func (s *rawSource[In]) check() error {
	if s.lk == nil || s.dec == nil {
		return invalidf("FromRaw needs a lake and a decoder")
	}
	if err := lake.ValidateName(lake.KindSource, s.source); err != nil {
		return fmt.Errorf("transform: %w: %w", ErrInvalid, err)
	}
	if err := lake.ValidateName("dataset name", s.dataset); err != nil {
		return fmt.Errorf("transform: %w: %w", ErrInvalid, err)
	}
	return nil
}

// rawRun is a run of consecutive listed objects of one input partition.
type rawRun struct {
	part  string
	files []InputFile
}

func (s *rawSource[In]) plan(ctx context.Context, l *Ledger, o planOptions) ([]*unit, error) {
	// The layout's order is kept: units are made of consecutive objects of
	// one partition (for lakekit's layout, whose order is by ingest date,
	// that is all of a partition's objects).
	var runs []*rawRun
	byPart := map[string][]InputFile{}
	changed := map[string]bool{}
	errOut := map[string]bool{}
	lo := &raw.ListOptions{Layout: s.layout, SkipMetadata: true, OnSkip: func(obj raw.Landed) {
		if obj.Kind == raw.Unaccepted && o.stats != nil {
			o.stats.unaccepted++
		}
	}}
	for obj, err := range raw.List(ctx, s.lk, s.source, s.dataset, lo) {
		if err != nil {
			return nil, err
		}
		p := "ingest_date=" + obj.IngestDate
		f := InputFile{Key: obj.Key, Size: obj.Size, ETag: obj.ETag}
		if obj.Kind == raw.ErrorOutput {
			errOut[obj.Key] = true
		}
		if n := len(runs); n == 0 || runs[n-1].part != p {
			runs = append(runs, &rawRun{part: p})
		}
		runs[len(runs)-1].files = append(runs[len(runs)-1].files, f)
		byPart[p] = append(byPart[p], f)
		if !l.Consumed(f) {
			changed[p] = true
		}
	}
	var units []*unit
	add := func(us []*unit) {
		for _, u := range us {
			for _, f := range u.inputs {
				if errOut[f.Key] {
					if u.errorOutput == nil {
						u.errorOutput = map[string]bool{}
					}
					u.errorOutput[f.Key] = true
				}
			}
		}
		units = append(units, us...)
	}
	done := map[string]bool{}
	for _, r := range runs {
		p := r.part
		if !changed[p] {
			continue
		}
		part, err := lake.ParsePartitionPath(p)
		if err != nil {
			return nil, err
		}
		if o.wholePartitions {
			// a whole partition is one unit, however its objects are spread
			if done[p] || l.partitionDone("partition:"+p, byPart[p]) {
				continue
			}
			done[p] = true
			add(group(p, part, byPart[p], 0, true))
		} else {
			var fresh []InputFile
			for _, f := range r.files {
				if !l.Consumed(f) {
					fresh = append(fresh, f)
				}
			}
			add(group(p, part, fresh, o.filesPerUnit, false))
		}
		if o.maxUnits > 0 && len(units) >= o.maxUnits {
			return units[:o.maxUnits], nil
		}
	}
	return units, nil
}

func (s *rawSource[In]) rows(ctx context.Context, u *unit) iter.Seq2[Decoded[In], error] {
	return func(yield func(Decoded[In], error) bool) {
		store := s.lk.MustZone(lake.Raw).Store()
		for _, f := range u.inputs {
			rc, err := store.Get(ctx, f.Key)
			if err != nil {
				yield(Decoded[In]{}, err)
				return
			}
			dr, err := Decompress(rc)
			if err != nil {
				rc.Close()
				yield(Decoded[In]{}, fmt.Errorf("transform: %s: %w", f.Key, err))
				return
			}
			records := s.dec.Decode(ctx, dr, f.Key)
			if u.errorOutput[f.Key] {
				records = errorOutputRecords[In](dr, f.Key)
			}
			stop := false
			for d, err := range records {
				if !yield(d, err) || err != nil {
					stop = true
					break
				}
			}
			dr.Close()
			rc.Close()
			if stop {
				return
			}
		}
	}
}

// errorOutputRecords yields the records of a Firehose error output object
// as failed records: the record as the producer sent it, and the error
// code and message as the reason it is quarantined.
func errorOutputRecords[In any](r io.Reader, key string) iter.Seq2[Decoded[In], error] {
	return func(yield func(Decoded[In], error) bool) {
		for e, err := range raw.ReadFirehoseErrors(r) {
			if err != nil {
				yield(Decoded[In]{}, fmt.Errorf("transform: %s: %w", key, err))
				return
			}
			d := Decoded[In]{Record: Record{Source: key, Offset: e.Offset, Raw: e.RawData},
				Err: fmt.Errorf("Firehose error output: %s: %s: %w", e.ErrorCode, e.ErrorMessage, ErrDecode)}
			if !yield(d, nil) {
				return
			}
		}
	}
}

// datasetSource reads a typed dataset's data files.
type datasetSource[In any] struct {
	ds *zones.Dataset[In]
}

// FromDataset reads the rows of a zone dataset. Its data files are the
// input files of the ledger: a file not consumed yet is new input. With
// OverwritePartitions a unit is a whole input partition, redone when its
// set of files changed (an upstream overwrite replaced them).
func FromDataset[In any](ds *zones.Dataset[In]) Source[In] { return &datasetSource[In]{ds: ds} }

func (s *datasetSource[In]) String() string {
	t := s.ds.Table()
	return string(t.Zone().Name()) + ":" + t.Prefix()
}

func (s *datasetSource[In]) plan(ctx context.Context, l *Ledger, o planOptions) ([]*unit, error) {
	snap, err := s.ds.Snapshot(ctx, 0)
	if err != nil {
		if isNoTable(err) {
			return nil, nil
		}
		return nil, err
	}
	byPart := map[string][]zones.DataFile{}
	var parts []string
	for _, f := range snap.Files {
		p := partitionPath(f.Partition)
		if _, ok := byPart[p]; !ok {
			parts = append(parts, p)
		}
		byPart[p] = append(byPart[p], f)
	}
	sort.Strings(parts)
	var units []*unit
	for _, p := range parts {
		files := byPart[p]
		inputs := make([]InputFile, len(files))
		for i, f := range files {
			inputs[i] = InputFile{Key: f.Key, Size: f.Size}
		}
		if o.wholePartitions {
			if l.partitionDone("partition:"+p, inputs) {
				continue
			}
			u := group(p, files[0].Partition, inputs, 0, true)[0]
			u.files, u.version = files, snap.Version
			units = append(units, u)
		} else {
			var fresh []InputFile
			fileOf := map[string]zones.DataFile{}
			for i, f := range inputs {
				if !l.Consumed(f) {
					fresh = append(fresh, f)
					fileOf[f.Key] = files[i]
				}
			}
			for _, u := range group(p, files[0].Partition, fresh, o.filesPerUnit, false) {
				for _, in := range u.inputs {
					u.files = append(u.files, fileOf[in.Key])
				}
				u.version = snap.Version
				units = append(units, u)
			}
		}
		if o.maxUnits > 0 && len(units) >= o.maxUnits {
			return units[:o.maxUnits], nil
		}
	}
	return units, nil
}

func (s *datasetSource[In]) rows(ctx context.Context, u *unit) iter.Seq2[Decoded[In], error] {
	return func(yield func(Decoded[In], error) bool) {
		for _, f := range u.files {
			var i int64
			for row, err := range readFile(ctx, s.ds, u.version, f) {
				if err != nil {
					yield(Decoded[In]{}, err)
					return
				}
				if !yield(Decoded[In]{Row: row, Record: Record{Source: f.Key, Offset: i}}, nil) {
					return
				}
				i++
			}
		}
	}
}

// partitionPath renders a partition as its Hive path ("" for none).
func partitionPath(p lake.Partition) string {
	if len(p) == 0 {
		return ""
	}
	segs := make([]string, len(p))
	for i, kv := range p {
		segs[i] = kv.Key + "=" + lake.EscapePartitionValue(kv.Value)
	}
	return strings.Join(segs, "/")
}
