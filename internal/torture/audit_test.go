package torture

import (
	"context"
	"os"
	"os/user"
	"testing"
	"time"

	"github.com/lakekit/lakekit/lake/memstore"
	"github.com/lakekit/lakekit/transform"
	"github.com/lakekit/lakekit/zones"
)

// TestAuditTrail: every commit — a write, an overwrite, a transform's
// output — records who (the caller's identity given by the application,
// host, process id, OS user), when, what operation and mode, and the
// idempotency key, and History lists them in version order.
func TestAuditTrail(t *testing.T) {
	ctx := context.Background()
	e, err := newEnv(memstore.New(), nil, 1)
	if err != nil {
		t.Fatal(err)
	}
	before := time.Now().UTC()
	type want struct {
		key    string
		mode   zones.Mode
		caller string
	}
	var wants []want
	for i, m := range []zones.Mode{zones.Append, zones.OverwritePartitions, zones.Append} {
		key := opKey("audit", i, m, 3)
		caller := "arn:aws:iam::123456789012:role/ingest"
		w, err := e.main.NewWriter(ctx, &zones.WriterOptions{Mode: m, IdempotencyKey: key, Caller: caller})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Write(ctx, rowsFor(key)); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		wants = append(wants, want{key, m, caller})
	}
	// a retried write adds no history entry
	if o, res, _, _ := write(ctx, e.main, wants[0].key, zones.Append, 1); o != committed || !res.Duplicate {
		t.Fatal("retry was not a duplicate")
	}
	host, _ := os.Hostname()
	u, _ := user.Current()
	log, err := e.main.History(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != len(wants) {
		t.Fatalf("history has %d entries, want %d", len(log), len(wants))
	}
	last := before.Add(-time.Millisecond)
	for i, c := range log {
		w := wants[i]
		switch {
		case c.Version != int64(i+1):
			t.Errorf("entry %d is version %d", i, c.Version)
		case c.IdempotencyKey != w.key:
			t.Errorf("version %d: idempotency key %q, want %q", c.Version, c.IdempotencyKey, w.key)
		case c.Operation != "write" || c.Mode != w.mode:
			t.Errorf("version %d: operation %q mode %v, want write %v", c.Version, c.Operation, c.Mode, w.mode)
		case c.Audit.Caller != w.caller:
			t.Errorf("version %d: caller %q, want %q", c.Version, c.Audit.Caller, w.caller)
		case c.Audit.Host != host || c.Audit.PID != os.Getpid():
			t.Errorf("version %d: host %q pid %d, want %q %d", c.Version, c.Audit.Host, c.Audit.PID, host, os.Getpid())
		case u != nil && c.Audit.User != u.Username:
			t.Errorf("version %d: user %q, want %q", c.Version, c.Audit.User, u.Username)
		case c.Timestamp.Before(last) || c.Timestamp.After(time.Now().UTC()):
			t.Errorf("version %d: timestamp %v out of order or in the future", c.Version, c.Timestamp)
		}
		last = c.Timestamp
		one, err := e.main.Table().Commit(ctx, c.Version)
		if err != nil || one.IdempotencyKey != c.IdempotencyKey {
			t.Errorf("Table.Commit(%d): %v", c.Version, err)
		}
	}
	// a transform's commits carry its caller and its ledger
	for i := 0; i < 2; i++ {
		if err := mustWrite(ctx, e.src, opKey("s", i, zones.Append, 1), zones.Append); err != nil {
			t.Fatal(err)
		}
	}
	tr, err := transform.New("audited", transform.FromDataset(e.src), transform.Identity[Row](), e.dst,
		&transform.Options[Row]{Caller: "job:nightly-42", Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Run(ctx); err != nil {
		t.Fatal(err)
	}
	dlog, err := e.dst.History(ctx)
	if err != nil || len(dlog) == 0 {
		t.Fatalf("transform output history: %d entries, %v", len(dlog), err)
	}
	for _, c := range dlog {
		if c.Audit.Caller != "job:nightly-42" || c.IdempotencyKey == "" || c.Audit.PID != os.Getpid() || len(c.Metadata) == 0 {
			t.Errorf("transform commit %d: caller %q key %q pid %d metadata %v", c.Version, c.Audit.Caller, c.IdempotencyKey, c.Audit.PID, c.Metadata)
		}
	}
}
