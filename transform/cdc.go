package transform

import (
	"cmp"
	"fmt"
	"sort"
)

// Op is a CDC operation as AWS DMS writes it in its Op column.
type Op string

// The operations of a change row.
const (
	Insert Op = "I"
	Update Op = "U"
	Delete Op = "D"
)

// ParseOp accepts I, U, D (any case, or the words insert/update/delete).
func ParseOp(s string) (Op, error) {
	switch s {
	case "I", "i", "insert", "INSERT":
		return Insert, nil
	case "U", "u", "update", "UPDATE":
		return Update, nil
	case "D", "d", "delete", "DELETE":
		return Delete, nil
	}
	return "", fmt.Errorf("transform: CDC operation %q is not I, U or D: %w", s, ErrInvalid)
}

// MergeSpec says how change rows of type C apply to state rows of type T
// with key K, ordered by O (a DMS commit timestamp, an LSN, a sequence
// number). Every function is required.
type MergeSpec[C, T any, K comparable, O cmp.Ordered] struct {
	// Op is the change's operation.
	Op func(C) Op
	// Key is the primary key the change applies to.
	Key func(C) K
	// Order is the change's position in the source's history: a change
	// with a lower order never replaces the effect of a higher one.
	Order func(C) O
	// Image is the row after the change. For a delete it must still carry
	// the partition columns (DMS writes the full before-image of a
	// deleted row).
	Image func(C) T
	// RowKey and RowOrder read the key and order back from a state row, so
	// later batches can compare against it.
	RowKey   func(T) K
	RowOrder func(T) O
}

func (s *MergeSpec[C, T, K, O]) check() error {
	if s == nil || s.Op == nil || s.Key == nil || s.Order == nil || s.Image == nil || s.RowKey == nil || s.RowOrder == nil {
		return invalidf("MergeSpec needs Op, Key, Order, Image, RowKey and RowOrder")
	}
	return nil
}

// MergeStats counts what a merge did.
type MergeStats struct {
	Inserted int64 // keys that had no live row and have one now
	Updated  int64 // live rows replaced
	Deleted  int64 // live rows removed
	Stale    int64 // changes ignored because a newer one was already applied
}

func (m *MergeStats) add(o MergeStats) {
	m.Inserted += o.Inserted
	m.Updated += o.Updated
	m.Deleted += o.Deleted
	m.Stale += o.Stale
}

type mergeEntry[T any, O cmp.Ordered] struct {
	row   T
	order O
	live  bool
	pos   int // position of the row in the output (first appearance)
}

// applyChanges merges changes into one partition's state: current rows and
// tombstones (keys deleted, with the order of the delete). Last write wins
// by order; on equal order the change that comes later (in this batch, or
// in a later batch) wins. It returns the new rows (in the order of the
// current rows, new keys after them in order of arrival), the new
// tombstones, and what happened.
func applyChanges[C, T any, K comparable, O cmp.Ordered](spec *MergeSpec[C, T, K, O], current []T, tombs map[K]O, changes []C) ([]T, map[K]O, MergeStats, error) {
	var st MergeStats
	idx := make(map[K]*mergeEntry[T, O], len(current)+len(tombs))
	var order []K
	for _, r := range current {
		k := spec.RowKey(r)
		if e, ok := idx[k]; ok {
			// duplicate key in the state: keep the newest
			if spec.RowOrder(r) >= e.order {
				e.row, e.order = r, spec.RowOrder(r)
			}
			continue
		}
		idx[k] = &mergeEntry[T, O]{row: r, order: spec.RowOrder(r), live: true}
		order = append(order, k)
	}
	for k, o := range tombs {
		if e, ok := idx[k]; ok {
			if o > e.order { // a delete newer than the row: the row is gone
				e.live, e.order = false, o
			}
			continue
		}
		idx[k] = &mergeEntry[T, O]{order: o}
		order = append(order, k)
	}
	seq := make([]int, len(changes))
	for i := range seq {
		seq[i] = i
	}
	sort.SliceStable(seq, func(a, b int) bool { return spec.Order(changes[seq[a]]) < spec.Order(changes[seq[b]]) })
	for _, i := range seq {
		c := changes[i]
		op := spec.Op(c)
		if op != Insert && op != Update && op != Delete {
			return nil, nil, st, fmt.Errorf("transform: merge: change %d has operation %q, want I, U or D: %w", i, op, ErrInvalid)
		}
		k, o := spec.Key(c), spec.Order(c)
		e, ok := idx[k]
		if ok && o < e.order {
			st.Stale++
			continue
		}
		if !ok {
			e = &mergeEntry[T, O]{}
			idx[k] = e
			order = append(order, k)
		}
		switch op {
		case Delete:
			if e.live {
				st.Deleted++
			}
			var zero T
			e.row, e.order, e.live = zero, o, false
		default:
			if e.live {
				st.Updated++
			} else {
				st.Inserted++
			}
			e.row, e.order, e.live = spec.Image(c), o, true
		}
	}
	rows := make([]T, 0, len(order))
	outTombs := map[K]O{}
	for _, k := range order {
		e := idx[k]
		if e.live {
			rows = append(rows, e.row)
		} else {
			outTombs[k] = e.order
		}
	}
	return rows, outTombs, st, nil
}
