package lake_test

import (
	"context"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lakekit/lakekit/lake"
)

// A valid partition renders to a path that round-trips, stays one segment
// per key, and is a valid key.
func FuzzPartitionPath(f *testing.F) {
	for _, s := range [][2]string{{"dt", "2024-01-01"}, {"k", "../.."}, {"k", "a/b=c"}, {"k", "%2F"}, {"k", "\x00"}, {"K", "v"}, {"k", ""}, {"k", "é ü"}} {
		f.Add(s[0], s[1], "x")
	}
	f.Fuzz(func(t *testing.T, key, v1, v2 string) {
		p := lake.Partition{{Key: key, Value: v1}, {Key: "second", Value: v2}}
		path, err := p.Path()
		if err != nil {
			return
		}
		segs := strings.Split(path, "/")
		if len(segs) != 2 {
			t.Fatalf("%q rendered to %d segments: %q", p, len(segs), path)
		}
		for _, s := range segs {
			if s == ".." || s == "." || s == "" {
				t.Fatalf("traversal segment in %q", path)
			}
		}
		if err := lake.ValidateKey("db/t/" + path + "/part-0.parquet"); err != nil {
			t.Fatalf("rendered path %q is not a valid key: %v", path, err)
		}
		back, err := lake.ParsePartitionPath(path)
		if err != nil {
			t.Fatalf("ParsePartitionPath(%q): %v", path, err)
		}
		if len(back) != 2 || back[0] != p[0] || back[1] != p[1] {
			t.Fatalf("round trip %q -> %q -> %q", p, path, back)
		}
	})
}

// A key that validates never leaves a directory root.
func FuzzValidateKey(f *testing.F) {
	for _, s := range []string{"a/b", "../x", "a/../../b", "/abs", "a//b", "a\\..\\b", ".lakekit-tmp-x", "é/ü"} {
		f.Add(s)
	}
	root := filepath.FromSlash("/lake/root")
	f.Fuzz(func(t *testing.T, key string) {
		if lake.ValidateKey(key) != nil {
			return
		}
		p := filepath.Join(root, filepath.FromSlash(key))
		if !strings.HasPrefix(p, root+string(filepath.Separator)) {
			t.Fatalf("valid key %q maps outside the root: %q", key, p)
		}
		for _, seg := range strings.Split(key, "/") {
			if seg == ".." || seg == "." || seg == "" {
				t.Fatalf("valid key %q has segment %q", key, seg)
			}
		}
	})
}

// Names that validate are Glue-safe; the sanitizer's output always validates.
func FuzzNames(f *testing.F) {
	for _, s := range []string{"clicks", "Click Events", "a-b", "", "日本", strings.Repeat("a", 300)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if lake.ValidateName(lake.KindTable, name) == nil {
			if len(name) == 0 || len(name) > 255 || strings.ToLower(name) != name || strings.ContainsAny(name, "/.- \x00") {
				t.Fatalf("ValidateName accepted %q", name)
			}
		}
		if s := lake.SanitizeName(name); s != "" {
			if err := lake.ValidateName(lake.KindTable, s); err != nil {
				t.Fatalf("SanitizeName(%q) = %q is invalid: %v", name, s, err)
			}
		}
	})
}

// URL parsing never panics and never echoes a password.
func FuzzParseURL(f *testing.F) {
	for _, s := range []string{"s3://bucket/prefix?region=eu-west-1", "file:///tmp/x", "mem://", "./dir", "s3://u:pw@b/x", "://", "%zz://", "file://\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := lake.ParseURL(s)
		if err != nil {
			if pw, rest := passwordOf(s); pw != "" && len(pw) > 3 && strings.Contains(err.Error(), pw) && !strings.Contains(rest, strings.ToLower(pw)) {
				t.Fatalf("error for %q leaks the password: %v", s, err)
			}
			return
		}
		if u.Scheme == "" {
			t.Fatalf("ParseURL(%q) has no scheme", s)
		}
		if u.User != nil {
			t.Fatalf("ParseURL(%q) kept user info", s)
		}
		// opening with an empty mux must fail cleanly, not panic
		var m lake.URLMux
		if _, err := m.OpenStore(context.Background(), s); err == nil {
			t.Fatal("empty mux opened a store")
		}
	})
}

// passwordOf returns the password of URL s and, lower-cased, the rest of
// the URL without its user info: an error may echo that rest, so a password
// that is also a part of it (s3://x:bucket@bucket) proves no leak.
func passwordOf(s string) (pw, rest string) {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return "", ""
	}
	pw, _ = u.User.Password()
	u.User = nil
	return pw, strings.ToLower(u.String() + " " + u.Host + " " + u.Path)
}
