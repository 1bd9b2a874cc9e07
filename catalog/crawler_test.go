package catalog_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	gtypes "github.com/aws/aws-sdk-go-v2/service/glue/types"

	"github.com/lakekit/lakekit/catalog"
)

// TestStartCrawlerAlreadyRunning pins "already running" to the behaviour
// orchestrate's TestStartCrawlerAlreadyRunning checks too, on a server that
// answers as Glue does: starting a running crawler returns false and no
// error, and waiting then waits for the crawl under way; a missing crawler
// and a refused call are still errors.
func TestStartCrawlerAlreadyRunning(t *testing.T) {
	var polls atomic.Int64
	srv := glueJSONServer(t, func(op string, body map[string]any) (int, string) {
		name, _ := body["Name"].(string)
		switch op + " " + name {
		case "StartCrawler idle":
			return 200, `{}`
		case "StartCrawler busy":
			return 400, `{"__type": "CrawlerRunningException", "Message": "Crawler with name busy has already started"}`
		case "StartCrawler denied":
			return 400, `{"__type": "AccessDeniedException", "Message": "not authorized to perform glue:StartCrawler"}`
		case "GetCrawler busy":
			if polls.Add(1) <= 2 {
				return 200, `{"Crawler": {"Name": "busy", "State": "RUNNING"}}`
			}
			return 200, `{"Crawler": {"Name": "busy", "State": "READY", "LastCrawl": {"Status": "SUCCEEDED", "StartTime": 1700000000}}}`
		}
		return 400, `{"__type": "EntityNotFoundException", "Message": "Crawler entry with name ` + name + ` does not exist"}`
	})
	g, _ := countingGlue(t, srv.URL, nil)
	var c catalog.Crawlers = g
	ctx := context.Background()

	if started, err := c.StartCrawler(ctx, "idle"); !started || err != nil {
		t.Errorf("idle crawler: %v, %v; want true, nil", started, err)
	}
	started, err := c.StartCrawler(ctx, "busy")
	if started || err != nil {
		t.Fatalf("running crawler: %v, %v; want false, nil", started, err)
	}
	res, err := c.WaitCrawler(ctx, "busy", &catalog.WaitOptions{MinDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond})
	if err != nil || res == nil || res.Status != "SUCCEEDED" || polls.Load() != 3 {
		t.Errorf("waiting for the crawl under way: %+v, %v after %d polls", res, err, polls.Load())
	}
	var nf *gtypes.EntityNotFoundException
	if started, err := c.StartCrawler(ctx, "ghost"); started || !errors.Is(err, catalog.ErrNoSuchTable) || !errors.As(err, &nf) {
		t.Errorf("missing crawler: %v, %v; want an error wrapping ErrNoSuchTable and the Glue error", started, err)
	}
	if started, err := c.StartCrawler(ctx, "denied"); started || err == nil {
		t.Errorf("refused StartCrawler: %v, %v; want the error", started, err)
	}
}
