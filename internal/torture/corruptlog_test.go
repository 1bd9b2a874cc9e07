package torture

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lakekit/lakekit/internal/logcodec"
	"github.com/lakekit/lakekit/internal/objlog"
	"github.com/lakekit/lakekit/zones"
)

// logDamages are what TestTortureCorruptLog does to a table's log. The
// ckpt_* and last_ckpt_* kinds need a checkpoint (CheckpointInterval
// versions) and leave every log entry intact.
var logDamages = []string{
	"delete_one", "delete_run", "delete_newest", "garbage", "empty", "{}",
}

var ckptDamages = []string{
	"ckpt_garbage",       // the checkpoint the hint names does not decode
	"ckpt_wrong_version", // a checkpoint holding another version's state, named by the hint
	"last_ckpt_bad",      // the hint names a newer checkpoint that does not decode
	"last_ckpt_missing",  // the hint names a version with no checkpoint
	"last_ckpt_garbage",  // the hint itself does not parse
}

var flagDamage = flag.String("damage", "", "TestTortureCorruptLog: only this damage (delete_one, delete_run, delete_newest, garbage, empty, {}, ckpt_garbage, ckpt_wrong_version, last_ckpt_bad, last_ckpt_missing, last_ckpt_garbage)")

// corruptCase is one damaged lake.
type corruptCase struct {
	damage   string
	orig     []zones.Commit // the log before the damage
	damaged  []int64        // the log versions missing or undecodable
	hintGone bool           // the newest-version hint deleted too
	newCkpt  bool           // a damaged checkpoint is on the read path: the next commit writes a good one
}

// TestTortureCorruptLog: a random schedule of commits, then one random
// damage to the log — one entry deleted, a run of several (sometimes
// with the newest-version hint), the newest; an entry overwritten with
// garbage, nothing or "{}" — or to the checkpoints (a damaged checkpoint,
// _last_checkpoint naming a bad, missing or unparsable one). A fresh read
// of the newest version gives the exact rows or ErrCorrupt, never fewer
// rows without an error — the one counted exception is a run at the end
// of the log deleted together with the hint (nothing records that those
// versions existed); time travel to every version before the damage reads
// exactly, later versions are exact or ErrCorrupt; History gives the
// versions before the damage with ErrCorrupt; Vacuum refuses with
// ErrCorrupt (not ErrCatalog) and deletes nothing; checkpoint damage alone
// gives no error anywhere and the next commit writes a good checkpoint;
// Table.Repair reports exactly the damaged versions, after which reads,
// the next commit, Vacuum and the external view work again.
func TestTortureCorruptLog(t *testing.T) {
	c := newCounters()
	defer c.report(t)
	for _, f := range factories(t) {
		t.Run(f.kind, func(t *testing.T) {
			seed := time.Now().UnixNano()
			rng := rand.New(rand.NewSource(seed))
			n := rounds(f.kind, 15)
			ck := max(1, n/5) // rounds with a checkpoint (CheckpointInterval commits each)
			if f.kind == "moto" && *flagRounds == 1 {
				ck = 0 // 50 commits on moto + Glue are slow; -rounds 2 and up include them
			}
			failed := 0
			for round := 0; round < n; round++ {
				withCkpt := round >= n-ck
				kinds := logDamages
				if withCkpt {
					kinds = ckptDamages
				}
				damage := kinds[rng.Intn(len(kinds))]
				if *flagDamage != "" {
					damage = *flagDamage
					withCkpt = slices.Contains(ckptDamages, damage)
				}
				if err := corruptRound(t, f, rng, damage, withCkpt, c); err != nil {
					t.Errorf("%s: round %d (seed %d), damage %s: %v", f.kind, round, seed, damage, err)
					c.add("failed_rounds", 1)
					if failed++; failed == 3 {
						t.Fatalf("%s: 3 rounds failed; the other %d not run", f.kind, n-round-1)
					}
					continue
				}
				c.add("rounds", 1)
				c.add("damage_"+damage, 1)
			}
		})
	}
}

func corruptRound(t *testing.T, f lakeFactory, rng *rand.Rand, damage string, withCkpt bool, c *counters) error {
	ctx := context.Background()
	s := f.make(t)
	x := s.mustOpen(t)
	nv := 3 + rng.Intn(6)
	if withCkpt {
		nv = zones.CheckpointInterval + 1 + rng.Intn(4)
	}
	for i := 0; i < nv; i++ {
		mode := zones.Append
		switch r := rng.Intn(10); {
		case r == 0 && i > 0:
			mode = zones.Overwrite
		case r < 3:
			mode = zones.OverwritePartitions
		}
		if err := mustWrite(ctx, x.ds, opKey("c", i, mode, 1+rng.Intn(15)), mode); err != nil {
			return err
		}
	}
	c.add("commits", int64(nv))
	cc := &corruptCase{damage: damage, orig: history(t, s.mustOpen(t).ds)}
	if len(cc.orig) != nv {
		return fmt.Errorf("%d versions in the log after %d commits", len(cc.orig), nv)
	}
	if err := damageLog(ctx, s, rng, cc); err != nil {
		return fmt.Errorf("damage: %w", err)
	}
	var err error
	if len(cc.damaged) == 0 {
		err = checkpointDamaged(ctx, t, s, cc, c)
	} else {
		err = logDamaged(ctx, t, s, rng, cc, c)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", cc, err)
	}
	return nil
}

func (cc *corruptCase) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "damaged versions %v (hint deleted: %v) of log [", cc.damaged, cc.hintGone)
	for i, cm := range cc.orig {
		if i > 0 {
			b.WriteString(" ")
		}
		if i >= 6 && i < len(cc.orig)-4 {
			if i == 6 {
				b.WriteString("…")
			}
			continue
		}
		fmt.Fprintf(&b, "v%d=%s", cm.Version, cm.IdempotencyKey)
	}
	b.WriteString("]")
	return b.String()
}

// damageLog applies cc.damage to the lake's raw objects.
func damageLog(ctx context.Context, s *lakeSpec, rng *rand.Rand, cc *corruptCase) error {
	x, err := s.open()
	if err != nil {
		return err
	}
	zs := x.ds.Table().Zone().Store()
	prefix := x.ds.Table().Prefix()
	n := int64(len(cc.orig))
	del := func(vs ...int64) error {
		keys := make([]string, len(vs))
		for i, v := range vs {
			keys[i] = logcodec.CommitKey(prefix, v)
		}
		cc.damaged = append(cc.damaged, vs...)
		return zs.DeleteMany(ctx, keys)
	}
	put := func(key, body string) error { return zs.PutBytes(ctx, key, []byte(body), nil) }
	hint := prefix + "/" + logcodec.LastCheckpoint
	switch cc.damage {
	case "delete_one":
		return del(1 + rng.Int63n(n-1))
	case "delete_run":
		l := 2 + rng.Int63n(min(3, n-1))
		from := 1 + rng.Int63n(n-l+1)
		var vs []int64
		for v := from; v < from+l; v++ {
			vs = append(vs, v)
		}
		if err := del(vs...); err != nil {
			return err
		}
		if from+l-1 == n && rng.Intn(2) == 0 {
			// the run is the end of the log: delete the hint too
			cc.hintGone = true
			return zs.Delete(ctx, prefix+"/"+objlog.HintKey)
		}
		return nil
	case "delete_newest":
		return del(n)
	case "garbage", "empty", "{}":
		v := 1 + rng.Int63n(n)
		cc.damaged = append(cc.damaged, v)
		body := map[string]string{"garbage": "gXq\x00not a commit", "empty": "", "{}": "{}"}[cc.damage]
		return put(logcodec.CommitKey(prefix, v), body)
	case "ckpt_garbage":
		cc.newCkpt = true
		b, err := zs.ReadAll(ctx, hint)
		if err != nil {
			return err
		}
		v, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		if err != nil {
			return err
		}
		return put(logcodec.CheckpointKey(prefix, v), []string{"garbage{", "", "{}"}[rng.Intn(3)])
	case "ckpt_wrong_version", "last_ckpt_bad":
		cc.newCkpt = true
		body := "{not json"
		if cc.damage == "ckpt_wrong_version" {
			b, err := zs.ReadAll(ctx, logcodec.CheckpointKey(prefix, zones.CheckpointInterval))
			if err != nil {
				return err
			}
			body = string(b)
		}
		if err := put(logcodec.CheckpointKey(prefix, n), body); err != nil {
			return err
		}
		return put(hint, strconv.FormatInt(n, 10))
	case "last_ckpt_missing":
		return put(hint, strconv.FormatInt(n-1, 10))
	case "last_ckpt_garbage":
		return put(hint, "zz")
	}
	return fmt.Errorf("unknown damage %q", cc.damage)
}

// exceptionTail reports whether the damage is the counted exception: the
// newest versions deleted together with the newest-version hint.
func (cc *corruptCase) exceptionTail() bool {
	return cc.hintGone && slices.Max(cc.damaged) == int64(len(cc.orig))
}

func logDamaged(ctx context.Context, t *testing.T, s *lakeSpec, rng *rand.Rand, cc *corruptCase, c *counters) error {
	sort.Slice(cc.damaged, func(i, j int) bool { return cc.damaged[i] < cc.damaged[j] })
	first := cc.damaged[0]
	n := int64(len(cc.orig))
	all, err := replay(cc.orig)
	if err != nil {
		return err
	}
	before := func(v int64) map[string]Row {
		m, err := replay(cc.orig[:v])
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	// the newest version: exact or ErrCorrupt, never fewer rows in silence
	rows, err := readAll(ctx, s.mustOpen(t).ds, 0)
	if errors.Is(err, zones.ErrNoSuchTable) && first == 1 && cc.exceptionTail() {
		rows, err = nil, nil // the whole log and the hint deleted: no table
	}
	switch {
	case err != nil && !errors.Is(err, zones.ErrCorrupt):
		return fmt.Errorf("read of the newest version: %v, want the rows or ErrCorrupt", err)
	case err != nil:
		c.add("newest_read_corrupt", 1)
	case checkRows(rows, all) == nil:
		c.add("newest_read_exact", 1) // the damage is not on the read path (a checkpoint covers it)
	case cc.exceptionTail():
		if cerr := checkRows(rows, before(first-1)); cerr != nil {
			return fmt.Errorf("log end and hint deleted: the read is not version %d either: %v", first-1, cerr)
		}
		c.add("exception_tail_and_hint_deleted", 1)
		c.add(fmt.Sprintf("exception_tail_len_%d", len(cc.damaged)), 1)
		return nil // nothing says the lost versions existed: Vacuum and Repair cannot know either
	default:
		return fmt.Errorf("versions %v damaged: the newest read returned %d rows without an error: %v", cc.damaged, len(rows), checkRows(rows, all))
	}
	// time travel: exact before the damage; exact or ErrCorrupt after
	versions := make([]int64, 0, n)
	for v := int64(1); v <= n; v++ {
		if n <= 10 || v < 3 || v >= first-2 || rng.Intn(8) == 0 {
			versions = append(versions, v)
		}
	}
	for _, v := range versions {
		rows, err := readAll(ctx, s.mustOpen(t).ds, v)
		want := before(v)
		switch {
		case v < first && err != nil:
			return fmt.Errorf("time travel to version %d (before the damage at %d): %v", v, first, err)
		case v < first:
			if err := checkRows(rows, want); err != nil {
				return fmt.Errorf("time travel to version %d (before the damage at %d): %v", v, first, err)
			}
			c.add("time_travel_exact", 1)
		case err == nil:
			if err := checkRows(rows, want); err != nil {
				return fmt.Errorf("time travel to version %d (damage at %v): no error and %v", v, cc.damaged, err)
			}
			c.add("time_travel_past_damage_exact", 1)
		case errors.Is(err, zones.ErrCorrupt):
			c.add("time_travel_past_damage_corrupt", 1)
		default:
			return fmt.Errorf("time travel to version %d (damage at %v): %v, want the rows or ErrCorrupt", v, cc.damaged, err)
		}
	}
	// History: the versions before the damage, with ErrCorrupt
	log, err := s.mustOpen(t).ds.History(ctx)
	if !errors.Is(err, zones.ErrCorrupt) {
		return fmt.Errorf("History: %d commits and %v, want ErrCorrupt", len(log), err)
	}
	if int64(len(log)) != first-1 {
		return fmt.Errorf("History with version %d damaged returned %d commits, want %d", first, len(log), first-1)
	}
	// Vacuum refuses with ErrCorrupt only and deletes nothing
	filesBefore, err := dataFiles(ctx, s)
	if err != nil {
		return err
	}
	_, err = s.mustOpen(t).ds.Vacuum(ctx, 0)
	if !errors.Is(err, zones.ErrCorrupt) || errors.Is(err, zones.ErrCatalog) {
		return fmt.Errorf("Vacuum over versions %v damaged: %v (ErrCorrupt %v, ErrCatalog %v), want ErrCorrupt only",
			cc.damaged, err, errors.Is(err, zones.ErrCorrupt), errors.Is(err, zones.ErrCatalog))
	}
	filesAfter, err := dataFiles(ctx, s)
	if err != nil {
		return err
	}
	if len(filesAfter) != len(filesBefore) {
		return fmt.Errorf("the refused Vacuum deleted %d data files", len(filesBefore)-len(filesAfter))
	}
	c.add("vacuum_refused", 1)
	// a new commit into the damaged log is refused, never a reused version
	k := opKey("w", 0, zones.Append, 1)
	o, res, _, err := write(ctx, s.mustOpen(t).ds, k, zones.Append, 1)
	if o == committed {
		return fmt.Errorf("a commit into the log with versions %v damaged committed as version %d", cc.damaged, res.Version)
	}
	if !errors.Is(err, zones.ErrCorrupt) {
		return fmt.Errorf("a commit into the damaged log: %v, want ErrCorrupt", err)
	}
	c.add("commit_refused", 1)
	// Repair: exactly the damaged versions; then everything works again
	rep, err := s.mustOpen(t).ds.Table().Repair(ctx, nil)
	if err != nil {
		return fmt.Errorf("Repair: %v", err)
	}
	if !slices.Equal(rep.Damaged, cc.damaged) {
		return fmt.Errorf("Repair reports versions %v damaged, the damage was %v", rep.Damaged, cc.damaged)
	}
	c.add("repairs", 1)
	return afterRepair(ctx, t, s, cc, c)
}

// afterRepair: the repaired table reads (each write whole, no row twice,
// every row from a committed key, every surviving row of the versions
// after the damage present), takes the next commit, vacuums and shows
// Athena what lakekit reads.
func afterRepair(ctx context.Context, t *testing.T, s *lakeSpec, cc *corruptCase, c *counters) error {
	rows, err := readAll(ctx, s.mustOpen(t).ds, 0)
	if err != nil {
		return fmt.Errorf("read after Repair: %v", err)
	}
	if err := repairedRows(rows, cc); err != nil {
		return fmt.Errorf("after Repair: %v", err)
	}
	log := history(t, s.mustOpen(t).ds)
	// Repair replaces the damaged versions and adds one repair commit at
	// the head (so catalogs compare everything at their next sync)
	if len(log) != len(cc.orig)+1 || log[len(log)-1].Operation != "repair" {
		return fmt.Errorf("after Repair the log has %d versions (the newest %q), want the %d it had and a repair commit", len(log), log[len(log)-1].Operation, len(cc.orig))
	}
	log = log[:len(cc.orig)]
	for i, cm := range log {
		if slices.Contains(cc.damaged, cm.Version) != (cm.Operation == "repair") || (cm.Operation != "repair" && cm.IdempotencyKey != cc.orig[i].IdempotencyKey) {
			return fmt.Errorf("after Repair version %d is %s %q, was %s %q", cm.Version, cm.Operation, cm.IdempotencyKey, cc.orig[i].Operation, cc.orig[i].IdempotencyKey)
		}
	}
	x := s.mustOpen(t)
	k := opKey("after", 0, zones.Append, 15)
	res, err := attemptWrite(ctx, x.ds, k, zones.Append, rowsFor(k))
	if err != nil || res.Version != int64(len(cc.orig))+2 {
		return fmt.Errorf("the commit after Repair: %+v %v, want version %d", res, err, len(cc.orig)+2)
	}
	if err := externalMatches(ctx, s); err != nil {
		return fmt.Errorf("after Repair and the next commit: %w", err)
	}
	rows, err = readAll(ctx, s.mustOpen(t).ds, 0)
	if err != nil {
		return err
	}
	if _, err := s.mustOpen(t).ds.Vacuum(ctx, 0); err != nil {
		return fmt.Errorf("Vacuum after Repair: %v", err)
	}
	again, err := readAll(ctx, s.mustOpen(t).ds, 0)
	if err != nil {
		return fmt.Errorf("read after Repair and Vacuum: %v", err)
	}
	if err := sameRows(again, rows); err != nil {
		return fmt.Errorf("Vacuum after Repair changed the table: %v", err)
	}
	if err := externalMatches(ctx, s); err != nil {
		return fmt.Errorf("after Repair, the next commit and Vacuum: %w", err)
	}
	c.add("repaired_and_serving", 1)
	return nil
}

func sameRows(got, want []Row) error {
	m := map[string]Row{}
	for _, r := range want {
		m[r.ID] = r
	}
	if len(m) != len(want) {
		return fmt.Errorf("the reference read holds a row twice")
	}
	return checkRows(got, m)
}

// repairedRows checks a read of a repaired table: what the lost versions
// did is only partly known, so it is checked by what cannot be lost.
func repairedRows(rows []Row, cc *corruptCase) error {
	if err := wholeWrites(rows); err != nil {
		return err
	}
	versionOf := map[string]int64{}
	for _, cm := range cc.orig {
		versionOf[cm.IdempotencyKey] = cm.Version
	}
	seen := map[string]bool{}
	for _, r := range rows {
		if seen[r.ID] {
			return fmt.Errorf("row %s read twice", r.ID)
		}
		seen[r.ID] = true
		if _, ok := versionOf[r.Key]; !ok {
			return fmt.Errorf("row %s of key %s, which is not in the log", r.ID, r.Key)
		}
	}
	all, err := replay(cc.orig)
	if err != nil {
		return err
	}
	last := slices.Max(cc.damaged)
	for id, r := range all {
		if versionOf[r.Key] > last && !seen[id] {
			return fmt.Errorf("row %s of version %d (after the damage) missing", id, versionOf[r.Key])
		}
	}
	return nil
}

// checkpointDamaged: the log is intact, a checkpoint or its hint is not.
// No read, time travel, History or Vacuum fails; the next commit writes a
// good checkpoint where a damaged one was on the read path.
func checkpointDamaged(ctx context.Context, t *testing.T, s *lakeSpec, cc *corruptCase, c *counters) error {
	n := int64(len(cc.orig))
	all, err := replay(cc.orig)
	if err != nil {
		return err
	}
	rows, err := readAll(ctx, s.mustOpen(t).ds, 0)
	if err != nil {
		return fmt.Errorf("read with only a checkpoint damaged: %v", err)
	}
	if err := checkRows(rows, all); err != nil {
		return fmt.Errorf("read with only a checkpoint damaged: %v", err)
	}
	for _, v := range []int64{1, zones.CheckpointInterval - 1, zones.CheckpointInterval, n - 1, n} {
		rows, err := readAll(ctx, s.mustOpen(t).ds, v)
		if err != nil {
			return fmt.Errorf("time travel to version %d with only a checkpoint damaged: %v", v, err)
		}
		want, err := replay(cc.orig[:v])
		if err != nil {
			return err
		}
		if err := checkRows(rows, want); err != nil {
			return fmt.Errorf("time travel to version %d with only a checkpoint damaged: %v", v, err)
		}
		c.add("time_travel_exact", 1)
	}
	if log, err := s.mustOpen(t).ds.History(ctx); err != nil || len(log) != len(cc.orig) {
		return fmt.Errorf("History with only a checkpoint damaged: %d commits, %v", len(log), err)
	}
	x := s.mustOpen(t)
	k := opKey("next", 0, zones.Append, 15)
	res, err := attemptWrite(ctx, x.ds, k, zones.Append, rowsFor(k))
	if err != nil || res.Version != n+1 {
		return fmt.Errorf("the commit after the checkpoint damage: %+v %v, want version %d", res, err, n+1)
	}
	zs := x.ds.Table().Zone().Store()
	prefix := x.ds.Table().Prefix()
	if cc.newCkpt {
		b, err := zs.ReadAll(ctx, prefix+"/"+logcodec.LastCheckpoint)
		if err != nil {
			return fmt.Errorf("_last_checkpoint after the next commit: %v", err)
		}
		if string(b) != strconv.FormatInt(n+1, 10) {
			return fmt.Errorf("_last_checkpoint after the next commit names %q, want the new version %d (a good checkpoint)", b, n+1)
		}
		cb, err := zs.ReadAll(ctx, logcodec.CheckpointKey(prefix, n+1))
		if err != nil {
			return fmt.Errorf("the checkpoint the next commit should write: %v", err)
		}
		var st struct {
			Version int64 `json:"version"`
		}
		if err := logcodec.Decode(cb, &st); err != nil || st.Version != n+1 {
			return fmt.Errorf("the new checkpoint: version %d, %v", st.Version, err)
		}
		c.add("good_checkpoint_written", 1)
	}
	want := all
	expect(want, zones.Append, rowsFor(k))
	if _, err := s.mustOpen(t).ds.Vacuum(ctx, 0); err != nil {
		return fmt.Errorf("Vacuum with only a checkpoint damaged: %v", err)
	}
	if err := checkExpected(ctx, s, want); err != nil {
		return fmt.Errorf("after the next commit and Vacuum: %v", err)
	}
	c.add("checkpoint_damage_no_error", 1)
	return nil
}
