package lake

import (
	"context"
	"fmt"
	"log/slog"
	"sort"

	"go.opentelemetry.io/otel/metric"
)

// SystemPrefix is the key prefix under a lake's root where lakekit keeps its
// own state: the local catalog, transform ledgers, run history. The leading
// underscore hides it from Hive-style readers.
const SystemPrefix = "_lakekit"

// Options configure a lake. A nil *Options means defaults.
type Options struct {
	// Zones holds settings per zone; zones not listed get defaults.
	Zones map[ZoneName]ZoneConfig
	// SystemKMSKeyID encrypts lakekit's own state (catalog, ledgers).
	SystemKMSKeyID string
	// Logger receives lakekit's logs; nil discards them.
	Logger *slog.Logger
	// Mux opens the URL; nil means DefaultURLMux.
	Mux *URLMux
	// Caller is who this lake acts as in the audit trail (a service name, a
	// principal ARN). Empty means: ask the store's driver once, when it
	// implements CallerIdentifier (the S3 driver asks STS), else unknown.
	// See Lake.Caller.
	Caller string
	// MeterProvider receives lakekit's metrics (commits, rows and bytes
	// written and read, retries, conflicts, quarantined records, buffer
	// flushes, query bytes scanned, pipeline steps; see README
	// "Operations"). nil means none are recorded.
	MeterProvider metric.MeterProvider
}

// Lake is an opened data lake: a store, its zones and their settings.
type Lake struct {
	url     string
	store   *Store
	zones   map[ZoneName]*Zone
	sys     *Store
	logger  *slog.Logger
	caller  callerCache
	metrics *metrics
}

// Open opens the lake at urlstr (see OpenStore for the schemes). Nothing is
// written: a new lake's zones appear as data lands in them. A lake that is
// not there is caught at open: a directory lake's folder is made only when
// its parent exists (?create=true makes parents too), and an s3:// lake's
// bucket must exist; either miss is an error matching ErrNotFound.
func Open(ctx context.Context, urlstr string, opts *Options) (*Lake, error) {
	mux := defaultMux
	if opts != nil && opts.Mux != nil {
		mux = opts.Mux
	}
	s, err := mux.OpenStore(ctx, urlstr)
	if err != nil {
		return nil, err
	}
	l, err := New(s, opts)
	if err != nil {
		s.Close()
		return nil, err
	}
	l.url = urlstr
	return l, nil
}

// New makes a lake over an already opened store.
func New(s *Store, opts *Options) (*Lake, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	l := &Lake{store: s, zones: map[ZoneName]*Zone{}, logger: o.Logger, caller: callerCache{explicit: o.Caller}, metrics: newMetrics(o.MeterProvider)}
	if l.logger == nil {
		l.logger = slog.New(slog.DiscardHandler)
	}
	for name := range o.Zones {
		if err := ValidateName("zone name", string(name)); err != nil {
			return nil, err
		}
	}
	names := append([]ZoneName(nil), Zones...)
	for name := range o.Zones {
		if _, ok := l.zones[name]; !ok && !isDefaultZone(name) {
			names = append(names, name)
		}
	}
	for _, name := range names {
		cfg := o.Zones[name].withDefaults()
		if err := cfg.validate(name); err != nil {
			return nil, err
		}
		zs, err := s.Sub(string(name))
		if err != nil {
			return nil, err
		}
		l.zones[name] = &Zone{name: name, config: cfg, store: zs.WithEncryption(cfg.KMSKeyID, cfg.RequireEncryption), lake: l}
	}
	sys, err := s.Sub(SystemPrefix)
	if err != nil {
		return nil, err
	}
	l.sys = sys.WithEncryption(o.SystemKMSKeyID, false)
	return l, nil
}

func isDefaultZone(z ZoneName) bool {
	for _, d := range Zones {
		if d == z {
			return true
		}
	}
	return false
}

// URL returns the URL the lake was opened with ("" when made by New).
func (l *Lake) URL() string { return l.url }

// Store returns the store at the lake's root.
func (l *Lake) Store() *Store { return l.store }

// Logger returns the lake's logger (never nil).
func (l *Lake) Logger() *slog.Logger { return l.logger }

// Zone returns a zone by name. Names other than the predefined zones must be
// configured in Options.Zones.
func (l *Lake) Zone(name ZoneName) (*Zone, error) {
	z, ok := l.zones[name]
	if !ok {
		return nil, fmt.Errorf("lake: unknown zone %q (configured: %v): %w", name, l.ZoneNames(), ErrInvalidName)
	}
	return z, nil
}

// MustZone is Zone for the predefined zones; it panics on an unknown name.
func (l *Lake) MustZone(name ZoneName) *Zone {
	z, err := l.Zone(name)
	if err != nil {
		panic(err)
	}
	return z
}

// ZoneNames lists the lake's zones: the predefined ones in data-flow order,
// then configured ones sorted.
func (l *Lake) ZoneNames() []ZoneName {
	out := append([]ZoneName(nil), Zones...)
	var extra []ZoneName
	for n := range l.zones {
		if !isDefaultZone(n) {
			extra = append(extra, n)
		}
	}
	sort.Slice(extra, func(i, j int) bool { return extra[i] < extra[j] })
	return append(out, extra...)
}

// System returns a store for lakekit's own state under _lakekit/<component>.
func (l *Lake) System(component string) (*Store, error) {
	if err := ValidateName("system component", component); err != nil {
		return nil, err
	}
	return l.sys.Sub(component)
}

// Close closes the lake's store.
func (l *Lake) Close() error { return l.store.Close() }
