package lake

import (
	"context"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"sync"

	"github.com/lakekit/lakekit/lake/driver"
	"github.com/lakekit/lakekit/lake/filestore"
	"github.com/lakekit/lakekit/lake/memstore"
)

// StoreURLOpener opens a driver for a URL of its scheme.
type StoreURLOpener interface {
	OpenStoreURL(ctx context.Context, u *url.URL) (driver.Driver, error)
}

// StoreURLOpenerFunc adapts a function to StoreURLOpener.
type StoreURLOpenerFunc func(ctx context.Context, u *url.URL) (driver.Driver, error)

// OpenStoreURL calls f.
func (f StoreURLOpenerFunc) OpenStoreURL(ctx context.Context, u *url.URL) (driver.Driver, error) {
	return f(ctx, u)
}

// URLMux maps URL schemes to store openers. Its zero value is an empty mux;
// DefaultURLMux has file and mem, and s3 once lake/s3store is imported.
type URLMux struct {
	mu      sync.RWMutex
	openers map[string]StoreURLOpener
}

// Register adds an opener for scheme. Like database/sql.Register, it panics
// when the scheme is registered twice or the opener is nil.
func (m *URLMux) Register(scheme string, o StoreURLOpener) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if o == nil {
		panic("lake: Register opener is nil for scheme " + scheme)
	}
	if _, dup := m.openers[scheme]; dup {
		panic("lake: Register called twice for scheme " + scheme)
	}
	if m.openers == nil {
		m.openers = make(map[string]StoreURLOpener)
	}
	m.openers[scheme] = o
}

// Schemes lists the registered schemes, sorted.
func (m *URLMux) Schemes() []string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	s := make([]string, 0, len(m.openers))
	for k := range m.openers {
		s = append(s, k)
	}
	sort.Strings(s)
	return s
}

// knownImports says which package registers a scheme, for error messages.
var knownImports = map[string]string{
	"s3":   "github.com/lakekit/lakekit/lake/s3store",
	"file": "github.com/lakekit/lakekit/lake/filestore",
	"mem":  "github.com/lakekit/lakekit/lake/memstore",
}

// OpenStore opens the store a URL names. A string without "://" is taken as
// a local directory path.
func (m *URLMux) OpenStore(ctx context.Context, urlstr string) (*Store, error) {
	u, err := ParseURL(urlstr)
	if err != nil {
		return nil, err
	}
	m.mu.RLock()
	o := m.openers[u.Scheme]
	m.mu.RUnlock()
	if o == nil {
		hint := ""
		if imp, ok := knownImports[u.Scheme]; ok {
			hint = fmt.Sprintf(" (forgotten import? add: import _ %q)", imp)
		}
		return nil, fmt.Errorf("lake: open %q: scheme %q is not registered%s; registered: %s: %w",
			redactURL(u), u.Scheme, hint, strings.Join(m.Schemes(), ", "), ErrUnknownScheme)
	}
	d, err := o.OpenStoreURL(ctx, u)
	if err != nil {
		return nil, fmt.Errorf("lake: open %q: %w", redactURL(u), err)
	}
	return NewStore(d), nil
}

// ParseURL parses a lake URL. A string without "://" is a local path and
// becomes a file URL.
func ParseURL(urlstr string) (*url.URL, error) {
	if urlstr == "" {
		return nil, fmt.Errorf("lake: empty lake URL: %w", ErrInvalidURL)
	}
	if !strings.Contains(urlstr, "://") {
		if strings.ContainsRune(urlstr, 0) {
			return nil, fmt.Errorf("lake: path %q contains NUL: %w", urlstr, ErrInvalidURL)
		}
		return &url.URL{Scheme: "file", Path: urlstr}, nil
	}
	u, err := url.Parse(urlstr)
	if err != nil {
		return nil, fmt.Errorf("lake: parse URL: %w: %w", ErrInvalidURL, err)
	}
	if u.Scheme == "" {
		return nil, fmt.Errorf("lake: URL %q has no scheme: %w", urlstr, ErrInvalidURL)
	}
	if u.User != nil {
		return nil, fmt.Errorf("lake: URL %q: credentials do not belong in a lake URL (use the AWS credential chain): %w", redactURL(u), ErrInvalidURL)
	}
	return u, nil
}

// redactURL drops user info and query values that could be secrets.
func redactURL(u *url.URL) string {
	c := *u
	c.User = nil
	q := c.Query()
	for k := range q {
		if strings.Contains(strings.ToLower(k), "secret") || strings.Contains(strings.ToLower(k), "token") || strings.Contains(strings.ToLower(k), "password") {
			q.Set(k, "REDACTED")
			continue
		}
		// a URL in a parameter (an endpoint) may carry user:password
		if v, err := url.Parse(q.Get(k)); err == nil && v.User != nil {
			v.User = nil
			q.Set(k, v.String())
		}
	}
	c.RawQuery = q.Encode()
	return c.String()
}

// onlyParams refuses query parameters other than the allowed ones, so a
// misspelt option is an error instead of being ignored.
func onlyParams(u *url.URL, allowed ...string) error {
	for k := range u.Query() {
		ok := false
		for _, a := range allowed {
			ok = ok || k == a
		}
		if !ok {
			return fmt.Errorf("%s URL: unknown parameter %q (known: %s): %w", u.Scheme, k, strings.Join(allowed, ", "), ErrInvalidURL)
		}
	}
	if v := u.Query().Get("create"); v != "" && v != "true" && v != "false" {
		return fmt.Errorf("%s URL: create=%q, want true or false: %w", u.Scheme, v, ErrInvalidURL)
	}
	return nil
}

var defaultMux = func() *URLMux {
	m := new(URLMux)
	m.Register("file", StoreURLOpenerFunc(func(ctx context.Context, u *url.URL) (driver.Driver, error) {
		dir := u.Path
		if u.Host != "" && u.Host != "localhost" {
			dir = u.Host + u.Path // file://relative/dir
		}
		if dir == "" {
			return nil, fmt.Errorf("file URL names no directory: %w", ErrInvalidURL)
		}
		if err := onlyParams(u, "create"); err != nil {
			return nil, err
		}
		create := u.Query().Get("create")
		return filestore.New(dir, &filestore.Options{Create: create == "true", MustExist: create == "false"})
	}))
	m.Register("mem", StoreURLOpenerFunc(func(ctx context.Context, u *url.URL) (driver.Driver, error) {
		if err := onlyParams(u); err != nil {
			return nil, err
		}
		if u.Host == "" {
			return memstore.New(), nil
		}
		return memstore.Named(u.Host), nil
	}))
	return m
}()

// DefaultURLMux is the mux Open and OpenStore use. Drivers register their
// schemes on it in init functions.
func DefaultURLMux() *URLMux { return defaultMux }

// OpenStore opens a store by URL with DefaultURLMux: "file:///dir",
// "mem://" (new, empty), "mem://name" (shared within the process),
// "s3://bucket/prefix?region=..." (with lake/s3store imported), or a path.
func OpenStore(ctx context.Context, urlstr string) (*Store, error) {
	return defaultMux.OpenStore(ctx, urlstr)
}
