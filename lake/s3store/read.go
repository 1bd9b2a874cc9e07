package s3store

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"iter"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/lakekit/lakekit/lake/driver"
)

// Get implements driver.Driver with one GetObject: a Range header for a
// part of the object, a suffix range (bytes=-N) when off < 0.
func (d *Driver) Get(ctx context.Context, key string, off, length int64) (io.ReadCloser, *driver.Attributes, error) {
	if length == 0 && off >= 0 {
		a, err := d.Stat(ctx, key)
		if err != nil {
			return nil, nil, err
		}
		return io.NopCloser(bytes.NewReader(nil)), a, nil
	}
	in := &s3.GetObjectInput{Bucket: aws.String(d.bucket), Key: aws.String(d.key(key))}
	ranged := true
	switch {
	case off < 0:
		in.Range = aws.String("bytes=" + strconv.FormatInt(off, 10))
	case length < 0 && off == 0:
		ranged = false
	case length < 0:
		in.Range = aws.String("bytes=" + strconv.FormatInt(off, 10) + "-")
	default:
		in.Range = aws.String("bytes=" + strconv.FormatInt(off, 10) + "-" + strconv.FormatInt(off+length-1, 10))
	}
	out, err := d.client.GetObject(ctx, in, func(o *s3.Options) {
		// objects put in parts, and ranges, often carry no checksum to
		// check; that is not worth a log line per read
		o.DisableLogOutputChecksumValidationSkipped = true
		if ranged {
			// a range has no checksum of its own; some servers echo the
			// whole object's, which must not be checked against a part
			o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		}
	})
	if err != nil {
		if ranged && errorCode(err) == "InvalidRange" {
			if off < 0 {
				// A suffix of an empty object, or (on some servers) one
				// longer than the object, which S3 answers with the whole
				// object: the whole object is the answer.
				return d.Get(ctx, key, 0, -1)
			}
			// The range starts at or past the end: no bytes to return,
			// but the object exists.
			a, serr := d.Stat(ctx, key)
			if serr != nil {
				return nil, nil, serr
			}
			return io.NopCloser(bytes.NewReader(nil)), a, nil
		}
		return nil, nil, d.mapErr("get", key, err)
	}
	a := &driver.Attributes{
		Key:         key,
		Size:        aws.ToInt64(out.ContentLength),
		ModTime:     aws.ToTime(out.LastModified),
		ETag:        aws.ToString(out.ETag),
		ContentType: aws.ToString(out.ContentType),
		Metadata:    lowerKeys(out.Metadata),
		SSEKMSKeyID: aws.ToString(out.SSEKMSKeyId),
	}
	var rc io.ReadCloser = out.Body
	if cr := aws.ToString(out.ContentRange); cr != "" {
		total, err := parseContentRangeTotal(cr)
		if err != nil {
			out.Body.Close()
			return nil, nil, fmt.Errorf("s3store: get %s: %w", d.Location(key), err)
		}
		a.Size = total
	} else if ranged {
		// the server ignored the range and sent the whole object
		start, end := driver.ClampRange(a.Size, off, length)
		if _, err := io.CopyN(io.Discard, out.Body, start); err != nil {
			out.Body.Close()
			return nil, nil, d.mapErr("get", key, err)
		}
		rc = struct {
			io.Reader
			io.Closer
		}{io.LimitReader(out.Body, end-start), out.Body}
	}
	return rc, a, nil
}

// parseContentRangeTotal returns the total size of "bytes 0-9/100".
func parseContentRangeTotal(cr string) (int64, error) {
	i := strings.LastIndexByte(cr, '/')
	if i < 0 || cr[i+1:] == "*" {
		return 0, fmt.Errorf("Content-Range %q carries no total size", cr)
	}
	n, err := strconv.ParseInt(cr[i+1:], 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("Content-Range %q: bad total size", cr)
	}
	return n, nil
}

func lowerKeys(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[strings.ToLower(k)] = v
	}
	return out
}

// Stat implements driver.Driver with HeadObject.
func (d *Driver) Stat(ctx context.Context, key string) (*driver.Attributes, error) {
	out, err := d.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(d.bucket), Key: aws.String(d.key(key))})
	if err != nil {
		return nil, d.mapErr("stat", key, err)
	}
	return &driver.Attributes{
		Key:         key,
		Size:        aws.ToInt64(out.ContentLength),
		ModTime:     aws.ToTime(out.LastModified),
		ETag:        aws.ToString(out.ETag),
		ContentType: aws.ToString(out.ContentType),
		Metadata:    lowerKeys(out.Metadata),
		SSEKMSKeyID: aws.ToString(out.SSEKMSKeyId),
	}, nil
}

// List implements driver.Driver with the ListObjectsV2 paginator. With a
// delimiter, CommonPrefixes become IsDir entries, merged with the objects
// in key order.
func (d *Driver) List(ctx context.Context, opts driver.ListOptions) iter.Seq2[driver.ListEntry, error] {
	return func(yield func(driver.ListEntry, error) bool) {
		in := &s3.ListObjectsV2Input{Bucket: aws.String(d.bucket), Prefix: aws.String(d.prefix + opts.Prefix)}
		if opts.Delimiter != "" {
			in.Delimiter = aws.String(opts.Delimiter)
		}
		p := s3.NewListObjectsV2Paginator(d.client, in)
		last := ""
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				yield(driver.ListEntry{}, d.mapErr("list", opts.Prefix, err))
				return
			}
			objs, dirs := page.Contents, page.CommonPrefixes
			for len(objs) > 0 || len(dirs) > 0 {
				var e driver.ListEntry
				if len(dirs) == 0 || len(objs) > 0 && aws.ToString(objs[0].Key) < aws.ToString(dirs[0].Prefix) {
					o := objs[0]
					objs = objs[1:]
					e = driver.ListEntry{
						Key:     strings.TrimPrefix(aws.ToString(o.Key), d.prefix),
						Size:    aws.ToInt64(o.Size),
						ModTime: aws.ToTime(o.LastModified),
						ETag:    aws.ToString(o.ETag),
					}
				} else {
					e = driver.ListEntry{Key: strings.TrimPrefix(aws.ToString(dirs[0].Prefix), d.prefix), IsDir: true}
					dirs = dirs[1:]
				}
				if e.IsDir && e.Key == last {
					continue // a common prefix repeated across pages
				}
				last = e.Key
				if !yield(e, nil) {
					return
				}
			}
		}
	}
}
