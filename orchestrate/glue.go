package orchestrate

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/glue"
	gluetypes "github.com/aws/aws-sdk-go-v2/service/glue/types"

	"github.com/lakekit/lakekit/internal/wait"
)

// WaitOptions shape a waiter, like the AWS SDK's: the first poll is
// immediate, later ones come after a jittered delay growing from MinDelay
// to MaxDelay, and the waiter gives up after MaxWait (an error wrapping
// ErrWaitTimeout) or when the context ends. Zero fields, or a nil
// *WaitOptions, take the defaults shared by every lakekit waiter (MinDelay
// 100 ms, MaxDelay 5 s, MaxWait 1 h). It is the same type as query.Poll and
// catalog.WaitOptions.
type WaitOptions = wait.Options

// poll calls check until it reports done, as o says (nil: defaults).
func poll(ctx context.Context, o *WaitOptions, what string, check wait.Check) error {
	return wait.Waiter{Options: wait.Or(o), What: what, Timeout: ErrWaitTimeout}.Until(ctx, check)
}

// GlueAPI is the part of the AWS Glue client Glue calls (job runs and
// crawlers): a *glue.Client has these methods. NewGlueFromClient takes any
// value that has them, so a service can hand in an instrumented client or a
// test can hand in a stub.
type GlueAPI interface {
	StartJobRun(context.Context, *glue.StartJobRunInput, ...func(*glue.Options)) (*glue.StartJobRunOutput, error)
	GetJobRun(context.Context, *glue.GetJobRunInput, ...func(*glue.Options)) (*glue.GetJobRunOutput, error)
	StartCrawler(context.Context, *glue.StartCrawlerInput, ...func(*glue.Options)) (*glue.StartCrawlerOutput, error)
	GetCrawler(context.Context, *glue.GetCrawlerInput, ...func(*glue.Options)) (*glue.GetCrawlerOutput, error)
}

// GlueOptions configure a Glue. A nil *GlueOptions means defaults.
type GlueOptions struct {
	// Wait shapes the waiters of WaitJobRun, RunJob, WaitCrawler and
	// RunCrawler when they are called with nil WaitOptions (and those of
	// a Runner's Glue steps); zero fields take the defaults.
	Wait WaitOptions
	// ClientOptions are applied to the glue.Options of the client NewGlue
	// builds, after the aws.Config: a custom HTTP client, a retryer or an
	// endpoint. NewGlueFromClient ignores them.
	ClientOptions []func(*glue.Options)
}

// Glue starts and waits for AWS Glue job runs and crawls.
type Glue struct {
	c    GlueAPI
	wait *WaitOptions
}

// NewGlue returns a Glue over a client built from cfg (region,
// credentials, endpoint) and opts.ClientOptions. A nil opts means
// defaults.
func NewGlue(cfg aws.Config, opts *GlueOptions) (*Glue, error) {
	var fns []func(*glue.Options)
	if opts != nil {
		fns = opts.ClientOptions
	}
	return NewGlueFromClient(glue.NewFromConfig(cfg, fns...), opts)
}

// NewGlueFromClient returns a Glue over client: a *glue.Client, or any
// GlueAPI (an instrumented client, a stub in a test). It fails with
// ErrNotConfigured when client is nil.
func NewGlueFromClient(client GlueAPI, opts *GlueOptions) (*Glue, error) {
	if client == nil {
		return nil, fmt.Errorf("%w: NewGlueFromClient: the Glue client is nil", ErrNotConfigured)
	}
	var o GlueOptions
	if opts != nil {
		o = *opts
	}
	return &Glue{c: client, wait: &o.Wait}, nil
}

// As exposes the *glue.Client.
func (g *Glue) As(i any) bool {
	p, ok := i.(**glue.Client)
	if !ok {
		return false
	}
	c, ok := g.c.(*glue.Client)
	if ok {
		*p = c
	}
	return ok
}

// JobRun is the state of a Glue job run.
type JobRun struct {
	JobName string
	ID      string
	State   string
	Error   string
}

func glueErr(op, name string, err error) error {
	var nf *gluetypes.EntityNotFoundException
	if errors.As(err, &nf) {
		return fmt.Errorf("orchestrate: glue %s %q: %w: %w", op, name, ErrNotFound, err)
	}
	return fmt.Errorf("orchestrate: glue %s %q: %w", op, name, err)
}

// StartJobRun starts a run of a Glue job and returns its id.
func (g *Glue) StartJobRun(ctx context.Context, job string, args map[string]string) (string, error) {
	out, err := g.c.StartJobRun(ctx, &glue.StartJobRunInput{JobName: aws.String(job), Arguments: args})
	if err != nil {
		return "", glueErr("StartJobRun", job, err)
	}
	return aws.ToString(out.JobRunId), nil
}

// GetJobRun returns the state of a job run.
func (g *Glue) GetJobRun(ctx context.Context, job, runID string) (*JobRun, error) {
	out, err := g.c.GetJobRun(ctx, &glue.GetJobRunInput{JobName: aws.String(job), RunId: aws.String(runID)})
	if err != nil {
		return nil, glueErr("GetJobRun", job+"/"+runID, err)
	}
	jr := &JobRun{JobName: job, ID: runID}
	if out.JobRun != nil {
		jr.State = string(out.JobRun.JobRunState)
		jr.Error = aws.ToString(out.JobRun.ErrorMessage)
	}
	return jr, nil
}

// WaitJobRun polls a job run until it ends. A run ending other than
// SUCCEEDED returns the run and an error wrapping ErrExecutionFailed.
func (g *Glue) WaitJobRun(ctx context.Context, job, runID string, o *WaitOptions) (*JobRun, error) {
	if o == nil {
		o = g.wait
	}
	var jr *JobRun
	err := poll(ctx, o, "glue job run "+job+"/"+runID, func(ctx context.Context) (bool, error) {
		var err error
		jr, err = g.GetJobRun(ctx, job, runID)
		if err != nil {
			return false, err
		}
		switch gluetypes.JobRunState(jr.State) {
		case gluetypes.JobRunStateSucceeded:
			return true, nil
		case gluetypes.JobRunStateFailed, gluetypes.JobRunStateStopped, gluetypes.JobRunStateTimeout,
			gluetypes.JobRunStateError, gluetypes.JobRunStateExpired:
			return true, fmt.Errorf("%w: glue job run %s/%s ended %s: %s", ErrExecutionFailed, job, runID, jr.State, jr.Error)
		}
		return false, nil
	})
	return jr, err
}

// RunJob starts a job run and waits for it to end.
func (g *Glue) RunJob(ctx context.Context, job string, args map[string]string, o *WaitOptions) (*JobRun, error) {
	id, err := g.StartJobRun(ctx, job, args)
	if err != nil {
		return nil, err
	}
	return g.WaitJobRun(ctx, job, id, o)
}

// StartCrawler starts a crawl and reports whether this call started it.
// A crawler that is already running is not an error (the caller wants it
// running): Glue answers CrawlerRunningException, and StartCrawler returns
// false and nil, so waiting for the crawler waits for the crawl under way,
// which may have begun before data the caller just wrote. catalog.Glue's
// StartCrawler behaves the same.
func (g *Glue) StartCrawler(ctx context.Context, name string) (started bool, err error) {
	_, err = g.c.StartCrawler(ctx, &glue.StartCrawlerInput{Name: aws.String(name)})
	var running *gluetypes.CrawlerRunningException
	switch {
	case errors.As(err, &running):
		return false, nil
	case err != nil:
		return false, glueErr("StartCrawler", name, err)
	}
	return true, nil
}

// CrawlerState returns the crawler's state (READY, RUNNING, STOPPING) and
// the status of its last crawl (SUCCEEDED, CANCELLED, FAILED).
func (g *Glue) CrawlerState(ctx context.Context, name string) (state, last string, err error) {
	out, err := g.c.GetCrawler(ctx, &glue.GetCrawlerInput{Name: aws.String(name)})
	if err != nil {
		return "", "", glueErr("GetCrawler", name, err)
	}
	if out.Crawler == nil {
		return "", "", fmt.Errorf("orchestrate: glue GetCrawler %q: %w", name, ErrNotFound)
	}
	if out.Crawler.LastCrawl != nil {
		last = string(out.Crawler.LastCrawl.Status)
		if out.Crawler.LastCrawl.Status == gluetypes.LastCrawlStatusFailed {
			last += ": " + aws.ToString(out.Crawler.LastCrawl.ErrorMessage)
		}
	}
	return string(out.Crawler.State), last, nil
}

// WaitCrawler polls until the crawler is READY again with a last crawl
// and returns that crawl's status; a FAILED or CANCELLED crawl is an error
// wrapping ErrExecutionFailed. The compiled crawler step decides the same
// way.
func (g *Glue) WaitCrawler(ctx context.Context, name string, o *WaitOptions) (string, error) {
	if o == nil {
		o = g.wait
	}
	var last string
	err := poll(ctx, o, "glue crawler "+name, func(ctx context.Context) (bool, error) {
		state, l, err := g.CrawlerState(ctx, name)
		if err != nil {
			return false, err
		}
		last = l
		if gluetypes.CrawlerState(state) != gluetypes.CrawlerStateReady || l == "" {
			return false, nil // READY with no crawl yet: ours has not started
		}
		if strings.HasPrefix(l, string(gluetypes.LastCrawlStatusFailed)) || l == string(gluetypes.LastCrawlStatusCancelled) {
			return true, fmt.Errorf("%w: glue crawler %s: last crawl %s", ErrExecutionFailed, name, l)
		}
		return true, nil
	})
	return last, err
}

// RunCrawler starts a crawl and waits for it; when the crawler was already
// running it waits for that crawl, as the compiled crawler step does.
func (g *Glue) RunCrawler(ctx context.Context, name string, o *WaitOptions) (string, error) {
	if _, err := g.StartCrawler(ctx, name); err != nil {
		return "", err
	}
	return g.WaitCrawler(ctx, name, o)
}
