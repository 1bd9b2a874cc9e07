package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/glue"

	"github.com/lakekit/lakekit/catalog"
	"github.com/lakekit/lakekit/internal/eventgen"
	"github.com/lakekit/lakekit/internal/testaws"
)

func init() {
	register(scenario{name: "glue_calls_10k_partitions", what: "Glue API calls to register 10,000 partitions (moto_server)", run: glueCalls10kPartitions})
}

// moto is a moto_server the harness started on a loopback port.
type moto struct {
	endpoint string
	cmd      *exec.Cmd
}

// startMoto starts moto_server on a free loopback port; errSkip when it is
// not installed.
func startMoto(ctx context.Context) (*moto, error) {
	path, err := exec.LookPath("moto_server")
	if err != nil {
		return nil, fmt.Errorf("%w: moto_server is not installed (pip install 'moto[server]==5.2.1')", errSkip)
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		cmd := exec.Command(path, "-H", "127.0.0.1", "-p", fmt.Sprint(port))
		cmd.Env = testaws.MotoEnv()
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		var out strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			return nil, fmt.Errorf("%w: moto_server did not start: %v", errSkip, err)
		}
		m := &moto{endpoint: fmt.Sprintf("http://127.0.0.1:%d", port), cmd: cmd}
		if err := m.waitReady(ctx, 30*time.Second); err != nil {
			m.stop()
			lastErr = fmt.Errorf("%v; output: %s", err, out.String())
			continue
		}
		return m, nil
	}
	return nil, fmt.Errorf("moto_server would not start: %v", lastErr)
}

func (m *moto) waitReady(ctx context.Context, d time.Duration) error {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, m.endpoint+"/moto-api/", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("moto_server at %s not ready after %v", m.endpoint, d)
}

// stop kills the process group of the moto_server this harness started.
func (m *moto) stop() {
	if m.cmd.Process != nil {
		syscall.Kill(-m.cmd.Process.Pid, syscall.SIGKILL)
		m.cmd.Wait()
	}
}

// countingTransport counts AWS JSON-protocol calls by their X-Amz-Target.
type countingTransport struct {
	base http.RoundTripper
	mu   sync.Mutex
	ops  map[string]int
}

func (t *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	op := r.Header.Get("X-Amz-Target")
	if i := strings.LastIndexByte(op, '.'); i >= 0 {
		op = op[i+1:]
	}
	if op == "" {
		op = r.Method + " " + r.URL.Path
	}
	t.mu.Lock()
	t.ops[op]++
	t.mu.Unlock()
	return t.base.RoundTrip(r)
}

func (t *countingTransport) reset() map[string]int {
	t.mu.Lock()
	defer t.mu.Unlock()
	ops := t.ops
	t.ops = map[string]int{}
	return ops
}

func glueCalls10kPartitions(ctx context.Context, c *config) (*Result, error) {
	n := 10_000
	if c.short {
		n = 1_000
	}
	m, err := startMoto(ctx)
	if err != nil {
		return nil, err
	}
	defer m.stop()
	cfg, err := awsConfig(ctx, m.endpoint)
	if err != nil {
		return nil, err
	}
	ct := &countingTransport{base: http.DefaultTransport.(*http.Transport).Clone(), ops: map[string]int{}}
	client := glue.NewFromConfig(cfg, func(o *glue.Options) { o.HTTPClient = &http.Client{Transport: ct} })
	g, err := catalog.NewGlueFromClient(client, nil)
	if err != nil {
		return nil, err
	}

	var opsSeen map[string]int
	var seconds []float64
	lk, _, lks, _, err := measure(c,
		func(rep int) (float64, error) {
			db := fmt.Sprintf("bench%d", rep)
			if err := g.CreateDatabase(ctx, catalog.Database{Name: db}); err != nil {
				return 0, err
			}
			t := &catalog.Table{
				Database: db, Name: benchTable, Format: "parquet",
				Location: "s3://bench/lake/curated/" + db + "/" + benchTable + "/",
				Schema: catalog.Schema{
					Columns: []catalog.Column{
						{Name: "id", Type: "bigint", Required: true}, {Name: "ts", Type: "timestamp", Required: true},
						{Name: "user_id", Type: "string", Required: true}, {Name: "amount", Type: "double", Required: true},
						{Name: "country", Type: "string", Required: true}, {Name: "url", Type: "string", Required: true},
					},
					PartitionKeys: []catalog.Column{{Name: "dt", Type: "string", Required: true}},
				},
			}
			if err := g.CreateTable(ctx, t); err != nil {
				return 0, err
			}
			parts := make([]catalog.Partition, n)
			for i := range parts {
				// n distinct days from the events' first day
				parts[i] = catalog.Partition{Values: []string{dayOf(i)}}
			}
			ct.reset()
			t0 := time.Now()
			if err := g.AddPartitions(ctx, db, benchTable, parts); err != nil {
				return 0, fmt.Errorf("add %d partitions: %w", n, err)
			}
			seconds = append(seconds, time.Since(t0).Seconds())
			opsSeen = ct.reset()
			total := 0
			for _, k := range opsSeen {
				total += k
			}
			// check they are all there (calls not counted)
			got := 0
			for _, err := range g.Partitions(ctx, db, benchTable, "") {
				if err != nil {
					return 0, fmt.Errorf("list partitions: %w", err)
				}
				got++
			}
			ct.reset()
			if got != n {
				return 0, fmt.Errorf("Glue lists %d partitions after adding %d", got, n)
			}
			return float64(total), nil
		},
		func(int) (float64, error) { return float64(n), nil })
	if err != nil {
		return nil, err
	}
	var ops []string
	for op, k := range opsSeen {
		ops = append(ops, fmt.Sprintf("%s=%d", op, k))
	}
	sort.Strings(ops)
	limit := float64(n / 100)
	r := &Result{
		Unit:           "Glue API calls (HTTP requests) during AddPartitions (lower is better; ratio = peer/lakekit)",
		Lakekit:        lk,
		Peer:           fmt.Sprintf("naive: one CreatePartition call per partition (%d calls, counted, not run)", n),
		PeerValue:      float64(n),
		LowerIsBetter:  true,
		Reps:           c.reps,
		Rows:           0,
		Partitions:     n,
		LakekitSamples: lks,
		Extra: map[string]any{
			"calls_by_operation":   strings.Join(ops, " "),
			"batch_create_calls":   opsSeen["BatchCreatePartition"],
			"add_seconds":          roundAll(seconds, 2),
			"server":               "moto_server 5.2.1 on loopback, started by the harness; calls counted by an http.RoundTripper on the Glue client",
			"partitions_verified":  n,
			"glue_max_batch":       100,
			"glue_concurrency_max": 4,
		},
	}
	r.finish(lk, target{op: "<=", value: limit}, float64(n)/limit)
	return r, nil
}

// dayOf is the i-th day from the generator's first day, as a dt value.
func dayOf(i int) string {
	return eventgen.Start.AddDate(0, 0, i).Format("2006-01-02")
}
