package lake

import (
	"strings"
	"unicode/utf8"
)

// MaxKeyLength is the longest object key a store accepts (S3's limit).
const MaxKeyLength = 1024

// reservedPrefix starts names that drivers keep for themselves (temporary
// files of the file store). Keys may not contain a segment starting with it.
const reservedPrefix = ".lakekit"

// ValidateKey checks an object key: "/"-separated, relative, no empty, "." or
// ".." segments, no control characters or backslashes, valid UTF-8, at most
// MaxKeyLength bytes. The error wraps ErrInvalidName and names the rule.
func ValidateKey(key string) error {
	switch {
	case key == "":
		return invalid("key", key, "must not be empty")
	case len(key) > MaxKeyLength:
		return invalid("key", key[:64]+"...", "must be at most 1024 bytes")
	case !utf8.ValidString(key):
		return invalid("key", key, "must be valid UTF-8")
	case strings.HasPrefix(key, "/"):
		return invalid("key", key, "must be relative (no leading /)")
	case strings.HasSuffix(key, "/"):
		return invalid("key", key, "must not end with /")
	}
	if err := checkChars("key", key); err != nil {
		return err
	}
	for _, seg := range strings.Split(key, "/") {
		if err := checkSegment(key, seg); err != nil {
			return err
		}
	}
	return nil
}

// validatePrefix checks a listing prefix: like a key, but it may be empty,
// end with "/" and end in a partial segment.
func validatePrefix(prefix string) error {
	if prefix == "" {
		return nil
	}
	if len(prefix) > MaxKeyLength {
		return invalid("prefix", prefix[:64]+"...", "must be at most 1024 bytes")
	}
	if !utf8.ValidString(prefix) {
		return invalid("prefix", prefix, "must be valid UTF-8")
	}
	if strings.HasPrefix(prefix, "/") {
		return invalid("prefix", prefix, "must be relative (no leading /)")
	}
	if err := checkChars("prefix", prefix); err != nil {
		return err
	}
	segs := strings.Split(strings.TrimSuffix(prefix, "/"), "/")
	for i, seg := range segs {
		if i == len(segs)-1 && !strings.HasSuffix(prefix, "/") {
			// a partial last segment may be anything but a traversal
			if seg == ".." || seg == "." {
				return invalid("prefix", prefix, `must not contain "." or ".." segments`)
			}
			continue
		}
		if err := checkSegment(prefix, seg); err != nil {
			return err
		}
	}
	return nil
}

func checkChars(kind, s string) error {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return invalid(kind, s, "must not contain control characters (NUL, newline, ...)")
		}
		if r == '\\' {
			return invalid(kind, s, `must not contain backslashes`)
		}
	}
	return nil
}

func checkSegment(key, seg string) error {
	switch {
	case seg == "":
		return invalid("key", key, "must not contain empty segments (//)")
	case seg == "." || seg == "..":
		return invalid("key", key, `must not contain "." or ".." segments`)
	case strings.HasPrefix(seg, reservedPrefix):
		return invalid("key", key, "segments starting with "+reservedPrefix+" are reserved")
	}
	return nil
}

// JoinKey joins key segments with "/", ignoring empty ones.
func JoinKey(parts ...string) string {
	var b strings.Builder
	for _, p := range parts {
		p = strings.Trim(p, "/")
		if p == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('/')
		}
		b.WriteString(p)
	}
	return b.String()
}
