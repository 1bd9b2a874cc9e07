package torture

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/smithy-go/logging"

	"github.com/lakekit/lakekit/catalog"
	"github.com/lakekit/lakekit/internal/testaws"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/lake/filestore"
	"github.com/lakekit/lakekit/lake/s3store"
	"github.com/lakekit/lakekit/query"
	"github.com/lakekit/lakekit/transform"
	"github.com/lakekit/lakekit/zones"
	"github.com/lakekit/lakekit/zones/raw"
)

// capture is a slog handler that keeps every record as text.
type capture struct {
	mu  *sync.Mutex
	buf *bytes.Buffer
	h   slog.Handler
}

func newCapture() *capture {
	c := &capture{mu: &sync.Mutex{}, buf: &bytes.Buffer{}}
	c.h = slog.NewTextHandler(lockedWriter{c}, &slog.HandlerOptions{Level: slog.LevelDebug})
	return c
}

type lockedWriter struct{ c *capture }

func (w lockedWriter) Write(p []byte) (int, error) {
	w.c.mu.Lock()
	defer w.c.mu.Unlock()
	return w.c.buf.Write(p)
}

func (c *capture) Enabled(context.Context, slog.Level) bool { return true }
func (c *capture) Handle(ctx context.Context, r slog.Record) error {
	return c.h.Handle(ctx, r)
}
func (c *capture) WithAttrs(as []slog.Attr) slog.Handler {
	return &capture{mu: c.mu, buf: c.buf, h: c.h.WithAttrs(as)}
}
func (c *capture) WithGroup(n string) slog.Handler {
	return &capture{mu: c.mu, buf: c.buf, h: c.h.WithGroup(n)}
}
func (c *capture) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.String()
}

const (
	secretKey    = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY1"
	sessionToken = "FwoGZXIvYXdzEJr//////////SESSIONTOKEN2"
	urlToken     = "SECRETURLTOKEN3"
	urlPassword  = "SECRETPASSWORD4"
	secretName   = "prod/redshift-SECRETNAME5"
)

var secrets = []string{secretKey, sessionToken, urlToken, urlPassword, secretName}

// leaks returns the secrets found in s (also URL- or quote-escaped).
func leaks(s string) []string {
	var out []string
	for _, sec := range secrets {
		for _, form := range []string{sec, url.QueryEscape(sec), url.PathEscape(sec), fmt.Sprintf("%q", sec)[1 : len(sec)+1]} {
			if strings.Contains(s, form) || strings.Contains(s, sec[len(sec)-14:]) {
				out = append(out, sec)
				break
			}
		}
	}
	return out
}

// failingAWS answers every request with an AWS error that quotes nothing
// of the request (as AWS does): 403 AccessDenied for S3 (XML), a JSON
// AccessDeniedException for the JSON protocols.
func failingAWS(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.Header.Get("Content-Type"), "json") {
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			w.Header().Set("X-Amzn-ErrorType", "AccessDeniedException")
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"__type":"AccessDeniedException","message":"User is not authorized to perform this action"}`)
			return
		}
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>`)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestNoSecretsInLogsOrErrors configures lakekit with secrets — an AWS
// secret key and session token in a static credentials provider, a URL
// with a token and a password, a Redshift secret ARN — makes every call
// fail, and searches every error and log line for them.
func TestNoSecretsInLogsOrErrors(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	capt := newCapture()
	logger := slog.New(capt)
	old := slog.Default()
	slog.SetDefault(logger)
	defer slog.SetDefault(old)
	srv := failingAWS(t)
	// The lake URLs below resolve credentials through the SDK's default
	// chain: give it the same secrets in the environment (so the checks
	// cover them there too) and keep it off the EC2 metadata endpoint,
	// which is not on loopback.
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", secretKey)
	t.Setenv("AWS_SESSION_TOKEN", sessionToken)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion("us-east-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("AKIAIOSFODNN7EXAMPLE", secretKey, sessionToken)),
		config.WithBaseEndpoint(srv.URL), config.WithRetryMaxAttempts(1),
		config.WithClientLogMode(aws.LogRetries|aws.LogResponse), config.WithLogger(slogAdapter{logger}))
	if err != nil {
		t.Fatal(err)
	}
	var errs []error
	note := func(what string, err error) {
		if err == nil {
			t.Errorf("%s: no error from a failing peer", what)
			return
		}
		errs = append(errs, fmt.Errorf("%s: %w", what, err))
	}

	// the S3 store, zones, raw landing, the buffer, the local catalog, a transform
	s, err := s3store.OpenStore(ctx, cfg, "lake", "root", nil)
	if err != nil {
		t.Fatal(err)
	}
	lk, err := lake.New(s, &lake.Options{Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	cat, err := catalog.OpenLocal(lk)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := zones.NewDataset[Row](lk, lake.Curated, "sec", "t", &zones.Options[Row]{Catalog: cat, InMemoryBuffers: true})
	if err != nil {
		t.Fatal(err)
	}
	_, _, _, err = write(ctx, ds, opKey("a", 0, zones.Append, 3), zones.Append, 1)
	note("zones write", err)
	_, err = ds.ReadAll(ctx, nil)
	note("zones read", err)
	_, err = ds.Vacuum(ctx, 0)
	note("vacuum", err)
	_, err = raw.Land(ctx, lk, "web", "events", "e.jsonl", strings.NewReader(`{"id":1}`), nil)
	note("land", err)
	b, err := raw.NewBuffer(lk, "web", "events", &raw.BufferOptions{MinBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	b.Add(ctx, []byte(`{"id":1}`))
	cctx, ccancel := context.WithTimeout(ctx, 300*time.Millisecond)
	note("buffer close", b.Close(cctx))
	ccancel()
	note("catalog", cat.CreateDatabase(ctx, catalog.Database{Name: "sec"}))
	src, _ := zones.NewDataset[Row](lk, lake.Cleaned, "sec", "src", nil)
	tr, err := transform.New("copy", transform.FromDataset(src), transform.Identity[Row](), ds, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = tr.Run(ctx)
	note("transform", err)

	// Glue, Athena, Redshift Data API
	glueCat, err := catalog.NewGlue(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = glueCat.GetTable(ctx, "sec", "t")
	note("glue", err)
	ath, err := query.NewAthena(cfg, &query.AthenaOptions{OutputLocation: "s3://results/x/"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = ath.Query(ctx, "SELECT ?", "v")
	note("athena", err)
	rs, err := query.NewRedshift(cfg, &query.RedshiftOptions{Database: "dev", WorkgroupName: "wg",
		SecretArn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:" + secretName})
	if err != nil {
		t.Fatal(err)
	}
	_, err = rs.Query(ctx, "SELECT 1")
	note("redshift", err)

	// URLs carrying secrets are refused without echoing them
	for i, u := range []string{
		"s3://AKIAIOSFODNN7EXAMPLE:" + urlPassword + "@lake/root?region=us-east-1",
		"s3://lake/root?region=us-east-1&token=" + urlToken,
		"s3://lake/root?region=us-east-1&endpoint=http://user:" + urlPassword + "@127.0.0.1:1",
		"nosuch://user:" + urlPassword + "@host/x?token=" + urlToken,
	} {
		l, err := lake.Open(ctx, u, &lake.Options{Logger: logger})
		if err == nil {
			// opening may succeed (the endpoint case); using it must not leak
			lctx, lcancel := context.WithTimeout(ctx, 5*time.Second)
			_, err = raw.Land(lctx, l, "web", "events", "e.jsonl", strings.NewReader("x"), nil)
			lcancel()
			l.Close()
		}
		note(fmt.Sprintf("open URL %d", i), err)
	}

	var all strings.Builder
	for _, e := range errs {
		fmt.Fprintf(&all, "%v\n%+v\n", e, e)
		var ae interface{ ErrorCode() string }
		if errors.As(e, &ae) {
			fmt.Fprintln(&all, ae.ErrorCode())
		}
	}
	logs := capt.String()
	if n := len(errs); n < 14 {
		t.Fatalf("only %d failing calls checked", n)
	}
	if !strings.Contains(logs, "level=") {
		t.Fatal("nothing was logged: the check would be empty")
	}
	if l := leaks(all.String()); len(l) > 0 {
		for _, e := range errs {
			if len(leaks(fmt.Sprintf("%v %+v", e, e))) > 0 {
				t.Errorf("error leaks a secret: %v", e)
			}
		}
		t.Fatalf("errors leak %v", l)
	}
	if l := leaks(logs); len(l) > 0 {
		for _, line := range strings.Split(logs, "\n") {
			if len(leaks(line)) > 0 {
				t.Errorf("log line leaks a secret: %s", line)
			}
		}
		t.Fatalf("logs leak %v", l)
	}
	t.Logf("%d failing calls and %d log bytes (SDK retry and response logging on) hold no secret", len(errs), len(logs))
}

// slogAdapter sends the AWS SDK's logs (retries, response dumps) to slog,
// where the capture sees them. Request dumps are left off: they hold the
// X-Amz-Security-Token header by the SDK's design, whatever lakekit does.
type slogAdapter struct{ l *slog.Logger }

func (a slogAdapter) Logf(classification logging.Classification, format string, v ...any) {
	a.l.Info(fmt.Sprintf(format, v...), "sdk", string(classification))
}

// appendChild makes 100 appends to the shared table, each retried with its
// idempotency key until it commits.
func appendChild(t *testing.T, target, who string) {
	ctx := context.Background()
	var s *lake.Store
	switch kind, where, _ := strings.Cut(target, ":"); kind {
	case "file":
		fs, err := filestore.New(where, &filestore.Options{NoSync: true}) // no crash here: skip fsync
		if err != nil {
			t.Fatal(err)
		}
		s = lake.NewStore(fs)
	case "s3":
		var err error
		if s, err = s3store.OpenStore(ctx, testaws.Config(t, where), "lake", "root", nil); err != nil {
			t.Fatal(err)
		}
	}
	lk, err := lake.New(s, &lake.Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	ds, err := zones.NewDataset[Row](lk, lake.Curated, "torture", "shared", &zones.Options[Row]{InMemoryBuffers: true})
	if err != nil {
		t.Fatal(err)
	}
	for n := 0; n < 100; n++ {
		key := opKey(who, n, zones.Append, 1+n%15)
		if o, _, _, err := write(ctx, ds, key, zones.Append, 20); o != committed {
			t.Fatalf("append %s: %v", key, err)
		}
	}
}

// TestEightProcessesAppend: 8 OS processes × 100 appends to one table, on
// the file store and on S3 (gofakes3 in this process, reached over
// loopback): 800 commits, every row once.
func TestEightProcessesAppend(t *testing.T) {
	if target := os.Getenv("APPEND_CHILD"); target != "" {
		appendChild(t, target, os.Getenv("APPEND_WHO"))
		return
	}
	for _, kind := range []string{"file", "s3"} {
		t.Run(kind, func(t *testing.T) {
			ctx := context.Background()
			var s *lake.Store
			target := ""
			if kind == "file" {
				dir := t.TempDir()
				fs, err := filestore.New(dir, nil)
				if err != nil {
					t.Fatal(err)
				}
				s, target = lake.NewStore(fs), "file:"+dir
			} else {
				f := testaws.StartFakeS3(t)
				var err error
				if s, err = s3store.OpenStore(ctx, f.Config(t), "lake", "root", nil); err != nil {
					t.Fatal(err)
				}
				target = "s3:" + f.Endpoint
			}
			start := time.Now()
			const procs = 8
			cmds := make([]*exec.Cmd, procs)
			outs := make([]*bytes.Buffer, procs)
			for p := range cmds {
				cmds[p] = exec.Command(os.Args[0], "-test.run=^TestEightProcessesAppend$", "-test.count=1")
				cmds[p].Env = append(os.Environ(), "APPEND_CHILD="+target, fmt.Sprintf("APPEND_WHO=p%d", p))
				outs[p] = &bytes.Buffer{}
				cmds[p].Stdout, cmds[p].Stderr = outs[p], outs[p]
				if err := cmds[p].Start(); err != nil {
					t.Fatal(err)
				}
			}
			for p, cmd := range cmds {
				if err := cmd.Wait(); err != nil {
					t.Fatalf("process %d: %v\n%s", p, err, outs[p])
				}
			}
			took := time.Since(start)
			lk, err := lake.New(s, &lake.Options{Logger: quiet})
			if err != nil {
				t.Fatal(err)
			}
			ds, err := zones.NewDataset[Row](lk, lake.Curated, "torture", "shared", &zones.Options[Row]{InMemoryBuffers: true})
			if err != nil {
				t.Fatal(err)
			}
			log, err := ds.History(ctx)
			if err != nil {
				t.Fatal(err)
			}
			keys := map[string]bool{}
			pids := map[int]bool{}
			for _, c := range log {
				if keys[c.IdempotencyKey] {
					t.Fatalf("key %s committed twice", c.IdempotencyKey)
				}
				keys[c.IdempotencyKey] = true
				pids[c.Audit.PID] = true
			}
			for p := 0; p < procs; p++ {
				for n := 0; n < 100; n++ {
					if k := opKey(fmt.Sprintf("p%d", p), n, zones.Append, 1+n%15); !keys[k] {
						t.Fatalf("append %s is missing from the log", k)
					}
				}
			}
			if len(log) != procs*100 || len(pids) != procs {
				t.Fatalf("%d commits from %d processes, want 800 from 8", len(log), len(pids))
			}
			want, err := replay(log)
			if err != nil {
				t.Fatal(err)
			}
			got, err := readAll(ctx, ds, 0)
			if err != nil {
				t.Fatal(err)
			}
			if err := checkRows(got, want); err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %d/%d commits from %d processes in %v, %d rows each read once", kind, len(log), procs*100, len(pids), took.Round(time.Millisecond), len(got))
		})
	}
}
