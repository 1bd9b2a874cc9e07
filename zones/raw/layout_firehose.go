package raw

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// FirehoseDefaultTimePrefix is the time prefix Amazon Data Firehose adds
// when a destination's Prefix holds no expression.
const FirehoseDefaultTimePrefix = "!{timestamp:yyyy/MM/dd/HH}/"

// FirehoseDefaultErrorPrefix is the error output prefix, relative to the
// dataset's raw prefix, that FirehoseLayout reads by default:
// FirehoseErrorFolder, then the error type and the hour.
const FirehoseDefaultErrorPrefix = FirehoseErrorFolder + "/!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd/HH}/"

// FirehoseLayout reads what Amazon Data Firehose delivers to an S3
// destination whose Prefix is the dataset's raw prefix
// ("<lake prefix>raw/<source>/<dataset>/", optionally followed by
// FirehoseLayout.Prefix) — the object name format of the Firehose
// developer guide ("Configure Amazon S3 object name format",
// https://docs.aws.amazon.com/firehose/latest/dev/s3-object-name.html):
//
//	<evaluated prefix><stream>-<stream version>-YYYY-MM-dd-HH-mm-ss-<uuid><file extension>
//
// where the evaluated prefix is YYYY/MM/dd/HH/ (UTC) unless a custom prefix
// with expressions replaces it ("Understand custom prefixes for Amazon S3
// objects", https://docs.aws.amazon.com/firehose/latest/dev/s3-prefixes.html:
// !{timestamp:<Java DateTimeFormatter pattern>}, !{firehose:random-string},
// !{partitionKeyFromQuery:<key>}, !{partitionKeyFromLambda:<key>}).
// Objects are read by the time in their name (the arrival of their oldest
// record), then key; that time is the ingest time and its date the
// ingest_date partition. Dynamic partitioning keys go to Landed.Partition.
//
// Objects under the error output prefix are ErrorOutput: JSON documents
// with the failed record base64-encoded in rawData and an error code
// ("Handling errors for data format conversion",
// https://docs.aws.amazon.com/firehose/latest/dev/record-format-conversion-error-handling.html;
// the data transformation failure records have the same rawData,
// errorCode and errorMessage fields). ReadFirehoseErrors decodes them;
// transforms quarantine each record with its error code.
//
// RenderFirehose's set-up delivers where the zero FirehoseLayout reads.
type FirehoseLayout struct {
	// Prefix is the part of the destination's Prefix after the dataset's
	// raw prefix, with Firehose's expressions; empty means Firehose's
	// default time prefix YYYY/MM/dd/HH/. Without any expression Firehose
	// adds the default time prefix after it, and so does the layout.
	Prefix string
	// ErrorPrefix is the part of the destination's ErrorOutputPrefix after
	// the dataset's raw prefix, with expressions
	// (!{firehose:error-output-type} among them); empty means
	// FirehoseDefaultErrorPrefix.
	ErrorPrefix string
	// Stream is the delivery stream's name; empty accepts any stream's
	// objects.
	Stream string
	// TimeZone is the destination's CustomTimeZone; nil means UTC.
	TimeZone *time.Location

	once     sync.Once
	data     *regexp.Regexp
	errs     *regexp.Regexp
	partKeys []string
	err      error
}

// Name returns "firehose".
func (f *FirehoseLayout) Name() string { return "firehose" }

// firehoseSuffix is the object name after the evaluated prefix. The
// stream's name may hold '-', so the rest of the name anchors it.
const firehoseSuffix = `(?P<stream>[A-Za-z0-9_.-]+)-(?P<version>\d+)-(?P<time>\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2})-` +
	`[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}` + dataExt

func (f *FirehoseLayout) compile() error {
	f.once.Do(func() {
		p := f.Prefix
		if !strings.Contains(p, "!{") {
			p += FirehoseDefaultTimePrefix
		}
		var keys []string
		dataRE, err := firehosePrefixRE(p, false, &keys)
		if err != nil {
			f.err = fmt.Errorf("raw: Firehose layout: Prefix %q: %w", f.Prefix, err)
			return
		}
		ep := f.ErrorPrefix
		if ep == "" {
			ep = FirehoseDefaultErrorPrefix
		}
		errRE, err := firehosePrefixRE(ep, true, nil)
		if err != nil {
			f.err = fmt.Errorf("raw: Firehose layout: ErrorPrefix %q: %w", f.ErrorPrefix, err)
			return
		}
		suffix := firehoseSuffix
		if f.Stream != "" {
			suffix = strings.Replace(suffix, `[A-Za-z0-9_.-]+`, regexp.QuoteMeta(f.Stream), 1)
		}
		f.data = regexp.MustCompile("^" + dataRE + suffix + "$")
		f.errs = regexp.MustCompile("^" + errRE + suffix + "$")
		f.partKeys = keys
	})
	return f.err
}

// Check reports a Prefix or ErrorPrefix the layout cannot read (an unknown
// expression namespace, a malformed timestamp pattern), wrapping
// ErrInvalid. List calls it before it lists.
func (f *FirehoseLayout) Check() error { return f.compile() }

// Classify accepts delivered objects and error output.
func (f *FirehoseLayout) Classify(rel string, l *Landed) Kind {
	if f.compile() != nil {
		return Unaccepted
	}
	kind, re := ErrorOutput, f.errs
	m := re.FindStringSubmatch(rel)
	if m == nil {
		kind, re = Input, f.data
		m = re.FindStringSubmatch(rel)
	}
	if m == nil {
		return Unaccepted
	}
	loc := f.TimeZone
	if loc == nil {
		loc = time.UTC
	}
	t, err := time.ParseInLocation("2006-01-02-15-04-05", m[re.SubexpIndex("time")], loc)
	if err != nil {
		return Unaccepted
	}
	setTime(l, t)
	if kind == Input && len(f.partKeys) > 0 {
		l.Partition = map[string]string{}
		for i, k := range f.partKeys {
			l.Partition[k] = m[re.SubexpIndex("p"+strconv.Itoa(i))]
		}
	}
	return kind
}

// Arrange sorts by the time in the object names, then key.
func (f *FirehoseLayout) Arrange(objs []Landed) ([]Landed, []Landed) {
	slices.SortFunc(objs, byTimeThenKey)
	return objs, nil
}

var firehoseExprRE = regexp.MustCompile(`!\{([A-Za-z]+):([^}]*)\}`)

// firehosePrefixRE turns a Firehose prefix with expressions into a regular
// expression of its evaluations. keys collects the partitioning keys (as
// capture groups p0, p1, ...).
func firehosePrefixRE(p string, errorPrefix bool, keys *[]string) (string, error) {
	var b strings.Builder
	last := 0
	for _, loc := range firehoseExprRE.FindAllStringSubmatchIndex(p, -1) {
		b.WriteString(regexp.QuoteMeta(p[last:loc[0]]))
		last = loc[1]
		ns, val := p[loc[2]:loc[3]], p[loc[4]:loc[5]]
		switch ns {
		case "timestamp":
			re, err := javaTimeRE(val)
			if err != nil {
				return "", err
			}
			b.WriteString(re)
		case "firehose":
			switch val {
			case "random-string":
				b.WriteString(`[A-Za-z0-9]+`)
			case "error-output-type":
				if !errorPrefix {
					return "", fmt.Errorf("!{firehose:error-output-type} is for the error output prefix only: %w", ErrInvalid)
				}
				b.WriteString(`[a-z-]+`)
			default:
				return "", fmt.Errorf("unknown expression !{firehose:%s}: %w", val, ErrInvalid)
			}
		case "partitionKeyFromQuery", "partitionKeyFromLambda":
			if errorPrefix {
				return "", fmt.Errorf("!{%s:%s} cannot be in the error output prefix: %w", ns, val, ErrInvalid)
			}
			if keys == nil || val == "" {
				return "", fmt.Errorf("expression !{%s:%s} needs a key name: %w", ns, val, ErrInvalid)
			}
			fmt.Fprintf(&b, `(?P<p%d>[^/]+)`, len(*keys))
			*keys = append(*keys, val)
		default:
			return "", fmt.Errorf("unknown expression namespace %q (want timestamp, firehose, partitionKeyFromQuery or partitionKeyFromLambda): %w", ns, ErrInvalid)
		}
	}
	rest := p[last:]
	if strings.Contains(rest, "!{") {
		return "", fmt.Errorf("malformed expression in %q: %w", rest, ErrInvalid)
	}
	b.WriteString(regexp.QuoteMeta(rest))
	return b.String(), nil
}

// javaTimeRE turns a Java DateTimeFormatter pattern (the form Firehose's
// !{timestamp:…} takes) into a regular expression of its output: runs of
// pattern letters are numbers (text for MMM and longer, EEE), quoted text
// and other characters are literal.
func javaTimeRE(p string) (string, error) {
	if p == "" {
		return "", fmt.Errorf("empty !{timestamp:} pattern: %w", ErrInvalid)
	}
	var b strings.Builder
	for i := 0; i < len(p); {
		c := p[i]
		switch {
		case c == '\'':
			j := strings.IndexByte(p[i+1:], '\'')
			if j < 0 {
				return "", fmt.Errorf("unterminated quote in timestamp pattern %q: %w", p, ErrInvalid)
			}
			lit := p[i+1 : i+1+j]
			if lit == "" {
				lit = "'"
			}
			b.WriteString(regexp.QuoteMeta(lit))
			i += j + 2
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			j := i
			for j < len(p) && p[j] == c {
				j++
			}
			n := j - i
			switch {
			case c == 'E' || c == 'a' || (c == 'M' || c == 'L') && n >= 3:
				b.WriteString(`[A-Za-z]+`)
			case strings.IndexByte("yuMLdDHhkKmsSQqwWe", c) >= 0:
				if n == 1 {
					b.WriteString(`\d+`)
				} else {
					fmt.Fprintf(&b, `\d{%d}`, n)
				}
			default:
				return "", fmt.Errorf("timestamp pattern %q: letter %q is not supported by the Firehose layout: %w", p, c, ErrInvalid)
			}
			i = j
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
			i++
		}
	}
	return b.String(), nil
}

// FirehoseError is one record of Firehose's error output.
type FirehoseError struct {
	// RawData is the record as the producer sent it (rawData, decoded).
	RawData []byte
	// ErrorCode and ErrorMessage say why Firehose could not deliver it
	// (errorCode/ErrorCode and errorMessage/ErrorMessage).
	ErrorCode, ErrorMessage string
	// ArrivalTime is when the record arrived at Firehose.
	ArrivalTime time.Time
	// Offset is the byte offset of the error document in the object.
	Offset int64
}

// firehoseErrorDoc is the JSON document Firehose writes per failed record.
// encoding/json matches keys case-insensitively, so errorCode (data
// transformation failures) and ErrorCode (format conversion failures) both
// land in ErrorCode.
type firehoseErrorDoc struct {
	RawData          *string `json:"rawData"`
	ErrorCode        string  `json:"errorCode"`
	ErrorMessage     string  `json:"errorMessage"`
	ArrivalTimestamp int64   `json:"arrivalTimestamp"`
}

// ReadFirehoseErrors yields the records of a Firehose error output object
// (decompressed): concatenated JSON documents, with or without newlines
// between them. A document that is not JSON, has no rawData or whose
// rawData is not base64 ends the sequence with an error wrapping
// ErrInvalid that names its offset.
func ReadFirehoseErrors(r io.Reader) iter.Seq2[FirehoseError, error] {
	return func(yield func(FirehoseError, error) bool) {
		dec := json.NewDecoder(bufio.NewReaderSize(r, 64<<10))
		for {
			off := dec.InputOffset()
			var doc firehoseErrorDoc
			err := dec.Decode(&doc)
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				yield(FirehoseError{}, fmt.Errorf("raw: Firehose error output at byte %d: %v: %w", off, err, ErrInvalid))
				return
			}
			if doc.RawData == nil {
				yield(FirehoseError{}, fmt.Errorf("raw: Firehose error output at byte %d: no rawData field: %w", off, ErrInvalid))
				return
			}
			data, err := base64.StdEncoding.DecodeString(*doc.RawData)
			if err != nil {
				yield(FirehoseError{}, fmt.Errorf("raw: Firehose error output at byte %d: rawData: %v: %w", off, err, ErrInvalid))
				return
			}
			e := FirehoseError{RawData: data, ErrorCode: doc.ErrorCode, ErrorMessage: doc.ErrorMessage, Offset: off}
			if doc.ArrivalTimestamp > 0 {
				e.ArrivalTime = time.UnixMilli(doc.ArrivalTimestamp).UTC()
			}
			if !yield(e, nil) {
				return
			}
		}
	}
}
