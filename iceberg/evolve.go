package iceberg

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	ice "github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"

	"github.com/lakekit/lakekit/internal/backoff"
)

// schemaChange is one step of an evolution: what UpdateSchema does and a
// sentence for people.
type schemaChange struct {
	apply func(*table.UpdateSchema)
	what  string
}

// evolve commits the schema changes that bring tbl to T (if any) and
// returns the table after them with a description of each change.
func (t *Table[T]) evolve(ctx context.Context, tbl *table.Table) (*table.Table, []string, error) {
	var lastErr error
	for attempt := 1; attempt <= t.opts.MaxCommitAttempts; attempt++ {
		if attempt > 1 {
			if err := backoff.Sleep(ctx, backoff.Full(attempt, time.Millisecond, 64*time.Millisecond)); err != nil {
				return nil, nil, fmt.Errorf("iceberg: evolve %s: %w (last conflict: %v)", t.Name(), err, lastErr)
			}
			var err error
			if tbl, err = t.cat.LoadTable(ctx, t.ident); err != nil {
				return nil, nil, fmt.Errorf("iceberg: evolve %s: %w", t.Name(), err)
			}
		}
		changes, err := t.schemaChanges(tbl.Schema(), tbl.Spec())
		if err != nil {
			return nil, nil, fmt.Errorf("iceberg: evolve %s: %w (nothing was committed)", t.Name(), err)
		}
		if len(changes) == 0 {
			return tbl, nil, nil
		}
		tx := tbl.NewTransaction()
		us := tx.UpdateSchema(false, false)
		var whats []string
		for _, c := range changes {
			c.apply(us)
			whats = append(whats, c.what)
		}
		if err := us.Commit(); err != nil {
			return nil, nil, fmt.Errorf("iceberg: evolve %s (%s): %w (nothing was committed)", t.Name(), strings.Join(whats, "; "), err)
		}
		after, err := tx.Commit(ctx)
		if err == nil {
			return after, whats, nil
		}
		lastErr = err
		if !errors.Is(err, table.ErrCommitFailed) && !t.moved(ctx, tbl) {
			return nil, nil, fmt.Errorf("iceberg: evolve %s (%s): %w", t.Name(), strings.Join(whats, "; "), err)
		}
	}
	return nil, nil, fmt.Errorf("iceberg: evolve %s: %w: gave up after %d attempts: %v", t.Name(), table.ErrCommitFailed, t.opts.MaxCommitAttempts, lastErr)
}

// schemaChanges plans the changes from sc to T, or says why T cannot be
// reached by the Iceberg rules.
func (t *Table[T]) schemaChanges(sc *ice.Schema, spec ice.PartitionSpec) ([]schemaChange, error) {
	partitionSource := map[int]bool{}
	for _, pf := range spec.Fields() {
		partitionSource[pf.SourceIDs[0]] = true
	}
	var adds, updates []schemaChange
	kept := map[int]bool{}
	for _, f := range t.rt.fields {
		nf, ok := sc.FindFieldByNameCaseInsensitive(f.name)
		for _, old := range f.was {
			if ok {
				break
			}
			nf, ok = sc.FindFieldByNameCaseInsensitive(old)
		}
		if !ok {
			if f.partition {
				return nil, fmt.Errorf("%w: column %q (%v.%s) is a new partition column: changing the partition spec is not supported", ErrSchemaMismatch, f.name, t.rt.t, f.goName)
			}
			name, typ := f.name, f.ice
			adds = append(adds, schemaChange{
				apply: func(us *table.UpdateSchema) { us.AddColumn([]string{name}, typ, "", false, nil) },
				what:  fmt.Sprintf("add optional column %q %s", name, typ),
			})
			continue
		}
		kept[nf.ID] = true
		c, err := t.columnChange(f, nf)
		if err != nil {
			return nil, err
		}
		if c != nil {
			updates = append(updates, *c)
		}
	}
	var drops []schemaChange
	for _, nf := range sc.Fields() {
		if kept[nf.ID] {
			continue
		}
		if partitionSource[nf.ID] {
			return nil, fmt.Errorf("%w: column %q is a partition source of the table and no field of %v stores it: dropping a partition column is not supported", ErrSchemaMismatch, nf.Name, t.rt.t)
		}
		name := nf.Name
		drops = append(drops, schemaChange{
			apply: func(us *table.UpdateSchema) { us.DeleteColumn([]string{name}) },
			what:  fmt.Sprintf("drop column %q (field ID %d)", name, nf.ID),
		})
	}
	return append(append(drops, updates...), adds...), nil
}

// columnChange is the change from table column nf to field f: a rename, a
// widening, making it optional (together in one update), or nil.
func (t *Table[T]) columnChange(f goField, nf ice.NestedField) (*schemaChange, error) {
	var up table.ColumnUpdate
	var whats []string
	if !strings.EqualFold(nf.Name, f.name) {
		up.Name = ice.Optional[string]{Val: f.name, Valid: true}
		whats = append(whats, fmt.Sprintf("rename column %q to %q (field ID %d)", nf.Name, f.name, nf.ID))
	}
	if !nf.Type.Equals(f.ice) {
		if !widens(nf.Type, f.ice) {
			return nil, fmt.Errorf("%w: column %q is %s in the table and %s in %v.%s: Iceberg allows only int→long and float→double widening",
				ErrSchemaMismatch, nf.Name, nf.Type, f.ice, t.rt.t, f.goName)
		}
		up.FieldType = ice.Optional[ice.Type]{Val: f.ice, Valid: true}
		whats = append(whats, fmt.Sprintf("widen column %q from %s to %s", nf.Name, nf.Type, f.ice))
	}
	if nf.Required && f.optional {
		up.Required = ice.Optional[bool]{Val: false, Valid: true}
		whats = append(whats, fmt.Sprintf("make column %q optional", nf.Name))
	}
	if len(whats) == 0 {
		return nil, nil
	}
	name := nf.Name
	return &schemaChange{
		apply: func(us *table.UpdateSchema) { us.UpdateColumn([]string{name}, up) },
		what:  strings.Join(whats, ", "),
	}, nil
}

// widens tells whether Iceberg promotes from to to.
func widens(from, to ice.Type) bool {
	switch from.(type) {
	case ice.Int32Type:
		_, ok := to.(ice.Int64Type)
		return ok
	case ice.Float32Type:
		_, ok := to.(ice.Float64Type)
		return ok
	}
	return false
}
