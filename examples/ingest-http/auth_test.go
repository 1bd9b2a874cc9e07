package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/lakekit/lakekit/internal/testaws"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/zones/raw"
)

const oneEvent = `{"event_id":"a","ts":"2024-05-01T00:00:00Z"}`

// startService runs the handler in-process over a memory lake.
func startService(t *testing.T, args []string, getenv func(string) string, edit func(*Config)) (*Service, *httptest.Server, *lake.Lake) {
	t.Helper()
	lk, err := lake.Open(context.Background(), "mem://", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lk.Close() })
	cfg, _, err := loadConfig(args, getenv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(cfg)
	}
	svc, err := NewService(lk, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(svc)
	t.Cleanup(srv.Close)
	return svc, srv, lk
}

// status posts one event with the headers and returns the status code.
func status(t *testing.T, url string, header map[string]string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url+"/events", strings.NewReader(oneEvent))
	req.Header.Set("Content-Type", "application/x-ndjson")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode == http.StatusUnauthorized && header["Authorization"] == "" && resp.Header.Get("WWW-Authenticate") == "" {
		if _, upstream := header["X-Amzn-Oidc-Identity"]; !upstream {
			t.Errorf("401 without WWW-Authenticate")
		}
	}
	return resp.StatusCode
}

func bearer(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }

// producers returns the producer metadata of every landed raw object.
func producers(t *testing.T, lk *lake.Lake) map[string]int {
	t.Helper()
	out := map[string]int{}
	for l, err := range raw.List(context.Background(), lk, "web", "events", nil) {
		if err != nil {
			t.Fatal(err)
		}
		out[l.Metadata["producer"]]++
	}
	return out
}

func TestAuthTokens(t *testing.T) {
	svc, srv, lk := startService(t, nil, tokenEnv, nil)
	cases := []struct {
		name   string
		header map[string]string
		want   int
	}{
		{"no credential", nil, http.StatusUnauthorized},
		{"basic auth", map[string]string{"Authorization": "Basic d2ViOnRva2Vu"}, http.StatusUnauthorized},
		{"empty bearer", map[string]string{"Authorization": "Bearer "}, http.StatusUnauthorized},
		{"unknown token", bearer("not-a-token-of-this-service"), http.StatusForbidden},
		{"a token's prefix", bearer("web-frontend-token"), http.StatusForbidden},
		{"web-frontend", bearer("web-frontend-token-0123"), http.StatusAccepted},
		{"loadtest, lower-case scheme", map[string]string{"Authorization": "bearer loadtest-token-0123456789"}, http.StatusAccepted},
	}
	for _, c := range cases {
		if got := status(t, srv.URL, c.header); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
	if err := svc.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := producers(t, lk)
	if got["web-frontend"] != 1 || got["loadtest"] != 1 || len(got) != 2 {
		t.Errorf("landed objects by producer metadata: %v, want one of web-frontend and one of loadtest", got)
	}
}

func TestAuthSecretsManagerRotation(t *testing.T) {
	m := testaws.StartMoto(t)
	sm := secretsmanager.NewFromConfig(testaws.Config(t, m.Endpoint))
	ctx := context.Background()
	const id = "lakekit/ingest-tokens"
	tokens := func(v int) string { return fmt.Sprintf(`{"web-frontend":"web-frontend-token-v%d-abcdef"}`, v) }
	tok := func(v int) string { return fmt.Sprintf("web-frontend-token-v%d-abcdef", v) }
	if _, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(id), SecretString: aws.String(tokens(1))}); err != nil {
		t.Fatal(err)
	}
	svc, srv, lk := startService(t, []string{"-tokens-secret", id, "-tokens-recheck", "0s"}, func(string) string { return "" },
		func(c *Config) { c.Secrets = sm })
	rotate := func(v int) {
		if _, err := sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(id), SecretString: aws.String(tokens(v))}); err != nil {
			t.Fatal(err)
		}
	}
	check := func(when string, v, want int) {
		t.Helper()
		if got := status(t, srv.URL, bearer(tok(v))); got != want {
			t.Errorf("%s: token v%d: %d, want %d", when, v, got, want)
		}
	}
	check("before rotation", 1, http.StatusAccepted)
	check("before rotation", 2, http.StatusForbidden)
	if got := status(t, srv.URL, nil); got != http.StatusUnauthorized {
		t.Errorf("no token: %d, want 401", got)
	}
	rotate(2)
	check("after one rotation (current)", 2, http.StatusAccepted)
	check("after one rotation (previous)", 1, http.StatusAccepted)
	rotate(3)
	check("after two rotations (current)", 3, http.StatusAccepted)
	check("after two rotations (previous)", 2, http.StatusAccepted)
	check("after two rotations (revoked)", 1, http.StatusForbidden)
	if err := svc.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if got := producers(t, lk); got["web-frontend"] != 1 || len(got) != 1 {
		t.Errorf("landed objects by producer metadata: %v", got)
	}
	if _, err := NewService(lk, &Config{Auth: AuthToken, TokensSecret: "no-such-secret", Secrets: sm}, slog.Default()); err == nil ||
		!strings.Contains(err.Error(), "no-such-secret") {
		t.Errorf("a missing secret: %v", err)
	}
}

func TestAuthUpstream(t *testing.T) {
	env := func(n string) string {
		if n == "AUTH" {
			return "upstream"
		}
		return ""
	}
	svc, srv, lk := startService(t, nil, env, nil)
	const arn = "arn:aws:sts::111122223333:assumed-role/producer/web-1"
	if got := status(t, srv.URL, map[string]string{"X-Amzn-Oidc-Identity": ""}); got != http.StatusUnauthorized {
		t.Errorf("no identity header: %d, want 401", got)
	}
	if got := status(t, srv.URL, map[string]string{"X-Amzn-Oidc-Identity": "bad identity; drop"}); got != http.StatusUnauthorized {
		t.Errorf("malformed identity: %d, want 401", got)
	}
	if got := status(t, srv.URL, map[string]string{"X-Amzn-Oidc-Identity": arn}); got != http.StatusAccepted {
		t.Errorf("with identity: %d, want 202", got)
	}
	if err := svc.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := producers(t, lk); got[arn] != 1 || len(got) != 1 {
		t.Errorf("landed objects by producer metadata: %v, want one of %s", got, arn)
	}
}

// TestAuthSlowBody: a client that sends the headers and part of the body,
// then nothing, is cut off with 408 at the body deadline instead of
// holding the connection.
func TestAuthSlowBody(t *testing.T) {
	svc, srv, _ := startService(t, []string{"-body-timeout", "300ms"}, tokenEnv, nil)
	conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer web-frontend-token-0123\r\nContent-Type: application/x-ndjson\r\nContent-Length: %d\r\n\r\n%s",
		len(oneEvent)+100, oneEvent[:10])
	conn.SetReadDeadline(time.Now().Add(time.Minute)) // a bound for a broken server, not a measurement
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to a slow body: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusRequestTimeout || !strings.Contains(string(b), "did not arrive within 300ms") {
		t.Fatalf("slow body: %s %s, want 408", resp.Status, b)
	}
	if st := svc.stats(); st.Records != 0 {
		t.Errorf("%d records buffered from a cut-off body", st.Records)
	}
}

func TestAuthConfig(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(n string) string { return m[n] } }
	bad := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"no token set", nil, "exactly one token set"},
		{"two token sets", map[string]string{"INGEST_TOKENS": testTokens, "TOKENS_FILE": "/etc/tokens.json"}, "(2 given)"},
		{"unknown mode", map[string]string{"AUTH": "none"}, "want token or upstream"},
		{"bad header", map[string]string{"AUTH": "upstream", "IDENTITY_HEADER": "X Id"}, "IDENTITY_HEADER"},
		{"bad body timeout", map[string]string{"INGEST_TOKENS": testTokens, "BODY_TIMEOUT": "0s"}, "BODY_TIMEOUT"},
	}
	for _, c := range bad {
		if _, _, err := loadConfig(nil, env(c.env), io.Discard); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error mentioning %q", c.name, err, c.want)
		}
	}
	if _, err := parseTokens("t", []byte(`{"bad name":"0123456789abcdef"}`)); err == nil {
		t.Error("a producer name with a space was accepted")
	}
	if _, err := parseTokens("t", []byte(`["0123456789abcdef"]`)); err == nil {
		t.Error("a token list without producers was accepted")
	}
}
