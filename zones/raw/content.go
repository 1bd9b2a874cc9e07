package raw

import (
	"net/url"
	"strings"
)

// escapeRawName makes an original file name safe for object metadata (S3
// allows only US-ASCII there): percent-encoded, at most 1024 bytes.
func escapeRawName(n string) string {
	e := url.PathEscape(n)
	if len(e) <= 1024 {
		return e
	}
	var b strings.Builder
	for _, r := range n {
		er := url.PathEscape(string(r))
		if b.Len()+len(er) > 1024 {
			break
		}
		b.WriteString(er)
	}
	return b.String()
}

// rawExtension returns the sanitised extension of an original file name,
// ".csv", ".jsonl.gz", or "" when it has none or an odd one.
func rawExtension(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.ToLower(name)
	parts := strings.Split(name, ".")
	if len(parts) < 2 || parts[0] == "" && len(parts) == 2 {
		return ""
	}
	ext := ""
	for i := len(parts) - 1; i >= 1 && i >= len(parts)-2; i-- {
		p := parts[i]
		if p == "" || len(p) > 10 || !isAlnum(p) {
			break
		}
		ext = "." + p + ext
	}
	return ext
}

func isAlnum(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// ContentType returns the content type Land assumes for a file name by
// its extension (a fixed table, the same on every machine), or
// application/octet-stream.
func ContentType(name string) string {
	ext := rawExtension(name)
	if i := strings.LastIndexByte(ext, '.'); i > 0 {
		switch ext[i:] {
		case ".gz", ".zst", ".bz2", ".zip":
			// the encoding says how to unpack; the type is the inner one
			if t, ok := rawTypes[ext[:i]]; ok {
				return t
			}
		}
		ext = ext[i:]
	}
	if t, ok := rawTypes[ext]; ok {
		return t
	}
	return "application/octet-stream"
}

var rawTypes = map[string]string{
	".json":    "application/json",
	".jsonl":   "application/x-ndjson",
	".ndjson":  "application/x-ndjson",
	".csv":     "text/csv",
	".tsv":     "text/tab-separated-values",
	".txt":     "text/plain",
	".xml":     "application/xml",
	".parquet": "application/vnd.apache.parquet",
	".avro":    "application/avro",
	".orc":     "application/x-orc",
	".gz":      "application/gzip",
	".zst":     "application/zstd",
	".zip":     "application/zip",
}
