// Package testaws starts the AWS peers lakekit's tests run against: the
// moto_server emulator and an in-process gofakes3 S3 server, both on
// loopback, and builds aws.Config values that talk to them.
//
// Where moto_server is missing the tests that need it skip with a message,
// except when CI=true: there a missing peer fails the test, so CI never
// passes by skipping.
package testaws

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/lakekit/lakekit/internal/awsmodel"
)

// Region is the region every test config uses.
const Region = "us-east-1"

// InCI reports whether CI=true: missing peers then fail instead of skip.
func InCI() bool { return os.Getenv("CI") == "true" }

// SkipOrFail skips the test with msg, or fails it in CI.
func SkipOrFail(t testing.TB, msg string) {
	t.Helper()
	if InCI() {
		t.Fatalf("%s (CI=true: a missing test peer is a failure)", msg)
	}
	t.Skip(msg)
}

// Config returns an aws.Config for endpoint with static test credentials,
// loaded through config.LoadDefaultConfig as users load theirs. Every
// request a client built from it sends is checked against what the service
// accepts (CheckModels): the emulators accept requests AWS refuses, and a
// violation fails t.
func Config(t testing.TB, endpoint string) aws.Config {
	t.Helper()
	cfg, err := config.LoadDefaultConfig(context.Background(),
		config.WithRegion(Region),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("testing", "testing", "")),
		config.WithBaseEndpoint(endpoint),
		config.WithRetryMaxAttempts(3),
	)
	if err != nil {
		t.Fatal(err)
	}
	CheckModels(t, &cfg)
	return cfg
}

// CheckModels installs the request check (internal/awsmodel) on a config a
// test built some other way: every request of the clients built from cfg
// is validated (lengths, ranges and list sizes from the AWS API Reference,
// enums from the SDK's types; the SDK itself refuses a missing required
// member), and each violation fails t when it ends. The recorder returned
// lists the requests seen.
func CheckModels(t testing.TB, cfg *aws.Config) *awsmodel.Recorder {
	t.Helper()
	return awsmodel.Check(t, cfg)
}

// MotoEnv is the environment moto_server runs with: this process's, plus
// static credentials and no EC2 metadata lookups. moto calls other services
// through boto3 (Step Functions runs its tasks, Lake Formation checks its
// grants), and boto's credential chain would otherwise ask the EC2 metadata
// endpoint, which is not on loopback.
func MotoEnv() []string {
	return append(os.Environ(), "MOTO_ALLOW_NONEXISTENT_REGION=true",
		"AWS_ACCESS_KEY_ID=testing", "AWS_SECRET_ACCESS_KEY=testing", "AWS_SESSION_TOKEN=",
		"AWS_EC2_METADATA_DISABLED=true", "AWS_DEFAULT_REGION="+Region)
}

// FreePort returns a free TCP port on 127.0.0.1.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Moto is a running moto_server.
type Moto struct {
	Endpoint string // http://127.0.0.1:PORT
	cmd      *exec.Cmd
	mu       sync.Mutex
}

// StartMoto starts moto_server on a free loopback port and stops it when
// the test ends. It skips (fails in CI) when moto_server is not installed.
func StartMoto(t testing.TB) *Moto {
	t.Helper()
	path, err := exec.LookPath("moto_server")
	if err != nil {
		SkipOrFail(t, "moto_server is not installed (pip install 'moto[server]==5.2.1')")
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port := FreePort(t)
		cmd := exec.Command(path, "-H", "127.0.0.1", "-p", fmt.Sprint(port))
		cmd.Env = MotoEnv()
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		var out strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			SkipOrFail(t, "moto_server did not start: "+err.Error())
		}
		m := &Moto{Endpoint: fmt.Sprintf("http://127.0.0.1:%d", port), cmd: cmd}
		if err := m.waitReady(20 * time.Second); err != nil {
			m.stop()
			lastErr = fmt.Errorf("%w; output: %s", err, out.String())
			continue
		}
		t.Cleanup(m.stop)
		return m
	}
	t.Fatalf("moto_server would not start: %v", lastErr)
	return nil
}

func (m *Moto) waitReady(d time.Duration) error {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		resp, err := http.Get(m.Endpoint + "/moto-api/")
		if err == nil {
			resp.Body.Close()
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("moto_server at %s not ready after %v", m.Endpoint, d)
}

func (m *Moto) stop() {
	if m.cmd.Process != nil {
		syscall.Kill(-m.cmd.Process.Pid, syscall.SIGKILL)
		m.cmd.Wait()
	}
}

// Reset clears all of moto's state (POST /moto-api/reset).
func (m *Moto) Reset(t testing.TB) {
	t.Helper()
	m.post(t, "/moto-api/reset", "")
}

// SetConfig posts moto's runtime configuration, e.g.
// `{"stepfunctions": {"execute_state_machine": true}}`.
func (m *Moto) SetConfig(t testing.TB, jsonBody string) {
	t.Helper()
	m.post(t, "/moto-api/config", jsonBody)
}

// Post sends a JSON body to a moto-api path (seeding Athena results, say).
func (m *Moto) Post(t testing.TB, path, jsonBody string) {
	t.Helper()
	m.post(t, path, jsonBody)
}

func (m *Moto) post(t testing.TB, path, body string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	resp, err := http.Post(m.Endpoint+path, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("moto %s: %s: %s", path, resp.Status, b)
	}
}

// Config returns an aws.Config pointing at this moto.
func (m *Moto) Config(t testing.TB) aws.Config { return Config(t, m.Endpoint) }

// CallerARN asks moto's STS who the test credentials are and returns the
// ARN, failing the test when the answer is not an ARN of the account it
// names: what a caller-identity lookup on this moto should report.
func (m *Moto) CallerARN(t testing.TB) string {
	t.Helper()
	out, err := sts.NewFromConfig(m.Config(t)).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("moto STS: %v", err)
	}
	arn := aws.ToString(out.Arn)
	if !strings.HasPrefix(arn, "arn:aws:") || !strings.Contains(arn, aws.ToString(out.Account)) {
		t.Fatalf("moto answered an ARN of an unexpected shape: %q (account %q)", arn, aws.ToString(out.Account))
	}
	return arn
}

// FakeS3 is an in-process gofakes3 server on loopback (plain HTTP: over
// HTTPS gofakes3 v1.2.0 corrupts objects sent with trailing checksums).
type FakeS3 struct {
	Endpoint string
	Server   *httptest.Server

	mu       sync.Mutex
	requests []*http.Request
}

// StartFakeS3 starts gofakes3 and stops it when the test ends. Every request
// the server receives is recorded (method, URL, headers) for assertions.
func StartFakeS3(t testing.TB) *FakeS3 {
	t.Helper()
	backend := s3mem.New()
	faker := gofakes3.New(backend, gofakes3.WithAutoBucket(true))
	h := faker.Server()
	f := &FakeS3{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := r.Clone(context.Background())
		c.Body = nil
		f.mu.Lock()
		f.requests = append(f.requests, c)
		f.mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	f.Endpoint = f.Server.URL
	t.Cleanup(f.Server.Close)
	return f
}

// Config returns an aws.Config pointing at this server.
func (f *FakeS3) Config(t testing.TB) aws.Config { return Config(t, f.Endpoint) }

// Requests returns the requests received so far.
func (f *FakeS3) Requests() []*http.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*http.Request(nil), f.requests...)
}

// ResetRequests forgets the recorded requests.
func (f *FakeS3) ResetRequests() {
	f.mu.Lock()
	f.requests = nil
	f.mu.Unlock()
}

// CountRequests counts recorded requests with the method whose path
// contains pathPart.
func (f *FakeS3) CountRequests(method, pathPart string) int {
	n := 0
	for _, r := range f.Requests() {
		if r.Method == method && strings.Contains(r.URL.Path, pathPart) {
			n++
		}
	}
	return n
}
