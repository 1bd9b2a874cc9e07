// Command ingest-http is an ingestion service as it would run on AWS
// Fargate behind a load balancer: producers POST events, the service
// validates them at the edge and lands them in the lake's raw zone through
// the ingestion buffer (what Kinesis Data Firehose does, embedded).
//
//	LAKE_URL=s3://bucket/lake LISTEN_ADDR=:8080 ingest-http
//	go run ./examples/ingest-http -lake ./ingest-lake -addr 127.0.0.1:8080
//
// Endpoints:
//
//	POST /events   JSON lines (one object per line) or a JSON array of objects;
//	               202 {"accepted": n}; 400 with the reasons when any record is
//	               invalid (then none is kept); 401 without a credential; 403
//	               with a token not accepted; 408 when the body does not
//	               arrive within BODY_TIMEOUT; 413 when the body is too large;
//	               503 when the buffer is full (retry later) or draining
//	GET  /healthz  200 {"status":"ok",...}; 503 while shutting down (no
//	               credential needed: the load balancer's health check)
//
// Configuration comes from the environment (flags override it for local
// runs): LAKE_URL, LISTEN_ADDR, SOURCE, DATASET, REQUIRED_FIELDS,
// MAX_BODY_BYTES, FLUSH_BYTES, FLUSH_INTERVAL, COMPRESSION (gzip, zstd),
// SHUTDOWN_TIMEOUT, BODY_TIMEOUT, METRICS_ADDR, and the authentication
// settings below. With METRICS_ADDR set (say :9464) lakekit's metrics are
// served for Prometheus at http://METRICS_ADDR/metrics (metrics.go).
//
// # Authentication
//
// Every POST /events needs a credential. By default (AUTH=token) it is a
// bearer token, "Authorization: Bearer <token>", from a token set, a JSON
// object mapping producer names to tokens ({"web-frontend": "…"}, tokens
// of at least 16 characters) read from one of:
//
//	TOKENS_SECRET_ID  an AWS Secrets Manager secret; the AWSCURRENT and the
//	                  AWSPREVIOUS versions are both accepted, so a rotation
//	                  (PutSecretValue, or a rotation Lambda) lets producers
//	                  switch over; a token two rotations old is refused (403)
//	TOKENS_FILE       a file, read again at every refresh (local runs)
//	INGEST_TOKENS     the JSON itself (local runs and tests)
//
// The set is read again every TOKENS_REFRESH (default 5m) and, when a
// token is not in it, at once if the last read is older than
// TOKENS_RECHECK (default 10s). Tokens are compared by SHA-256 in constant
// time. A request without a token is answered 401, one with a token not
// in the set 403.
//
// Deployments that authenticate upstream set AUTH=upstream: API Gateway
// with IAM authorization (map $context.identity.userArn into a request
// header of the integration) or an ALB with OIDC authentication (it sets
// x-amzn-oidc-identity). The service then requires the header named by
// IDENTITY_HEADER (default X-Amzn-Oidc-Identity) and answers 401 without
// it; it trusts it, so only the authenticator may reach the service (its
// security group admits the load balancer or VPC link alone).
//
// The producer (the token's name, or the upstream identity) is the
// "producer" user metadata of every raw object its events land in (each
// producer has its own buffer, at most MAX_PRODUCERS of them, default 64),
// and each accepted or refused request is logged (msg "audit") with it.
//
// The IAM policy of the task role needs secretsmanager:GetSecretValue on
// the secret (and kms:Decrypt on its key when it is not the aws/secretsmanager
// key). On SIGTERM (ECS stops tasks with it) the service stops
// accepting requests, finishes the ones in flight, flushes the buffer into
// the lake and exits 0; keep SHUTDOWN_TIMEOUT below the task's stopTimeout.
//
// It imports only lake, lake/s3store, zones, the AWS SDK's config and
// Secrets Manager packages and the OpenTelemetry SDK with its Prometheus
// exporter, so it builds with CGO_ENABLED=0 into a static binary (see the
// Dockerfile).
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/lakekit/lakekit/lake"
	_ "github.com/lakekit/lakekit/lake/s3store" // s3:// lakes
	"github.com/lakekit/lakekit/zones"
	"github.com/lakekit/lakekit/zones/raw"
)

func main() { mainWith("ingest-http", run) }

// Config is the service's configuration.
type Config struct {
	Addr            string
	Lake            string
	Source, Dataset string
	Required        []string
	MaxBody         int64
	FlushBytes      int
	FlushInterval   time.Duration
	Compression     raw.BufferCompression
	ShutdownTimeout time.Duration
	// BodyTimeout bounds reading a request's body (slow clients are cut
	// off with 408); the server's ReadHeaderTimeout bounds the headers.
	BodyTimeout time.Duration

	// Auth is AuthToken or AuthUpstream.
	Auth string
	// The token set's source (AuthToken): exactly one of them.
	TokensSecret, TokensFile, TokensJSON string
	// TokensRefresh and TokensRecheck: see the package doc.
	TokensRefresh, TokensRecheck time.Duration
	// Secrets reads TokensSecret; nil means a Secrets Manager client from
	// the default AWS configuration.
	Secrets SecretGetter
	// IdentityHeader carries the upstream identity (AuthUpstream).
	IdentityHeader string
	// MaxProducers bounds the producers buffered at once.
	MaxProducers int
	// MetricsAddr serves /metrics when set (metrics.go).
	MetricsAddr string
}

// loadConfig reads the environment, then the flags.
func loadConfig(args []string, getenv func(string) string, stdout io.Writer) (*Config, bool, error) {
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	fs := flag.NewFlagSet("ingest-http", flag.ContinueOnError)
	addr := fs.String("addr", env("LISTEN_ADDR", ":8080"), "listen address (LISTEN_ADDR)")
	lakeURL := fs.String("lake", env("LAKE_URL", "ingest-lake"), "lake URL or directory (LAKE_URL)")
	source := fs.String("source", env("SOURCE", "web"), "raw zone source name (SOURCE)")
	dataset := fs.String("dataset", env("DATASET", "events"), "raw zone dataset name (DATASET)")
	required := fs.String("required", env("REQUIRED_FIELDS", "event_id,ts"), "comma-separated fields every event must have; a field named ts must be an RFC 3339 time (REQUIRED_FIELDS)")
	maxBody := fs.String("max-body", env("MAX_BODY_BYTES", "4194304"), "largest request body in bytes (MAX_BODY_BYTES)")
	flushBytes := fs.String("flush-bytes", env("FLUSH_BYTES", strconv.Itoa(raw.DefaultBufferFlushBytes)), "flush a raw object at this many bytes (FLUSH_BYTES)")
	flushInterval := fs.String("flush-interval", env("FLUSH_INTERVAL", "1m"), "flush a raw object when its first event is this old (FLUSH_INTERVAL)")
	compression := fs.String("compression", env("COMPRESSION", ""), "compress raw objects: gzip or zstd; empty for none (COMPRESSION)")
	shutdown := fs.String("shutdown-timeout", env("SHUTDOWN_TIMEOUT", "25s"), "time to drain and flush on SIGTERM (SHUTDOWN_TIMEOUT)")
	bodyTimeout := fs.String("body-timeout", env("BODY_TIMEOUT", "30s"), "time to read a request body (BODY_TIMEOUT)")
	auth := fs.String("auth", env("AUTH", AuthToken), "authentication: token (bearer tokens) or upstream (an authenticator in front sets IDENTITY_HEADER) (AUTH)")
	secretID := fs.String("tokens-secret", env("TOKENS_SECRET_ID", ""), "Secrets Manager secret holding the token set (TOKENS_SECRET_ID)")
	tokensFile := fs.String("tokens-file", env("TOKENS_FILE", ""), "file holding the token set (TOKENS_FILE)")
	refresh := fs.String("tokens-refresh", env("TOKENS_REFRESH", "5m"), "read the token set again this often (TOKENS_REFRESH)")
	recheck := fs.String("tokens-recheck", env("TOKENS_RECHECK", "10s"), "on an unknown token, read the token set again if older than this (TOKENS_RECHECK)")
	idHeader := fs.String("identity-header", env("IDENTITY_HEADER", "X-Amzn-Oidc-Identity"), "header carrying the upstream identity (IDENTITY_HEADER)")
	maxProducers := fs.String("max-producers", env("MAX_PRODUCERS", "64"), "producers buffered at once (MAX_PRODUCERS)")
	metricsAddr := fs.String("metrics-addr", env("METRICS_ADDR", ""), "serve Prometheus metrics at http://<this address>/metrics; empty for none (METRICS_ADDR)")
	if help, err := parseFlags(fs, args, stdout); help || err != nil {
		return nil, help, err
	}
	c := &Config{Addr: *addr, Lake: *lakeURL, Source: *source, Dataset: *dataset, Auth: *auth,
		TokensSecret: *secretID, TokensFile: *tokensFile, TokensJSON: getenv("INGEST_TOKENS"), IdentityHeader: *idHeader,
		MetricsAddr: *metricsAddr}
	for _, f := range strings.Split(*required, ",") {
		if f = strings.TrimSpace(f); f != "" {
			c.Required = append(c.Required, f)
		}
	}
	var err error
	if c.MaxBody, err = strconv.ParseInt(*maxBody, 10, 64); err != nil || c.MaxBody <= 0 {
		return nil, false, usagef("MAX_BODY_BYTES / -max-body %q: want a positive number of bytes", *maxBody)
	}
	if c.FlushBytes, err = strconv.Atoi(*flushBytes); err != nil || c.FlushBytes <= 0 {
		return nil, false, usagef("FLUSH_BYTES / -flush-bytes %q: want a positive number of bytes", *flushBytes)
	}
	if c.FlushInterval, err = time.ParseDuration(*flushInterval); err != nil || c.FlushInterval <= 0 {
		return nil, false, usagef("FLUSH_INTERVAL / -flush-interval %q: want a positive duration like 30s", *flushInterval)
	}
	if c.ShutdownTimeout, err = time.ParseDuration(*shutdown); err != nil || c.ShutdownTimeout <= 0 {
		return nil, false, usagef("SHUTDOWN_TIMEOUT / -shutdown-timeout %q: want a positive duration like 25s", *shutdown)
	}
	if c.BodyTimeout, err = time.ParseDuration(*bodyTimeout); err != nil || c.BodyTimeout <= 0 {
		return nil, false, usagef("BODY_TIMEOUT / -body-timeout %q: want a positive duration like 30s", *bodyTimeout)
	}
	if c.TokensRefresh, err = time.ParseDuration(*refresh); err != nil || c.TokensRefresh <= 0 {
		return nil, false, usagef("TOKENS_REFRESH / -tokens-refresh %q: want a positive duration like 5m", *refresh)
	}
	if c.TokensRecheck, err = time.ParseDuration(*recheck); err != nil || c.TokensRecheck < 0 {
		return nil, false, usagef("TOKENS_RECHECK / -tokens-recheck %q: want a duration like 10s", *recheck)
	}
	if c.MaxProducers, err = strconv.Atoi(*maxProducers); err != nil || c.MaxProducers <= 0 {
		return nil, false, usagef("MAX_PRODUCERS / -max-producers %q: want a positive number", *maxProducers)
	}
	switch *compression {
	case "":
		c.Compression = raw.BufferUncompressed
	case "gzip":
		c.Compression = raw.BufferGzip
	case "zstd":
		c.Compression = raw.BufferZstd
	default:
		return nil, false, usagef("COMPRESSION / -compression %q: want gzip, zstd or nothing", *compression)
	}
	for _, n := range []string{c.Source, c.Dataset} {
		if err := lake.ValidateName(lake.KindSource, n); err != nil {
			return nil, false, usagef("SOURCE/DATASET: %v", err)
		}
	}
	switch c.Auth {
	case AuthToken:
		n := 0
		for _, v := range []string{c.TokensSecret, c.TokensFile, c.TokensJSON} {
			if v != "" {
				n++
			}
		}
		if n != 1 {
			return nil, false, usagef("AUTH=token needs exactly one token set: TOKENS_SECRET_ID, TOKENS_FILE or INGEST_TOKENS (%d given); set AUTH=upstream when an authenticator in front of the service identifies producers", n)
		}
	case AuthUpstream:
		if !regexp.MustCompile(`^[A-Za-z0-9-]+$`).MatchString(c.IdentityHeader) {
			return nil, false, usagef("IDENTITY_HEADER / -identity-header %q: want a header name", c.IdentityHeader)
		}
	default:
		return nil, false, usagef("AUTH / -auth %q: want token or upstream", c.Auth)
	}
	return c, false, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, help, err := loadConfig(args, os.Getenv, stdout)
	if help || err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(stderr, nil))
	mx, err := startMetrics(cfg.MetricsAddr, log)
	if err != nil {
		return err
	}
	defer mx.Close(context.Background())
	lk, err := openLake(ctx, cfg.Lake, &lake.Options{Logger: log, MeterProvider: mx.Provider()})
	if err != nil {
		return err
	}
	defer lk.Close()
	svc, err := NewService(lk, cfg, log)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		svc.Close(context.Background())
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	srv := &http.Server{Handler: svc, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: time.Minute}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fmt.Fprintf(stdout, "ingest-http listening on http://%s, landing in %s raw/%s/%s\n", ln.Addr(), where(lk), cfg.Source, cfg.Dataset)
	if mx != nil {
		fmt.Fprintf(stdout, "metrics on %s\n", mx.URL())
	}

	select {
	case <-ctx.Done(): // SIGTERM or SIGINT
	case err := <-served:
		svc.Close(context.Background())
		return fmt.Errorf("serving: %w", err)
	}
	// drain: the health check fails so the load balancer stops sending,
	// requests in flight finish, then everything buffered is flushed
	t0 := time.Now()
	svc.draining.Store(true)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	shutErr := srv.Shutdown(sctx)
	closeErr := svc.Close(sctx)
	st := svc.stats()
	summary, _ := json.Marshal(map[string]any{
		"records": st.Records, "flushed": st.RecordsFlushed, "objects": st.Flushes, "bytes_stored": st.BytesStored,
		"rejected_requests": svc.rejected.Load(), "drain_ms": time.Since(t0).Milliseconds(),
	})
	fmt.Fprintln(stdout, string(summary))
	if closeErr != nil {
		return fmt.Errorf("shutdown: flushing the buffer: %w", closeErr)
	}
	if shutErr != nil {
		return fmt.Errorf("shutdown: %w", shutErr)
	}
	return nil
}

// Service is the HTTP handler.
type Service struct {
	cfg      *Config
	lk       *lake.Lake
	tokens   *tokenAuth
	log      *slog.Logger
	mux      *http.ServeMux
	draining atomic.Bool
	rejected atomic.Int64

	mu     sync.Mutex
	bufs   map[string]*raw.Buffer // by producer
	closed bool
}

// NewService makes the handler over lk. With AuthToken it reads the token
// set once, so a missing secret or a malformed set fails at start.
func NewService(lk *lake.Lake, cfg *Config, log *slog.Logger) (*Service, error) {
	s := &Service{cfg: cfg, lk: lk, log: log, mux: http.NewServeMux(), bufs: map[string]*raw.Buffer{}}
	if cfg.Auth == AuthToken {
		ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
		defer cancel()
		var load tokenLoader
		switch {
		case cfg.TokensSecret != "":
			sm := cfg.Secrets
			if sm == nil {
				awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
				if err != nil {
					return nil, fmt.Errorf("AWS configuration for Secrets Manager: %w", err)
				}
				sm = secretsmanager.NewFromConfig(awsCfg)
			}
			load = secretTokens(sm, cfg.TokensSecret)
		case cfg.TokensFile != "":
			load = fileTokens(cfg.TokensFile)
		default:
			var err error
			if load, err = staticTokens(cfg.TokensJSON); err != nil {
				return nil, fmt.Errorf("token set: %w", err)
			}
		}
		var err error
		if s.tokens, err = newTokenAuth(ctx, load, cfg.TokensRefresh, cfg.TokensRecheck); err != nil {
			return nil, fmt.Errorf("token set: %w", err)
		}
	}
	s.mux.HandleFunc("POST /events", s.events)
	s.mux.HandleFunc("GET /healthz", s.health)
	return s, nil
}

// buffer returns the producer's buffer, making it on first use: each
// producer's events land in objects of their own, whose "producer" user
// metadata names it.
func (s *Service) buffer(producer string) (*raw.Buffer, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b := s.bufs[producer]; b != nil {
		return b, nil
	}
	if s.closed {
		return nil, errors.New("shutting down")
	}
	if len(s.bufs) >= s.cfg.MaxProducers {
		return nil, fmt.Errorf("%d producers are buffered already (MAX_PRODUCERS)", len(s.bufs))
	}
	log := s.log.With("producer", producer)
	b, err := raw.NewBuffer(s.lk, s.cfg.Source, s.cfg.Dataset, &raw.BufferOptions{
		Format:        raw.BufferJSONLines,
		Compression:   s.cfg.Compression,
		FlushBytes:    s.cfg.FlushBytes,
		FlushInterval: s.cfg.FlushInterval,
		Metadata:      map[string]string{"producer": producer},
		Logger:        log,
		OnFlush: func(f raw.BufferFlush) {
			if f.Err != nil {
				log.Warn("flush failed, will retry", "key", f.Key, "attempt", f.Attempt, "err", f.Err)
				return
			}
			log.Info("flushed", "key", f.Key, "records", f.Records, "bytes", f.StoredBytes, "reason", string(f.Reason))
		},
	})
	if err != nil {
		return nil, err
	}
	s.bufs[producer] = b
	return b, nil
}

func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Close flushes every producer's buffer; no buffer is made after it.
func (s *Service) Close(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	bufs := make([]*raw.Buffer, 0, len(s.bufs))
	for _, b := range s.bufs {
		bufs = append(bufs, b)
	}
	s.mu.Unlock()
	var errs []error
	for _, b := range bufs {
		errs = append(errs, b.Close(ctx))
	}
	return errors.Join(errs...)
}

// stats sums the buffers' counters.
func (s *Service) stats() raw.BufferStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	var t raw.BufferStats
	for _, b := range s.bufs {
		st := b.Stats()
		t.Records += st.Records
		t.RecordsFlushed += st.RecordsFlushed
		t.Flushes += st.Flushes
		t.BytesStored += st.BytesStored
		t.BufferedRecs += st.BufferedRecs
		t.FlushErrors += st.FlushErrors
		t.Waits += st.Waits
	}
	return t
}

func (s *Service) health(w http.ResponseWriter, _ *http.Request) {
	st := s.stats()
	status, code := "ok", http.StatusOK
	if s.draining.Load() {
		status, code = "draining", http.StatusServiceUnavailable
	}
	writeJSON(w, code, map[string]any{"status": status, "records": st.Records, "flushed": st.RecordsFlushed,
		"buffered": st.BufferedRecs, "flush_errors": st.FlushErrors})
}

// Invalid is one rejected record of a request.
type Invalid struct {
	Index  int    `json:"index"` // 0-based position in the request
	Reason string `json:"reason"`
}

// addWait is how long a request waits for room in a full buffer before it
// is answered 503 with Retry-After.
const addWait = 5 * time.Second

// maxReported bounds the reasons a 400 answer lists.
const maxReported = 20

func (s *Service) events(w http.ResponseWriter, r *http.Request) {
	if s.draining.Load() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "shutting down; retry on another instance"})
		return
	}
	producer, err := s.authenticate(r)
	if err != nil {
		ae := err.(*authError)
		s.rejected.Add(1)
		s.log.Warn("audit", "outcome", "refused", "code", ae.code, "reason", ae.reason, "remote", r.RemoteAddr)
		if ae.code == http.StatusUnauthorized && s.cfg.Auth == AuthToken {
			w.Header().Set("WWW-Authenticate", `Bearer realm="ingest"`)
		}
		writeJSON(w, ae.code, map[string]string{"error": ae.reason})
		return
	}
	// the body must arrive within BodyTimeout: a client trickling bytes
	// would otherwise hold a connection and a goroutine for as long as it
	// likes (ReadHeaderTimeout covers the headers only)
	if err := http.NewResponseController(w).SetReadDeadline(time.Now().Add(s.cfg.BodyTimeout)); err != nil {
		s.log.Warn("cannot set the body read deadline", "err", err)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.reject(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", s.cfg.MaxBody), nil)
			return
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			s.log.Warn("audit", "outcome", "body timeout", "producer", producer, "remote", r.RemoteAddr)
			w.Header().Set("Connection", "close")
			s.reject(w, http.StatusRequestTimeout, fmt.Sprintf("the body did not arrive within %v", s.cfg.BodyTimeout), nil)
			return
		}
		s.reject(w, http.StatusBadRequest, "reading the body: "+err.Error(), nil)
		return
	}
	records, bad := s.parse(body)
	if len(bad) > 0 {
		n := len(bad)
		if len(bad) > maxReported {
			bad = bad[:maxReported]
		}
		s.reject(w, http.StatusBadRequest, fmt.Sprintf("%d invalid records; nothing was accepted", n), bad)
		return
	}
	if len(records) == 0 {
		s.reject(w, http.StatusBadRequest, "no events in the body", nil)
		return
	}
	// back-pressure: when the buffer stays full (the lake is slow or
	// down), answer 503 after a while so the producer backs off and retries
	buf, err := s.buffer(producer)
	if err != nil {
		w.Header().Set("Retry-After", "1")
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"error": err.Error(), "accepted": 0})
		return
	}
	actx, cancel := context.WithTimeout(r.Context(), addWait)
	defer cancel()
	for i, rec := range records {
		if err := buf.Add(actx, rec); err != nil {
			// the first i records are in; the producer retries the rest
			// (event_id lets the cleaned zone drop the repeats)
			code := http.StatusServiceUnavailable
			if errors.Is(err, zones.ErrInvalid) {
				code = http.StatusBadRequest
			}
			w.Header().Set("Retry-After", "1")
			s.log.Info("audit", "outcome", "partly accepted", "producer", producer, "accepted", i, "of", len(records), "remote", r.RemoteAddr)
			writeJSON(w, code, map[string]any{"error": err.Error(), "accepted": i})
			return
		}
	}
	s.log.Info("audit", "outcome", "accepted", "producer", producer, "accepted", len(records), "remote", r.RemoteAddr)
	writeJSON(w, http.StatusAccepted, map[string]int{"accepted": len(records)})
}

func (s *Service) reject(w http.ResponseWriter, code int, msg string, bad []Invalid) {
	s.rejected.Add(1)
	writeJSON(w, code, map[string]any{"error": msg, "invalid": bad})
}

// parse splits a body into records (a JSON array, or JSON lines) and
// validates each: a JSON object with every required field present and not
// null or empty; a required "ts" must be an RFC 3339 time. Valid records
// come back compacted to one line each.
func (s *Service) parse(body []byte) ([][]byte, []Invalid) {
	var raws []json.RawMessage
	var bad []Invalid
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) > 0 && trimmed[0] == '[' {
		if err := json.Unmarshal(trimmed, &raws); err != nil {
			return nil, []Invalid{{Index: 0, Reason: "the body starts with '[' but is not a JSON array: " + err.Error()}}
		}
	} else {
		for line := range bytes.SplitSeq(trimmed, []byte("\n")) {
			if line = bytes.TrimSpace(line); len(line) > 0 {
				raws = append(raws, json.RawMessage(line))
			}
		}
	}
	out := make([][]byte, 0, len(raws))
	for i, raw := range raws {
		if reason := s.check(raw); reason != "" {
			bad = append(bad, Invalid{Index: i, Reason: reason})
			continue
		}
		var b bytes.Buffer
		json.Compact(&b, raw)
		out = append(out, b.Bytes())
	}
	return out, bad
}

func (s *Service) check(raw []byte) string {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		if !json.Valid(raw) {
			return "not valid JSON"
		}
		return "not a JSON object"
	}
	if obj == nil {
		return "not a JSON object"
	}
	for _, f := range s.cfg.Required {
		v, ok := obj[f]
		if !ok || string(v) == "null" || string(v) == `""` {
			return fmt.Sprintf("missing required field %q", f)
		}
		if f == "ts" {
			var ts string
			if json.Unmarshal(v, &ts) != nil {
				return `field "ts" is not a string`
			}
			if _, err := time.Parse(time.RFC3339Nano, ts); err != nil {
				return fmt.Sprintf("field \"ts\" %q is not an RFC 3339 time", ts)
			}
		}
	}
	return ""
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}
