package transform_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/transform"
)

// TestQuarantine lands a gzip'd batch of 1000 JSON lines with 1% malformed
// JSON, 1% wrong types and 1% rule violations: the good rows reach cleaned,
// the bad ones the quarantine table with their bytes, line and reason, and
// good + bad = input.
func TestQuarantine(t *testing.T) {
	ctx := context.Background()
	lk, _ := fileLake(t, t.TempDir())
	p := newPipeline(t, lk, 2)
	_, evs := genBatch(0, 1000)
	var b bytes.Buffer
	type bad struct{ rule, field string }
	wantBad := map[int]bad{} // line number → expected rule
	for i, e := range evs {
		line, _ := json.Marshal(e)
		switch {
		case i%100 == 7: // malformed JSON
			line = line[:len(line)/2]
			wantBad[i+1] = bad{"decode", ""}
		case i%100 == 21: // wrong type
			line = []byte(strings.Replace(string(line), `"amount":`, `"amount":"x`, 1))
			line = []byte(strings.Replace(string(line), `,"at"`, `","at"`, 1))
			wantBad[i+1] = bad{"decode", ""}
		case i%100 == 42: // rule violations, three kinds
			switch (i / 100) % 3 {
			case 0:
				e.Kind = "bogus"
				wantBad[i+1] = bad{"enum", "kind"}
			case 1:
				e.User = ""
				wantBad[i+1] = bad{"required", "user"}
			case 2:
				e.Amount = -5
				wantBad[i+1] = bad{"range", "amount"}
			}
			line, _ = json.Marshal(e)
		}
		b.Write(line)
		b.WriteByte('\n')
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(b.Bytes())
	zw.Close()
	land(t, lk, "batch.jsonl.gz", gz.Bytes())

	res, err := p.toClean.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.RowsIn != 1000 || res.Rejected != 30 || res.RowsOut != 970 || res.RowsOut+res.Rejected != res.RowsIn {
		t.Fatalf("result %+v", res)
	}
	var n, distinct int64
	duck(t, lk, lake.Cleaned, "shop", "events", "SELECT count(*), count(DISTINCT id) FROM tbl", &n, &distinct)
	if n != 970 || distinct != 970 {
		t.Fatalf("cleaned has %d rows (%d distinct), want 970", n, distinct)
	}
	q, err := p.toClean.QuarantineDataset().ReadAll(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(q) != 30 {
		t.Fatalf("quarantine has %d rows, want 30", len(q))
	}
	lines := strings.Split(b.String(), "\n")
	for _, r := range q {
		w, ok := wantBad[int(r.Line)]
		if !ok {
			t.Fatalf("quarantined line %d was good: %+v", r.Line, r)
		}
		delete(wantBad, int(r.Line))
		if r.Rule != w.rule || r.Field != w.field || r.Reason == "" || r.Transform != "clean_events" {
			t.Errorf("line %d: rule %q field %q reason %q, want %s on %q", r.Line, r.Rule, r.Field, r.Reason, w.rule, w.field)
		}
		if r.Record != lines[r.Line-1] {
			t.Errorf("line %d: record %q, want the original bytes %q", r.Line, r.Record, lines[r.Line-1])
		}
		if !strings.HasSuffix(r.Source, ".jsonl.gz") || r.Partition == "" || r.RejectedAt.IsZero() {
			t.Errorf("line %d: source %q partition %q", r.Line, r.Source, r.Partition)
		}
	}
	if len(wantBad) != 0 {
		t.Fatalf("bad lines not quarantined: %v", wantBad)
	}
	// DuckDB reads the quarantine table too, with reasons
	var rules int64
	var typeReason string
	duck(t, lk, lake.Cleaned, "shop", "events_quarantine",
		"SELECT count(DISTINCT rule), max(reason) FILTER (WHERE record LIKE '%\"amount\":\"x%') FROM tbl", &rules, &typeReason)
	if rules != 4 || !strings.Contains(typeReason, "amount") {
		t.Fatalf("duckdb: %d rules, type reason %q", rules, typeReason)
	}
	// a rerun adds nothing to either table
	res, err = p.toClean.Run(ctx)
	if err != nil || res.Units != 0 {
		t.Fatalf("rerun: %+v %v", res, err)
	}
	if q2, _ := p.toClean.QuarantineDataset().ReadAll(ctx, nil); len(q2) != 30 {
		t.Fatalf("rerun changed quarantine: %d rows", len(q2))
	}
}

// TestMapErrorsAndFatal: a row function's error quarantines the row (rule
// "map"); Fatal stops the run and nothing of the unit is committed.
func TestMapErrorsAndFatal(t *testing.T) {
	ctx := context.Background()
	lk, _ := fileLake(t, t.TempDir())
	p := newPipeline(t, lk, 1)
	data, _ := genBatch(0, 50)
	land(t, lk, "a.jsonl", data)
	tr, err := transform.New("flaky", transform.FromRaw(lk, "web", "events", transform.JSONLines[RawEvent](nil)),
		transform.FlatMap(func(_ context.Context, r RawEvent, emit func(Event)) error {
			if r.ID%10 == 3 {
				emit(Event{ID: r.ID, Day: "d"}) // dropped with the record
				return fmt.Errorf("id %d is cursed", r.ID)
			}
			if r.ID == 44 {
				emit(Event{ID: r.ID, Day: "d"})
				emit(Event{ID: -r.ID, Day: ""}) // no partition: this row is quarantined
				return nil
			}
			emit(Event{ID: r.ID, User: r.User, Kind: r.Kind, Day: "d"})
			emit(Event{ID: -r.ID, User: r.User, Kind: r.Kind, Day: "d"})
			return nil
		}), p.cleaned, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := tr.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.RowsIn != 50 || res.Rejected != 6 || res.RowsOut != 89 {
		t.Fatalf("result %+v", res)
	}
	q, _ := tr.QuarantineDataset().ReadAll(ctx, nil)
	rules := map[string]int{}
	for _, r := range q {
		rules[r.Rule]++
		if r.Rule == "map" && !strings.Contains(r.Reason, "cursed") || r.Rule == "partition" && !strings.Contains(r.Reason, "empty") {
			t.Errorf("quarantine row %+v", r)
		}
	}
	if len(q) != 6 || rules["map"] != 5 || rules["partition"] != 1 {
		t.Fatalf("quarantine rules %v", rules)
	}

	land(t, lk, "b.jsonl", []byte(`{"id":1000,"user":"u001","kind":"buy"}`+"\n"))
	down := errors.New("database down")
	fatal, err := transform.New("fatal", transform.FromRaw(lk, "web", "events", transform.JSONLines[RawEvent](nil)),
		transform.Map(func(_ context.Context, r RawEvent) (Event, error) {
			return Event{}, transform.Fatal(down)
		}), p.cleaned, nil)
	if err != nil {
		t.Fatal(err)
	}
	before, _ := p.cleaned.Snapshot(ctx, 0)
	if _, err := fatal.Run(ctx); !errors.Is(err, transform.ErrFatal) || !errors.Is(err, down) {
		t.Fatalf("fatal run: %v, want transform.ErrFatal wrapping the map's error", err)
	}
	after, _ := p.cleaned.Snapshot(ctx, 0)
	if after.Version != before.Version {
		t.Fatalf("a failed unit committed: version %d → %d", before.Version, after.Version)
	}
}
