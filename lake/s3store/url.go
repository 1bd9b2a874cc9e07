package s3store

import (
	"context"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/lake/driver"
)

// Scheme is the URL scheme this package registers on lake.DefaultURLMux.
const Scheme = "s3"

func init() {
	lake.DefaultURLMux().Register(Scheme, URLOpener{})
}

// URLOpener opens s3://bucket/prefix?param=value URLs (see the package doc
// for the parameters). Its zero value loads the AWS configuration with
// config.LoadDefaultConfig; set Options for the driver's defaults.
type URLOpener struct {
	// Options are the defaults; URL parameters override them.
	Options Options
	// LoadOptions are passed to config.LoadDefaultConfig before the ones
	// the URL sets (region, profile).
	LoadOptions []func(*config.LoadOptions) error
}

var urlParams = map[string]string{
	"region":              "AWS region, e.g. eu-west-1 (default: AWS_REGION / the profile)",
	"endpoint":            "S3 endpoint URL, e.g. http://127.0.0.1:9000 (default: AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL / AWS)",
	"path_style":          "true or false: path-style addressing (default: true for an IP or localhost endpoint)",
	"profile":             "shared config profile",
	"part_size":           "multipart part size in bytes (at least 5242880)",
	"concurrency":         "parts uploaded at once per put",
	"multipart_threshold": "bytes from which a put uses multipart upload",
}

// OpenStoreURL implements lake.StoreURLOpener.
func (o URLOpener) OpenStoreURL(ctx context.Context, u *url.URL) (driver.Driver, error) {
	if u.Scheme != Scheme {
		return nil, fmt.Errorf("s3store: URL scheme %q is not %q: %w", u.Scheme, Scheme, lake.ErrInvalidURL)
	}
	bucket := u.Host
	if bucket == "" {
		return nil, fmt.Errorf("s3store: the URL names no bucket (want s3://bucket/prefix?region=...): %w", lake.ErrInvalidURL)
	}
	if err := ValidateBucketName(bucket); err != nil {
		return nil, fmt.Errorf("%w: %w", err, lake.ErrInvalidURL)
	}
	opts := o.Options
	q := u.Query()
	for k, v := range q {
		if _, ok := urlParams[k]; !ok {
			known := make([]string, 0, len(urlParams))
			for p := range urlParams {
				known = append(known, p)
			}
			sort.Strings(known)
			return nil, fmt.Errorf("s3store: unknown URL parameter %q (known: %s): %w", k, strings.Join(known, ", "), lake.ErrInvalidURL)
		}
		if len(v) != 1 {
			return nil, fmt.Errorf("s3store: URL parameter %q given %d times: %w", k, len(v), lake.ErrInvalidURL)
		}
	}
	bad := func(k, v, why string) error {
		return fmt.Errorf("s3store: URL parameter %s=%q: %s: %w", k, v, why, lake.ErrInvalidURL)
	}
	var pathStyle *bool
	if v := q.Get("path_style"); q.Has("path_style") {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, bad("path_style", v, "want true or false")
		}
		pathStyle = &b
	} else if opts.UsePathStyle {
		pathStyle = &opts.UsePathStyle
	}
	endpoint := q.Get("endpoint")
	if endpoint != "" {
		eu, err := url.Parse(endpoint)
		if err != nil || (eu.Scheme != "http" && eu.Scheme != "https") || eu.Host == "" {
			return nil, bad("endpoint", endpoint, "want an http:// or https:// URL with a host")
		}
	}
	ints := []struct {
		name string
		dst  *int64
	}{{"part_size", &opts.PartSize}, {"multipart_threshold", &opts.MultipartThreshold}}
	for _, p := range ints {
		if v := q.Get(p.name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n <= 0 {
				return nil, bad(p.name, v, "want a positive number of bytes")
			}
			*p.dst = n
		}
	}
	if v := q.Get("concurrency"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return nil, bad("concurrency", v, "want a positive integer")
		}
		opts.Concurrency = n
	}
	lo := append([]func(*config.LoadOptions) error(nil), o.LoadOptions...)
	if v := q.Get("region"); v != "" {
		lo = append(lo, config.WithRegion(v))
	}
	if v := q.Get("profile"); v != "" {
		lo = append(lo, config.WithSharedConfigProfile(v))
	}
	cfg, err := config.LoadDefaultConfig(ctx, lo...)
	if err != nil {
		return nil, fmt.Errorf("s3store: load AWS config: %w", err)
	}
	if cfg.Region == "" {
		return nil, fmt.Errorf("s3store: no AWS region: add ?region=... to the URL or set AWS_REGION: %w", lake.ErrInvalidURL)
	}
	d, err := New(newClient(cfg, endpoint, pathStyle, opts.ClientOptions), bucket, strings.Trim(u.Path, "/"), &opts)
	if err != nil {
		return nil, err
	}
	if err := d.checkBucket(ctx); err != nil {
		return nil, err
	}
	return d, nil
}
