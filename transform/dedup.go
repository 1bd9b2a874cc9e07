package transform

import "cmp"

// dedupSpec drops rows whose key was already seen: within one run's input,
// and (with the output dataset) across runs, against the rows already in
// the output partition. Key is required.
type dedupSpec[T any, K comparable] struct {
	Key func(T) K
	// Order, when set, keeps the row with the highest order among
	// duplicates within a batch; without it the first row seen is kept.
	// Across batches the row already stored always stays.
	Order func(T) int64
}

// dedupRows removes duplicates within rows (keeping the first, or the
// highest Order) and rows whose key is in seen; it adds the kept keys to
// seen and returns the kept rows (in input order) and the number dropped.
func dedupRows[T any, K comparable](spec *dedupSpec[T, K], rows []T, seen map[K]struct{}) ([]T, int64) {
	pos := make(map[K]int, len(rows))
	out := rows[:0:0]
	var dropped int64
	for _, r := range rows {
		k := spec.Key(r)
		if _, ok := seen[k]; ok {
			dropped++
			continue
		}
		if i, ok := pos[k]; ok {
			dropped++
			if spec.Order != nil && cmp.Compare(spec.Order(r), spec.Order(out[i])) > 0 {
				out[i] = r
			}
			continue
		}
		pos[k] = len(out)
		out = append(out, r)
	}
	for k := range pos {
		seen[k] = struct{}{}
	}
	return out, dropped
}
