package raw

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DMSLayout reads what an AWS DMS task's S3 target endpoint writes when its
// BucketFolder is the dataset's raw prefix — the layout of the DMS user
// guide's "Using Amazon S3 as a target for AWS Database Migration Service"
// (https://docs.aws.amazon.com/dms/latest/userguide/CHAP_Target.S3.html):
//
//	<schema>/<table>/LOAD00000001.csv … LOAD00000009.csv, LOAD0000000A.csv, … (full load, hexadecimal counter)
//	<schema>/<table>/20141029-1134010000.csv, … (changes, named by time)
//	<schema>/<table>/2014/10/29/20141029-1134010000.csv (with DatePartitionEnabled)
//
// in CSV or Parquet (.csv, .parquet; .gz when compressed). For each table
// the full load files are read in counter order, then the change files in
// the order of the time in their names. No change file of a table is read
// before its full load: while a table's folder holds change files and no
// LOAD file, the change files are Held (unless CDCOnly). LOAD files'
// ingest time is their last-modified time; a change file's is the time in
// its name (DatePartitionTimezone's zone, UTC by default). Landed.Partition
// gets "schema" and "table".
//
// Full-load rows carry the Op column only with IncludeOpForFullLoad; the
// TimestampColumnName column is on every row when set. Decoders map
// columns by name (CSV with AddColumnName, or Parquet), so full-load and
// change files decode into one row type; a full-load row without Op is an
// insert.
type DMSLayout struct {
	// Schema and Table restrict the layout to one table's folder; empty
	// accepts every schema and table.
	Schema, Table string
	// DatePartition says the endpoint has DatePartitionEnabled: change
	// files are under date folders. Without it, a change file in a date
	// folder is Unaccepted, and with it, one outside is.
	DatePartition bool
	// DatePartitionSequence and DatePartitionDelimiter are the endpoint's
	// (S3Settings) values: YYYYMMDD (default), YYYYMMDDHH, YYYYMM,
	// MMYYYYDD or DDMMYYYY; SLASH (default), UNDERSCORE, DASH or NONE.
	DatePartitionSequence, DatePartitionDelimiter string
	// TimeZone is DatePartitionTimezone; nil means UTC.
	TimeZone *time.Location
	// CDCOnly says the task has no full load (a CDC-only task): change
	// files are read without waiting for LOAD files. Set it too when the
	// full load's files are removed after they were read (an S3
	// lifecycle rule), or the later change files stay Held.
	CDCOnly bool

	once   sync.Once
	folder *regexp.Regexp
	err    error
}

// Name returns "dms".
func (d *DMSLayout) Name() string { return "dms" }

var (
	dmsLoadRE = regexp.MustCompile(`^LOAD([0-9A-F]{8})\.(csv|parquet)(\.gz)?$`)
	dmsCDCRE  = regexp.MustCompile(`^(\d{8}-\d{6})(\d*)\.(csv|parquet)(\.gz)?$`)
)

// Check reports a DatePartitionSequence or DatePartitionDelimiter DMS does
// not have, wrapping ErrInvalid. List calls it before it lists.
func (d *DMSLayout) Check() error {
	d.once.Do(func() {
		seq, delim := d.DatePartitionSequence, d.DatePartitionDelimiter
		if seq == "" {
			seq = "YYYYMMDD"
		}
		if delim == "" {
			delim = "SLASH"
		}
		parts, ok := map[string][]string{
			"YYYYMMDD": {`\d{4}`, `\d{2}`, `\d{2}`}, "YYYYMMDDHH": {`\d{4}`, `\d{2}`, `\d{2}`, `\d{2}`},
			"YYYYMM": {`\d{4}`, `\d{2}`}, "MMYYYYDD": {`\d{2}`, `\d{4}`, `\d{2}`}, "DDMMYYYY": {`\d{2}`, `\d{2}`, `\d{4}`},
		}[strings.ToUpper(seq)]
		if !ok {
			d.err = fmt.Errorf("raw: DMS layout: DatePartitionSequence %q is not YYYYMMDD, YYYYMMDDHH, YYYYMM, MMYYYYDD or DDMMYYYY: %w", seq, ErrInvalid)
			return
		}
		sep, ok := map[string]string{"SLASH": "/", "UNDERSCORE": "_", "DASH": "-", "NONE": ""}[strings.ToUpper(delim)]
		if !ok {
			d.err = fmt.Errorf("raw: DMS layout: DatePartitionDelimiter %q is not SLASH, UNDERSCORE, DASH or NONE: %w", delim, ErrInvalid)
			return
		}
		d.folder = regexp.MustCompile("^" + strings.Join(parts, regexp.QuoteMeta(sep)) + "$")
		if (d.Schema == "") != (d.Table == "") {
			d.err = fmt.Errorf("raw: DMS layout: set both Schema and Table, or neither: %w", ErrInvalid)
		}
	})
	return d.err
}

// Classify accepts full-load and change files of a table's folder.
func (d *DMSLayout) Classify(rel string, l *Landed) Kind {
	if d.Check() != nil {
		return Unaccepted
	}
	segs := strings.Split(rel, "/")
	if len(segs) < 3 || segs[0] == "" || segs[1] == "" {
		return Unaccepted
	}
	if d.Schema != "" && (segs[0] != d.Schema || segs[1] != d.Table) {
		return Unaccepted
	}
	name := segs[len(segs)-1]
	folders := strings.Join(segs[2:len(segs)-1], "/")
	l.Partition = map[string]string{"schema": segs[0], "table": segs[1]}
	if dmsLoadRE.MatchString(name) {
		// full-load files: in the table's folder (or a date folder)
		if folders != "" && !(d.DatePartition && d.folder.MatchString(folders)) {
			return Unaccepted
		}
		setTime(l, l.ModTime)
		return Input
	}
	m := dmsCDCRE.FindStringSubmatch(name)
	if m == nil {
		return Unaccepted
	}
	if d.DatePartition != (folders != "") || folders != "" && !d.folder.MatchString(folders) {
		return Unaccepted
	}
	loc := d.TimeZone
	if loc == nil {
		loc = time.UTC
	}
	t, err := time.ParseInLocation("20060102-150405", m[1], loc)
	if err != nil {
		return Unaccepted
	}
	if frac := m[2]; frac != "" && len(frac) <= 9 {
		n, _ := strconv.Atoi(frac)
		for i := len(frac); i < 9; i++ {
			n *= 10
		}
		t = t.Add(time.Duration(n))
	}
	setTime(l, t)
	return Input
}

// dmsLoad is the counter of a LOAD file name, or -1.
func dmsLoad(key string) int64 {
	m := dmsLoadRE.FindStringSubmatch(key[strings.LastIndexByte(key, '/')+1:])
	if m == nil {
		return -1
	}
	n, _ := strconv.ParseInt(m[1], 16, 64)
	return n
}

// Arrange orders each table's full load by counter, then its changes by
// time, tables by schema and name; it holds a table's changes while the
// table has no LOAD file (unless CDCOnly).
func (d *DMSLayout) Arrange(objs []Landed) ([]Landed, []Landed) {
	table := func(l Landed) string { return l.Partition["schema"] + "/" + l.Partition["table"] }
	hasLoad := map[string]bool{}
	for _, o := range objs {
		if dmsLoad(o.Key) >= 0 {
			hasLoad[table(o)] = true
		}
	}
	slices.SortFunc(objs, func(a, b Landed) int {
		if c := strings.Compare(table(a), table(b)); c != 0 {
			return c
		}
		la, lb := dmsLoad(a.Key), dmsLoad(b.Key)
		switch {
		case la >= 0 && lb >= 0:
			if la != lb {
				return cmp.Compare(la, lb)
			}
			return strings.Compare(a.Key, b.Key)
		case la >= 0:
			return -1
		case lb >= 0:
			return 1
		}
		return byTimeThenKey(a, b)
	})
	if d.CDCOnly {
		return objs, nil
	}
	var in, held []Landed
	for _, o := range objs {
		if !hasLoad[table(o)] {
			held = append(held, o)
			continue
		}
		in = append(in, o)
	}
	return in, held
}
