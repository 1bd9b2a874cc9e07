package orchestrate

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	gluetypes "github.com/aws/aws-sdk-go-v2/service/glue/types"

	"github.com/lakekit/lakekit/internal/testaws"
)

// TestStartCrawlerAlreadyRunning pins "already running" to the behaviour
// catalog's TestStartCrawlerAlreadyRunning checks too, on a server that
// answers as Glue does: starting a running crawler returns false and no
// error, and waiting then waits for the crawl under way; a missing crawler
// and a refused call are still errors.
func TestStartCrawlerAlreadyRunning(t *testing.T) {
	var polls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "AWSGlue.")
		var body struct{ Name string }
		json.NewDecoder(r.Body).Decode(&body)
		status, resp := 400, `{"__type": "EntityNotFoundException", "Message": "Crawler entry with name `+body.Name+` does not exist"}`
		switch op + " " + body.Name {
		case "StartCrawler idle":
			status, resp = 200, `{}`
		case "StartCrawler busy":
			resp = `{"__type": "CrawlerRunningException", "Message": "Crawler with name busy has already started"}`
		case "StartCrawler denied":
			resp = `{"__type": "AccessDeniedException", "Message": "not authorized to perform glue:StartCrawler"}`
		case "GetCrawler busy":
			status, resp = 200, `{"Crawler": {"Name": "busy", "State": "READY", "LastCrawl": {"Status": "SUCCEEDED", "StartTime": 1700000000}}}`
			if polls.Add(1) <= 2 {
				resp = `{"Crawler": {"Name": "busy", "State": "RUNNING"}}`
			}
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(status)
		io.WriteString(w, resp)
	}))
	t.Cleanup(srv.Close)
	g, err := NewGlue(testaws.Config(t, srv.URL), &GlueOptions{Wait: WaitOptions{MinDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	if started, err := g.StartCrawler(ctx, "idle"); !started || err != nil {
		t.Errorf("idle crawler: %v, %v; want true, nil", started, err)
	}
	started, err := g.StartCrawler(ctx, "busy")
	if started || err != nil {
		t.Fatalf("running crawler: %v, %v; want false, nil", started, err)
	}
	last, err := g.WaitCrawler(ctx, "busy", nil)
	if err != nil || last != "SUCCEEDED" || polls.Load() != 3 {
		t.Errorf("waiting for the crawl under way: %q, %v after %d polls", last, err, polls.Load())
	}
	var nf *gluetypes.EntityNotFoundException
	if started, err := g.StartCrawler(ctx, "ghost"); started || !errors.Is(err, ErrNotFound) || !errors.As(err, &nf) {
		t.Errorf("missing crawler: %v, %v; want an error wrapping ErrNotFound and the Glue error", started, err)
	}
	if started, err := g.StartCrawler(ctx, "denied"); started || err == nil {
		t.Errorf("refused StartCrawler: %v, %v; want the error", started, err)
	}

	// RunCrawler on a running crawler waits for that crawl, as the compiled
	// step does (it catches Glue.CrawlerRunningException).
	polls.Store(0)
	if last, err := g.RunCrawler(ctx, "busy", nil); err != nil || last != "SUCCEEDED" || polls.Load() != 3 {
		t.Errorf("RunCrawler on a running crawler: %q, %v after %d polls", last, err, polls.Load())
	}
}
