package catalog

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/glue"
	gtypes "github.com/aws/aws-sdk-go-v2/service/glue/types"

	"github.com/lakekit/lakekit/internal/wait"
)

// Crawlers is implemented by catalogs that run crawlers (Glue).
type Crawlers interface {
	// StartCrawler starts a crawl and reports whether this call started
	// it. A crawler that is already running is not an error (the caller
	// wants it running): StartCrawler returns false and nil, and
	// WaitCrawler then waits for the crawl under way, which may have begun
	// before data the caller just wrote. orchestrate.Glue's StartCrawler
	// behaves the same.
	StartCrawler(ctx context.Context, name string) (started bool, err error)
	// WaitCrawler waits until the crawler is idle again and reports how
	// its last crawl ended: nil when it succeeded, ErrCrawlFailed with
	// the crawler's message otherwise; ErrWaitTimeout after MaxWait.
	WaitCrawler(ctx context.Context, name string, opts *WaitOptions) (*CrawlResult, error)
}

// ErrCrawlFailed: the crawler's last crawl failed or was cancelled.
var ErrCrawlFailed = errors.New("catalog: crawl failed")

// ErrWaitTimeout: MaxWait passed before the crawler finished.
var ErrWaitTimeout = errors.New("catalog: wait timed out")

// WaitOptions shape the polling of WaitCrawler, like the AWS SDK's
// waiters: the first poll is immediate, then delays grow from MinDelay to
// MaxDelay with jitter, and MaxWait bounds the whole wait (the context can
// end it sooner). Zero fields, or a nil *WaitOptions, take the defaults
// shared by every lakekit waiter (MinDelay 100 ms, MaxDelay 5 s, MaxWait
// 1 h). It is the same type as query.Poll and orchestrate.WaitOptions.
type WaitOptions = wait.Options

// CrawlResult is how a crawl ended.
type CrawlResult struct {
	Status       string // SUCCEEDED, FAILED, CANCELLED
	ErrorMessage string
	StartTime    time.Time
}

// StartCrawler implements Crawlers.
func (g *Glue) StartCrawler(ctx context.Context, name string) (started bool, err error) {
	if strings.TrimSpace(name) == "" {
		return false, invalidf("empty crawler name")
	}
	_, err = g.c.StartCrawler(ctx, &glue.StartCrawlerInput{Name: aws.String(name)})
	switch {
	case apiCode(err) == "CrawlerRunningException":
		return false, nil
	case err != nil:
		return false, glueErr(err, "start crawler "+name, ErrNoSuchTable)
	}
	return true, nil
}

// WaitCrawler implements Crawlers by polling GetCrawler.
func (g *Glue) WaitCrawler(ctx context.Context, name string, opts *WaitOptions) (*CrawlResult, error) {
	var r *CrawlResult
	w := wait.Waiter{Options: wait.Or(opts), What: "glue crawler " + name, Timeout: ErrWaitTimeout}
	err := w.Until(ctx, func(ctx context.Context) (bool, error) {
		out, err := g.c.GetCrawler(ctx, &glue.GetCrawlerInput{Name: aws.String(name)})
		if err != nil {
			return false, glueErr(err, "get crawler "+name, nil)
		}
		c := out.Crawler
		if c == nil || c.State != gtypes.CrawlerStateReady {
			return false, nil
		}
		if c.LastCrawl == nil {
			return false, fmt.Errorf("catalog: crawler %s is idle and has never run", name)
		}
		r = &CrawlResult{Status: string(c.LastCrawl.Status), ErrorMessage: aws.ToString(c.LastCrawl.ErrorMessage)}
		if c.LastCrawl.StartTime != nil {
			r.StartTime = *c.LastCrawl.StartTime
		}
		if c.LastCrawl.Status != gtypes.LastCrawlStatusSucceeded {
			return true, fmt.Errorf("catalog: crawler %s: %s: %s: %w", name, r.Status, r.ErrorMessage, ErrCrawlFailed)
		}
		return true, nil
	})
	return r, err
}
