package raw

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"strings"
	"sync"
	"time"

	"github.com/lakekit/lakekit/lake"
)

// ListOptions select what List returns. A nil *ListOptions lists
// everything with metadata, in lakekit's own layout.
type ListOptions struct {
	// Layout says which objects under the dataset's prefix are input and
	// in which order; nil means LakekitLayout (what Land and Buffer write).
	Layout Layout
	// Since skips objects whose ingest date is before Since's UTC date.
	Since time.Time
	// SkipMetadata leaves out the per-object metadata (one Stat, an S3 HEAD,
	// per object): only Key, Location, Source, Dataset, IngestDate,
	// IngestTime (where the layout reads it from the key), Size, ETag,
	// ModTime, Kind and Partition are set.
	SkipMetadata bool
	// OnSkip is called, in key order, for each object List does not yield:
	// Unaccepted (no rule of the layout accepts it; also logged as a
	// warning), Held (logged at info) and Ignored (logged at debug), with
	// Landed.Kind saying which.
	OnSkip func(Landed)
}

// statConcurrency bounds the Stats List runs at once.
const statConcurrency = 8

// List yields the objects under the raw prefix <source>/<dataset>/ that
// the layout (ListOptions.Layout; lakekit's by default) accepts as Input
// or ErrorOutput, in the order the layout reads them — for lakekit's
// layout by ingest date, and within a date by object name, which for
// generated names (Land's and the Buffer's) is the ingest time. Each comes
// with its key, size, ETag, ingest date and (unless SkipMetadata)
// metadata: what transforms need to read raw input incrementally. Objects
// it does not yield go to ListOptions.OnSkip and the lake's log; none is
// passed over in silence. An error ends the sequence as (Landed{}, err).
func List(ctx context.Context, lk *lake.Lake, source, dataset string, opts *ListOptions) iter.Seq2[Landed, error] {
	return func(yield func(Landed, error) bool) {
		var o ListOptions
		if opts != nil {
			o = *opts
		}
		if o.Layout == nil {
			o.Layout = defaultLayout
		}
		fail := func(err error) { yield(Landed{}, fmt.Errorf("raw: list %s/%s: %w", source, dataset, err)) }
		store, err := rawZoneStore(lk, source, dataset)
		if err != nil {
			fail(err)
			return
		}
		if c, ok := o.Layout.(interface{ Check() error }); ok {
			if err := c.Check(); err != nil {
				fail(err)
				return
			}
		}
		since := ""
		if !o.Since.IsZero() {
			since = o.Since.UTC().Format(IngestDateLayout)
		}
		log := lk.Logger().With("source", source, "dataset", dataset, "layout", o.Layout.Name())
		skip := func(l Landed, k Kind) {
			l.Kind = k
			switch k {
			case Unaccepted:
				log.Warn("raw: object not accepted by the layout; not read", "key", l.Key)
			case Held:
				log.Info("raw: object held back by the layout", "key", l.Key)
			default:
				log.Debug("raw: object ignored by the layout", "key", l.Key)
			}
			if o.OnSkip != nil {
				o.OnSkip(l)
			}
		}
		base := source + "/" + dataset + "/"
		var page []Landed
		for e, err := range listEntries(ctx, store, base, o.Layout, since) {
			if err != nil {
				fail(err)
				return
			}
			l := Landed{Key: e.Key, Location: store.Location(e.Key), Source: source, Dataset: dataset,
				Size: e.Size, ETag: e.ETag, ModTime: e.ModTime}
			switch k := o.Layout.Classify(e.Key[len(base):], &l); k {
			case Input, ErrorOutput:
				if l.IngestDate >= since {
					l.Kind = k
					page = append(page, l)
				}
			default:
				skip(l, k)
			}
		}
		page, held := o.Layout.Arrange(page)
		for _, l := range held {
			skip(l, Held)
		}
		if !o.SkipMetadata {
			if err := statRawPage(ctx, store, page); err != nil {
				fail(err)
				return
			}
		}
		for _, l := range page {
			if l.Key == "" {
				continue
			}
			if !yield(l, nil) {
				return
			}
		}
	}
}

// listEntries lists the objects under base. For lakekit's layout with a
// Since date, the ingest_date folders before it are not listed at all.
func listEntries(ctx context.Context, store *lake.Store, base string, l Layout, since string) iter.Seq2[lake.Entry, error] {
	return func(yield func(lake.Entry, error) bool) {
		objects := func(prefix string) bool {
			for e, err := range store.List(ctx, prefix, nil) {
				if err != nil {
					yield(lake.Entry{}, err)
					return false
				}
				if !e.IsDir && !yield(e, nil) {
					return false
				}
			}
			return true
		}
		if _, ok := l.(LakekitLayout); !ok || since == "" {
			objects(base)
			return
		}
		for e, err := range store.List(ctx, base, &lake.ListOptions{Delimiter: "/"}) {
			if err != nil {
				yield(lake.Entry{}, err)
				return
			}
			if !e.IsDir {
				if !yield(e, nil) {
					return
				}
				continue
			}
			d, isDate := strings.CutPrefix(strings.TrimSuffix(e.Key[len(base):], "/"), "ingest_date=")
			if isDate && d < since {
				if _, err := time.Parse(IngestDateLayout, d); err == nil {
					continue // a whole folder before Since
				}
			}
			if !objects(e.Key) {
				return
			}
		}
	}
}

// statRawPage fills in the metadata of listed objects, a few Stats at a time.
func statRawPage(ctx context.Context, raw *lake.Store, page []Landed) error {
	var (
		wg   sync.WaitGroup
		sem  = make(chan struct{}, statConcurrency)
		mu   sync.Mutex
		errs []error
	)
	for i := range page {
		sem <- struct{}{}
		wg.Add(1)
		go func(l *Landed) {
			defer func() { <-sem; wg.Done() }()
			a, err := raw.Stat(ctx, l.Key)
			if err != nil {
				if errors.Is(err, lake.ErrNotFound) { // deleted since the listing
					l.Key = ""
					return
				}
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
				return
			}
			full := landedFromAttrs(raw, a)
			full.Source, full.Dataset, full.IngestDate = l.Source, l.Dataset, l.IngestDate
			full.Kind, full.Partition = l.Kind, l.Partition
			if full.IngestTime.IsZero() {
				full.IngestTime = l.IngestTime
			}
			if full.ETag == "" {
				full.ETag = l.ETag
			}
			if full.ModTime.IsZero() {
				full.ModTime = l.ModTime
			}
			*l = *full
		}(&page[i])
	}
	wg.Wait()
	return errors.Join(errs...)
}
