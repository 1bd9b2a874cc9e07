// Package filestore is a lake store driver over a local directory. Open it
// with lake.Open(ctx, "file:///path/to/lake", nil) or a plain path.
//
// Puts are atomic: data goes to a temporary file in the target directory,
// is fsynced, then renamed over the target, and the directory is fsynced; a
// crash leaves the old object or the new one, never a part. Create-if-absent
// links the temporary file to the target name (link fails if the name
// exists), which is atomic across processes. Object metadata (content type,
// user metadata, KMS key id) is kept in a sidecar under .lakekit-meta/.
// Keys never leave the root: lake.Store refuses "..", absolute keys and the
// like, and the driver checks again that every path stays below the root.
//
// As: *string (the root directory).
package filestore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/lakekit/lakekit/lake/driver"
)

const (
	tmpPrefix = ".lakekit-tmp-"
	metaDir   = ".lakekit-meta"
)

// Options for New. A nil *Options means defaults: the root directory is
// made if it does not exist but its parent does, so a lake folder appears
// where asked while a misspelt parent path is an error.
type Options struct {
	// Create makes the root directory and any missing parents.
	Create bool
	// MustExist refuses a root directory that does not exist yet (it wins
	// over Create).
	MustExist bool
	// NoSync skips fsync (faster, for tests and scratch lakes; a crash may
	// then lose recent puts, but never exposes a partial object).
	NoSync bool
}

// Driver is the file driver.
type Driver struct {
	root   string
	noSync bool
}

var (
	_ driver.Driver         = (*Driver)(nil)
	_ driver.ReaderAtOpener = (*Driver)(nil)
	_ driver.Mover          = (*Driver)(nil)
	_ driver.Syncer         = (*Driver)(nil)
)

// New opens a driver rooted at dir. A root that is missing, or whose
// parent is missing (see Options), is an error matching driver.ErrNotFound
// (lake.ErrNotFound) that names the missing directory.
func New(dir string, opts *Options) (*Driver, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("filestore: %w", err)
	}
	if err := makeRoot(abs, o); err != nil {
		return nil, err
	}
	st, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("filestore: root: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("filestore: root %s is not a directory", abs)
	}
	return &Driver{root: abs, noSync: o.NoSync}, nil
}

// makeRoot makes the root directory as o says: nothing when it exists or
// o.MustExist, the root and its parents with o.Create, else the root alone.
func makeRoot(abs string, o Options) error {
	if _, err := os.Stat(abs); err == nil || !errors.Is(err, fs.ErrNotExist) {
		return nil // exists, or a failure the Stat in New reports
	}
	switch {
	case o.MustExist:
		return fmt.Errorf("filestore: root %s does not exist: %w", abs, driver.ErrNotFound)
	case o.Create:
		if err := os.MkdirAll(abs, 0o755); err != nil {
			return fmt.Errorf("filestore: create root: %w", err)
		}
		return nil
	}
	err := os.Mkdir(abs, 0o755)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("filestore: root %s: its parent %s does not exist (a misspelt path? Options.Create, or ?create=true in a file URL, makes missing parents): %w",
			abs, filepath.Dir(abs), driver.ErrNotFound)
	}
	if err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("filestore: create root: %w", err)
	}
	return nil
}

// path maps a key to a file path, refusing anything that would leave the root.
func (d *Driver) path(key string) (string, error) {
	if key == "" || strings.Contains(key, "\\") || strings.ContainsRune(key, 0) {
		return "", fmt.Errorf("filestore: key %q: %w", key, driver.ErrInvalidName)
	}
	p := filepath.Join(d.root, filepath.FromSlash(key))
	if !strings.HasPrefix(p, d.root+string(filepath.Separator)) {
		return "", fmt.Errorf("filestore: key %q leaves the root: %w", key, driver.ErrInvalidName)
	}
	return p, nil
}

func (d *Driver) metaPath(key string) string {
	return filepath.Join(d.root, metaDir, filepath.FromSlash(key)+".json")
}

type sidecar struct {
	ContentType string            `json:"content_type,omitempty"`
	Metadata    map[string]string `json:"metadata,omitempty"`
	SSEKMSKeyID string            `json:"sse_kms_key_id,omitempty"`
}

// Put implements driver.Driver.
func (d *Driver) Put(ctx context.Context, key string, body io.Reader, size int64, opts *driver.PutOptions) error {
	if opts == nil {
		opts = &driver.PutOptions{}
	}
	p, err := d.path(key)
	if err != nil {
		return err
	}
	dir := filepath.Dir(p)
	var tmp string
	for try := 0; ; try++ {
		// A concurrent delete or move removes folders it leaves empty; one
		// may vanish between MkdirAll's steps or before the temporary
		// file: make it again (the body is not read until CreateTemp
		// succeeded).
		err = os.MkdirAll(dir, 0o755)
		if err == nil {
			tmp, err = d.writeTemp(ctx, dir, body, size, !opts.Deferred)
		}
		if err == nil || !errors.Is(err, fs.ErrNotExist) || try >= 8 {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("filestore: put %q: %w", key, err)
	}
	defer os.Remove(tmp) // no-op after a successful rename
	sc := sidecar{ContentType: opts.ContentType, Metadata: opts.Metadata, SSEKMSKeyID: opts.SSEKMSKeyID}
	if sc.ContentType == impliedContentType(key) {
		sc.ContentType = "" // the name says it: no sidecar needed for it
	}
	hasMeta := sc.ContentType != "" || len(sc.Metadata) > 0 || sc.SSEKMSKeyID != ""
	if opts.IfNotExists {
		// link fails with EEXIST when the name is taken: atomic create-if-absent.
		if err := os.Link(tmp, p); err != nil {
			if errors.Is(err, fs.ErrExist) {
				return fmt.Errorf("filestore: create %q: %w", key, driver.ErrExists)
			}
			return d.mapErr("create", key, err)
		}
		// The object exists from the link on: its metadata follows the
		// winner's link, never a loser's, and is written even when ctx is
		// cancelled now — a create that landed must not report failure
		// (a caller would retry and write its data twice).
		if hasMeta {
			if err := d.writeMeta(context.WithoutCancel(ctx), key, sc, !opts.Deferred); err != nil {
				return err
			}
		}
	} else {
		if hasMeta {
			if err := d.writeMeta(ctx, key, sc, !opts.Deferred); err != nil {
				return err
			}
		} else {
			os.Remove(d.metaPath(key))
		}
		if err := os.Rename(tmp, p); err != nil {
			return d.mapErr("put", key, err)
		}
	}
	if opts.Deferred {
		return nil // Sync makes it durable
	}
	return d.syncDir(dir)
}

func (d *Driver) writeMeta(ctx context.Context, key string, sc sidecar, sync bool) error {
	b, err := json.Marshal(sc)
	if err != nil {
		return err
	}
	mp := d.metaPath(key)
	if err := os.MkdirAll(filepath.Dir(mp), 0o755); err != nil {
		return d.mapErr("put metadata", key, err)
	}
	tmp, err := d.writeTemp(ctx, filepath.Dir(mp), strings.NewReader(string(b)), int64(len(b)), sync)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, mp); err != nil {
		os.Remove(tmp)
		return d.mapErr("put metadata", key, err)
	}
	return nil
}

// writeTemp writes body to a new temporary file in dir, fsync'd when sync
// (and the driver syncs at all).
func (d *Driver) writeTemp(ctx context.Context, dir string, body io.Reader, size int64, sync bool) (string, error) {
	f, err := os.CreateTemp(dir, tmpPrefix+"*")
	if err != nil {
		return "", err
	}
	name := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(name)
		}
	}()
	n, err := io.Copy(f, ctxReader{ctx, body})
	if err != nil {
		return "", err
	}
	if size >= 0 && n != size {
		return "", fmt.Errorf("body had %d bytes, expected %d", n, size)
	}
	if sync && !d.noSync {
		if err := fsync(f); err != nil {
			return "", err
		}
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	ok = true
	return name, nil
}

func (d *Driver) syncDir(dir string) error {
	if d.noSync {
		return nil
	}
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := fsync(f); err != nil && !errors.Is(err, syscall.EINVAL) {
		return err
	}
	return nil
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (r ctxReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}

func (d *Driver) mapErr(op, key string, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("filestore: %s %q: %w (%w)", op, key, driver.ErrNotFound, err)
	case errors.Is(err, syscall.ENOTDIR):
		// a path segment is a file: the key cannot exist
		return fmt.Errorf("filestore: %s %q: %w (%w)", op, key, driver.ErrNotFound, err)
	}
	return fmt.Errorf("filestore: %s %q: %w", op, key, err)
}

func (d *Driver) attrs(key, p string, st fs.FileInfo) *driver.Attributes {
	a := &driver.Attributes{
		Key: key, Size: st.Size(), ModTime: st.ModTime(),
		ETag: strconv.FormatInt(st.Size(), 16) + "-" + strconv.FormatInt(st.ModTime().UnixNano(), 16) + "-" + inode(st),
	}
	if b, err := os.ReadFile(d.metaPath(key)); err == nil {
		var sc sidecar
		if json.Unmarshal(b, &sc) == nil {
			a.ContentType, a.Metadata, a.SSEKMSKeyID = sc.ContentType, sc.Metadata, sc.SSEKMSKeyID
		}
	}
	if a.ContentType == "" {
		a.ContentType = impliedContentType(key)
	}
	return a
}

// impliedContentTypes are the content types of objects stored with none
// (or with exactly this one) by the name's extension: lakekit's data files
// and log objects carry these, so they need no metadata sidecar — one
// file fewer to create, fsync and move for each (a commit of 100 data
// files created and moved 100 sidecars).
var impliedContentTypes = map[string]string{
	".parquet": "application/vnd.apache.parquet",
	".json":    "application/json",
}

func impliedContentType(key string) string {
	return impliedContentTypes[path.Ext(key)]
}

func inode(st fs.FileInfo) string {
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		return strconv.FormatUint(uint64(s.Ino), 16)
	}
	return "0"
}

func (d *Driver) open(key string) (*os.File, *driver.Attributes, error) {
	p, err := d.path(key)
	if err != nil {
		return nil, nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, nil, d.mapErr("get", key, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, d.mapErr("get", key, err)
	}
	if st.IsDir() {
		f.Close()
		return nil, nil, fmt.Errorf("filestore: get %q: is a prefix, not an object: %w", key, driver.ErrNotFound)
	}
	return f, d.attrs(key, p, st), nil
}

// Get implements driver.Driver.
func (d *Driver) Get(ctx context.Context, key string, off, length int64) (io.ReadCloser, *driver.Attributes, error) {
	f, a, err := d.open(key)
	if err != nil {
		return nil, nil, err
	}
	start, end := driver.ClampRange(a.Size, off, length)
	return &sectionCloser{io.NewSectionReader(f, start, end-start), f}, a, nil
}

type sectionCloser struct {
	*io.SectionReader
	f *os.File
}

func (s *sectionCloser) Close() error { return s.f.Close() }

// OpenReaderAt implements driver.ReaderAtOpener with the file itself.
func (d *Driver) OpenReaderAt(ctx context.Context, key string) (driver.ReaderAtCloser, *driver.Attributes, error) {
	f, a, err := d.open(key)
	if err != nil {
		return nil, nil, err
	}
	return f, a, nil
}

// Stat implements driver.Driver.
func (d *Driver) Stat(ctx context.Context, key string) (*driver.Attributes, error) {
	p, err := d.path(key)
	if err != nil {
		return nil, err
	}
	st, err := os.Stat(p)
	if err != nil {
		return nil, d.mapErr("stat", key, err)
	}
	if st.IsDir() {
		return nil, fmt.Errorf("filestore: stat %q: is a prefix, not an object: %w", key, driver.ErrNotFound)
	}
	return d.attrs(key, p, st), nil
}

// Move implements driver.Mover with a rename (atomic; the metadata sidecar
// is copied first, so dst never appears without it).
func (d *Driver) Move(ctx context.Context, src, dst string, _ *driver.PutOptions) error {
	ps, err := d.path(src)
	if err != nil {
		return err
	}
	pd, err := d.path(dst)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	// the sidecar first, as a hard link (no copy, no fsync: its content is
	// already durable), so dst never appears without its metadata
	// (concurrent movers of one object are normal: committers roll each
	// other's files forward): a sidecar already linked by another mover
	// (EEXIST), or already gone with the move finished (ENOENT), is fine
	if ms, md := d.metaPath(src), d.metaPath(dst); fileExists(ms) {
		if err := os.MkdirAll(filepath.Dir(md), 0o755); err != nil {
			return d.mapErr("move metadata", dst, err)
		}
		if err := os.Link(ms, md); err != nil && !errors.Is(err, fs.ErrExist) && !errors.Is(err, fs.ErrNotExist) {
			return d.mapErr("move metadata", dst, err)
		}
	} else if ct := impliedContentType(src); ct != "" && ct != impliedContentType(dst) && fileExists(ps) {
		// src's type came from its name, which dst does not share
		if err := d.writeMeta(ctx, dst, sidecar{ContentType: ct}, true); err != nil {
			return err
		}
	}
	dir := filepath.Dir(pd)
	err = os.MkdirAll(dir, 0o755)
	if err == nil {
		err = os.Rename(ps, pd)
	}
	for try := 0; errors.Is(err, fs.ErrNotExist) && try < 5; try++ {
		if _, serr := os.Stat(ps); serr != nil {
			break // the source is gone: handled below
		}
		// a concurrent delete removed dst's empty folder: make it again
		if err = os.MkdirAll(dir, 0o755); err == nil {
			err = os.Rename(ps, pd)
		}
	}
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			if st, serr := os.Stat(pd); serr == nil && !st.IsDir() {
				return nil // moved already
			}
			return fmt.Errorf("filestore: move %q: %w", src, driver.ErrNotFound)
		}
		return d.mapErr("move", src, err)
	}
	os.Remove(d.metaPath(src))
	if err := d.syncDir(dir); err != nil {
		return err
	}
	for p := filepath.Dir(ps); p != d.root && strings.HasPrefix(p, d.root); p = filepath.Dir(p) {
		if os.Remove(p) != nil {
			break
		}
	}
	return nil
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// Delete implements driver.Driver. Directories left empty are removed, up to
// the root, so listings do not show empty prefixes.
func (d *Driver) Delete(ctx context.Context, keys []string) error {
	for _, key := range keys {
		if err := ctx.Err(); err != nil {
			return err
		}
		p, err := d.path(key)
		if err != nil {
			return err
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
			return d.mapErr("delete", key, err)
		}
		os.Remove(d.metaPath(key))
		for dir := filepath.Dir(p); dir != d.root && strings.HasPrefix(dir, d.root); dir = filepath.Dir(dir) {
			if os.Remove(dir) != nil {
				break // not empty (or a concurrent put): stop
			}
		}
	}
	return nil
}

// List implements driver.Driver. It walks only the directory the prefix
// names, collects the keys and sorts them by byte order, as S3 does.
func (d *Driver) List(ctx context.Context, opts driver.ListOptions) iter.Seq2[driver.ListEntry, error] {
	return func(yield func(driver.ListEntry, error) bool) {
		base := d.root
		if i := strings.LastIndex(opts.Prefix, "/"); i >= 0 {
			p, err := d.path(opts.Prefix[:i])
			if err != nil {
				yield(driver.ListEntry{}, err)
				return
			}
			base = p
		}
		var entries []driver.ListEntry
		err := filepath.WalkDir(base, func(p string, de fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
					return nil
				}
				return err
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			name := de.Name()
			if strings.HasPrefix(name, ".lakekit") && p != d.root {
				if de.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if de.IsDir() {
				return nil
			}
			rel, err := filepath.Rel(d.root, p)
			if err != nil {
				return err
			}
			key := filepath.ToSlash(rel)
			if !strings.HasPrefix(key, opts.Prefix) {
				return nil
			}
			st, err := de.Info()
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return nil // deleted while we walked
				}
				return err
			}
			a := driver.ListEntry{Key: key, Size: st.Size(), ModTime: st.ModTime(),
				ETag: strconv.FormatInt(st.Size(), 16) + "-" + strconv.FormatInt(st.ModTime().UnixNano(), 16) + "-" + inode(st)}
			entries = append(entries, a)
			return nil
		})
		if err != nil {
			yield(driver.ListEntry{}, fmt.Errorf("filestore: list %q: %w", opts.Prefix, err))
			return
		}
		sort.Slice(entries, func(i, j int) bool { return entries[i].Key < entries[j].Key })
		for e := range driver.GroupByDelimiter(entries, opts) {
			if !yield(e, nil) {
				return
			}
		}
	}
}

// As implements driver.Driver: *string receives the root directory.
func (d *Driver) As(i any) bool {
	p, ok := i.(*string)
	if ok {
		*p = d.root
	}
	return ok
}

// Close implements driver.Driver.
func (d *Driver) Close() error { return nil }

// Location implements driver.Locator: file:///root/key.
func (d *Driver) Location(key string) string {
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(filepath.Join(d.root, filepath.FromSlash(key))) + trailingSlash(key)}).String()
}

func trailingSlash(key string) string {
	if strings.HasSuffix(key, "/") {
		return "/"
	}
	return ""
}
