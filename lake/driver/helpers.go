package driver

import (
	"iter"
	"strings"
)

// ClampRange turns (off, length) as Get takes them into [start, end) within
// an object of size bytes.
func ClampRange(size, off, length int64) (start, end int64) {
	if off < 0 {
		start = size + off
		if start < 0 {
			start = 0
		}
		return start, size
	}
	start = off
	if start > size {
		start = size
	}
	end = size
	if length >= 0 && start+length < size {
		end = start + length
	}
	return start, end
}

// GroupByDelimiter turns a sorted listing of objects into the listing with a
// delimiter: keys with the delimiter after the prefix collapse into one
// IsDir entry for their common prefix. Without a delimiter it passes entries
// through.
func GroupByDelimiter(sorted []ListEntry, opts ListOptions) iter.Seq[ListEntry] {
	return func(yield func(ListEntry) bool) {
		last := ""
		for _, e := range sorted {
			if opts.Delimiter != "" {
				rest := e.Key[len(opts.Prefix):]
				if i := strings.Index(rest, opts.Delimiter); i >= 0 {
					dir := opts.Prefix + rest[:i+len(opts.Delimiter)]
					if dir == last {
						continue
					}
					last = dir
					if !yield(ListEntry{Key: dir, IsDir: true}) {
						return
					}
					continue
				}
			}
			if !yield(e) {
				return
			}
		}
	}
}
