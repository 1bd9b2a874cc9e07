package raw

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Kind is what a Layout makes of one object under a raw dataset's prefix.
type Kind int

// The kinds of raw objects.
const (
	// Input is data for the processing layer.
	Input Kind = iota
	// ErrorOutput is a service's error output: records the service could
	// not deliver, which a transform sends to its quarantine dataset
	// (Firehose's error output prefix; see ReadFirehoseErrors).
	ErrorOutput
	// Ignored is an object the layout knows and that is not input:
	// folder markers, manifests, temporary objects.
	Ignored
	// Unaccepted is an object no rule of the layout accepts: List reports
	// it (ListOptions.OnSkip, and a warning in the log), never skips it
	// in silence; transforms count it in Result.Unaccepted.
	Unaccepted
	// Held is input the layout does not release yet (a DMS change file of
	// a table whose full load is not there): List reports it and yields
	// it on a later listing once its precondition holds.
	Held
)

func (k Kind) String() string {
	switch k {
	case Input:
		return "input"
	case ErrorOutput:
		return "error output"
	case Ignored:
		return "ignored"
	case Unaccepted:
		return "unaccepted"
	case Held:
		return "held"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// A Layout says which objects under a raw dataset's prefix
// (<source>/<dataset>/ in the raw zone) are input, in what order they are
// read, with what ingest time and partition, and which are not input. The
// built-in layouts are LakekitLayout (what Land and Buffer write; the
// default), FirehoseLayout, DMSLayout and PlainLayout.
//
// List calls Classify once per listed object, then Arrange once with the
// objects classified Input or ErrorOutput.
type Layout interface {
	// Name identifies the layout in logs and errors.
	Name() string
	// Classify says what the object is. rel is its key relative to the
	// dataset's prefix; l holds what the listing knows (Key, Size, ETag,
	// ModTime). For Input and ErrorOutput, Classify sets l.IngestTime,
	// l.IngestDate (YYYY-MM-DD, the object's input partition) and
	// l.Partition where the key tells them.
	Classify(rel string, l *Landed) Kind
	// Arrange sorts the input into the order it must be read in and
	// returns the objects it holds back (Held) for now, removed from the
	// slice it returns first.
	Arrange(objs []Landed) (input, held []Landed)
}

// defaultLayout is the layout of a nil ListOptions.Layout.
var defaultLayout Layout = LakekitLayout{}

// setTime sets an object's ingest time and its ingest_date partition.
func setTime(l *Landed, t time.Time) {
	l.IngestTime = t
	l.IngestDate = t.UTC().Format(IngestDateLayout)
}

// byTimeThenKey orders objects by ingest time, then key.
func byTimeThenKey(a, b Landed) int {
	if c := a.IngestTime.Compare(b.IngestTime); c != 0 {
		return c
	}
	return strings.Compare(a.Key, b.Key)
}

// LakekitLayout is the layout Land and Buffer write:
// <source>/<dataset>/ingest_date=YYYY-MM-DD/<object name>, read by ingest
// date, then by object name (which for generated names is the ingest
// time). Any other key is Unaccepted.
type LakekitLayout struct{}

// Name returns "lakekit".
func (LakekitLayout) Name() string { return "lakekit" }

// Classify accepts ingest_date=YYYY-MM-DD/<name>.
func (LakekitLayout) Classify(rel string, l *Landed) Kind {
	folder, name, ok := strings.Cut(rel, "/")
	d, isDate := strings.CutPrefix(folder, "ingest_date=")
	if !ok || !isDate || name == "" || strings.Contains(name, "/") {
		return Unaccepted
	}
	if _, err := time.Parse(IngestDateLayout, d); err != nil {
		return Unaccepted
	}
	l.IngestDate = d
	return Input
}

// Arrange sorts by key: ingest date, then object name.
func (LakekitLayout) Arrange(objs []Landed) ([]Landed, []Landed) {
	slices.SortFunc(objs, func(a, b Landed) int { return strings.Compare(a.Key, b.Key) })
	return objs, nil
}

// PlainLayout reads any object under the dataset's prefix as input — what
// AWS Transfer Family, DataSync or a partner's own upload tool writes,
// where files may be rewritten in place. Objects are read by last-modified
// time, then key; the ingest date is the last-modified date (UTC). A key
// rewritten with new content has a new ETag, and transforms read it again
// as new input (their ledger records each key with its ETag). Only folder
// markers (keys ending in "/") are Ignored.
type PlainLayout struct{}

// Name returns "plain".
func (PlainLayout) Name() string { return "plain" }

// Classify accepts every object but folder markers.
func (PlainLayout) Classify(rel string, l *Landed) Kind {
	if strings.HasSuffix(rel, "/") {
		return Ignored
	}
	setTime(l, l.ModTime)
	return Input
}

// Arrange sorts by last-modified time, then key.
func (PlainLayout) Arrange(objs []Landed) ([]Landed, []Landed) {
	slices.SortFunc(objs, byTimeThenKey)
	return objs, nil
}

// extRE matches the file extensions the service layouts accept.
const dataExt = `(?:\.(?:json|jsonl|ndjson|csv|txt|parquet|gz|zst|snappy|zip))*`
