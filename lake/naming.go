package lake

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// MaxNameLength is the longest database, table or column name (Glue's limit).
const MaxNameLength = 255

// The kinds of names ValidateName checks; they appear in error messages.
const (
	KindDatabase  = "database name"
	KindTable     = "table name"
	KindColumn    = "column name"
	KindPartition = "partition key"
	KindSource    = "source name"
)

// ValidateName checks a database, table, column or partition key name
// against the Glue/Athena rule: 1 to 255 characters, lower case ASCII letters,
// digits and underscore. Nothing is rewritten: a bad name gets an error
// wrapping ErrInvalidName that names the rule (see SanitizeName to rewrite).
func ValidateName(kind, name string) error {
	if name == "" {
		return invalid(kind, name, "must not be empty")
	}
	if len(name) > MaxNameLength {
		return invalid(kind, name[:32]+"...", fmt.Sprintf("must be at most %d characters, got %d", MaxNameLength, len(name)))
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '_':
		case c >= 'A' && c <= 'Z':
			return invalid(kind, name, "must be lower case (Glue and Athena fold names to lower case)")
		default:
			return invalid(kind, name, fmt.Sprintf("may contain only lower case letters, digits and underscore, found %q", rune(c)))
		}
	}
	return nil
}

// SanitizeName rewrites s into a valid name: lower case, every run of other
// characters replaced by one underscore, cut to MaxNameLength. It returns ""
// when nothing usable remains. Use it only where the caller asks for
// sanitising: lakekit never renames silently.
func SanitizeName(s string) string {
	var b strings.Builder
	under := false
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			under = false
			continue
		}
		if !under && b.Len() > 0 {
			b.WriteByte('_')
			under = true
		}
	}
	out := strings.TrimSuffix(b.String(), "_")
	if len(out) > MaxNameLength {
		out = out[:MaxNameLength]
	}
	return out
}

// KV is one partition key and its value.
type KV struct{ Key, Value string }

// Partition is an ordered list of partition keys and values, e.g.
// [{dt 2024-01-02} {region eu}] for dt=2024-01-02/region=eu.
type Partition []KV

// String renders the partition as a Hive path (without trailing slash), or
// "<invalid>" when it does not validate.
func (p Partition) String() string {
	s, err := p.Path()
	if err != nil {
		return "<invalid>"
	}
	return s
}

// Get returns the value of key.
func (p Partition) Get(key string) (string, bool) {
	for _, kv := range p {
		if kv.Key == key {
			return kv.Value, true
		}
	}
	return "", false
}

// Map returns the partition as a map.
func (p Partition) Map() map[string]string {
	m := make(map[string]string, len(p))
	for _, kv := range p {
		m[kv.Key] = kv.Value
	}
	return m
}

// Values returns the values in key order.
func (p Partition) Values() []string {
	v := make([]string, len(p))
	for i, kv := range p {
		v[i] = kv.Value
	}
	return v
}

// Validate checks keys (ValidateName) and values (ValidatePartitionValue)
// and refuses repeated keys.
func (p Partition) Validate() error {
	seen := make(map[string]bool, len(p))
	for _, kv := range p {
		if err := ValidateName(KindPartition, kv.Key); err != nil {
			return err
		}
		if seen[kv.Key] {
			return invalid(KindPartition, kv.Key, "appears twice in one partition")
		}
		seen[kv.Key] = true
		if err := ValidatePartitionValue(kv.Key, kv.Value); err != nil {
			return err
		}
	}
	return nil
}

// Path renders the partition as Hive path segments "k1=v1/k2=v2", with values
// escaped the way Hive escapes them, so a value can never leave its table's
// prefix. An empty partition renders as "".
func (p Partition) Path() (string, error) {
	if err := p.Validate(); err != nil {
		return "", err
	}
	return p.HivePath(), nil
}

// HivePath renders the partition as Path does, without validating it: the
// one place lakekit builds a Hive partition path, for partitions already
// validated (Path checks first). An empty partition renders as "".
func (p Partition) HivePath() string {
	if len(p) == 0 {
		return ""
	}
	segs := make([]string, len(p))
	for i, kv := range p {
		segs[i] = kv.Key + "=" + EscapePartitionValue(kv.Value)
	}
	return strings.Join(segs, "/")
}

// NullPartitionValue is the partition value Hive, Glue, Athena and Spark
// write and read as NULL: a nil (pointer) partition field is filed under
// key=__HIVE_DEFAULT_PARTITION__ and reads back as nil.
const NullPartitionValue = "__HIVE_DEFAULT_PARTITION__"

// MaxPartitionValueLength bounds a partition value, so that the escaped path
// stays within S3's key length.
const MaxPartitionValueLength = 256

// ValidatePartitionValue refuses values no engine handles well: empty values
// (Hive would file them under __HIVE_DEFAULT_PARTITION__), invalid UTF-8,
// control characters, and values over MaxPartitionValueLength bytes. Every
// other character is allowed and escaped in paths.
func ValidatePartitionValue(key, v string) error {
	kind := "value of partition key " + key
	switch {
	case v == "":
		return invalid(kind, v, "must not be empty")
	case len(v) > MaxPartitionValueLength:
		return invalid(kind, v[:32]+"...", fmt.Sprintf("must be at most %d bytes", MaxPartitionValueLength))
	case !utf8.ValidString(v):
		return invalid(kind, v, "must be valid UTF-8")
	}
	for _, r := range v {
		if r < 0x20 || r == 0x7f {
			return invalid(kind, v, "must not contain control characters (NUL, newline, ...)")
		}
	}
	if n := len(key) + 1 + len(EscapePartitionValue(v)); n > MaxPathSegmentLength {
		return invalid(kind, v[:min(len(v), 32)]+"...", fmt.Sprintf("makes the folder %s=... %d bytes once escaped; at most %d fit a folder name on local file systems", key, n, MaxPathSegmentLength))
	}
	return nil
}

// MaxPathSegmentLength bounds one folder name of a key ("key=escaped
// value"): 255 bytes, the limit of ext4, XFS, APFS and NTFS, so that a
// partition valid on S3 is valid on a file lake too.
const MaxPathSegmentLength = 255

// hiveEscape lists the characters Hive's FileUtils.escapePathName escapes,
// besides control characters.
const hiveEscape = "\"#%'*/:=?\\\x7f{[]^"

// EscapePartitionValue escapes v as Hive does in partition paths: each of
// " # % ' * / : = ? \ { [ ] ^ DEL and control characters becomes %XX.
func EscapePartitionValue(v string) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < 0x20 || strings.IndexByte(hiveEscape, c) >= 0 {
			fmt.Fprintf(&b, "%%%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// UnescapePartitionValue reverses EscapePartitionValue.
func UnescapePartitionValue(s string) (string, error) {
	if !strings.Contains(s, "%") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
			return "", invalid("escaped partition value", s, "has a % not followed by two hex digits")
		}
		b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
		i += 2
	}
	return b.String(), nil
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// ParsePartitionPath parses "k1=v1/k2=v2" (any "/"-separated segments of the
// form key=value; other segments are an error) into a Partition.
func ParsePartitionPath(path string) (Partition, error) {
	path = strings.Trim(path, "/")
	if path == "" {
		return nil, nil
	}
	var p Partition
	for _, seg := range strings.Split(path, "/") {
		k, v, ok := strings.Cut(seg, "=")
		if !ok {
			return nil, invalid("partition path segment", seg, "must have the form key=value")
		}
		uv, err := UnescapePartitionValue(v)
		if err != nil {
			return nil, err
		}
		p = append(p, KV{k, uv})
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return p, nil
}
