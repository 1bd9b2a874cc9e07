package lake

import (
	"context"
	"os"
	"os/user"
	"sync"
	"time"
)

// Audit says who did something to a table: the host, process id and OS
// user of the process, and the caller's identity when known (given by the
// application, or the principal the store acts as, such as an AWS ARN).
// Commits (zones) and audit events such as a vacuum record it; History
// lists it.
type Audit struct {
	Host string `json:"host,omitempty"`
	PID  int    `json:"pid,omitempty"`
	User string `json:"user,omitempty"`
	// Caller is the identity of whoever acted: what the application gave
	// (zones.WriterOptions.Caller, Options.Caller) or, failing that, what
	// the store's driver reported (CallerIdentifier).
	Caller string `json:"caller,omitempty"`
}

// CallerIdentifier may be implemented by a driver that can tell whom the
// process acts as on its backend. The S3 driver asks STS GetCallerIdentity
// and returns the principal's ARN ("arn:aws:sts::123456789012:assumed-role/
// ingest/task-1"). The lake asks once, lazily, at the first commit, and
// bounds the call by CallerLookupTimeout; an error means unknown.
type CallerIdentifier interface {
	CallerIdentity(ctx context.Context) (string, error)
}

// CallerLookupTimeout bounds the lake's one call to CallerIdentifier: a
// backend that cannot answer (no STS endpoint reachable) slows the first
// commit by at most this much, and the identity stays unknown.
const CallerLookupTimeout = 2 * time.Second

// callerCache holds a lake's caller identity, looked up at most once.
type callerCache struct {
	explicit string
	once     sync.Once
	done     chan struct{}
	deadline time.Time
	mu       sync.Mutex
	value    string
}

// Caller returns who this lake acts as for the audit trail: Options.Caller
// when set; else the identity the store's driver reports (CallerIdentifier),
// asked once and cached — a failure or a timeout (CallerLookupTimeout) is
// cached as unknown, so commits are not slowed again; else "". When ctx
// ends first, Caller returns "" without waiting for the lookup.
func (l *Lake) Caller(ctx context.Context) string {
	c := &l.caller
	if c.explicit != "" {
		return c.explicit
	}
	id, ok := l.store.Driver().(CallerIdentifier)
	if !ok {
		return ""
	}
	c.once.Do(func() {
		c.done = make(chan struct{})
		c.deadline = time.Now().Add(CallerLookupTimeout)
		// The lookup outlives a caller whose context ends: its result is
		// cached for the lake's later commits.
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), CallerLookupTimeout)
		go func() {
			defer cancel()
			defer close(c.done)
			v, err := id.CallerIdentity(lctx)
			if err != nil {
				l.logger.Info("lake: caller identity unknown", "err", err)
				return
			}
			c.mu.Lock()
			c.value = v
			c.mu.Unlock()
		}()
	})
	timer := time.NewTimer(time.Until(c.deadline)) // also bounds a driver that ignores ctx
	defer timer.Stop()
	select {
	case <-c.done:
	case <-timer.C:
	case <-ctx.Done():
		return ""
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.value
}

// Audit returns the audit record of this process acting on the lake: host,
// process id, OS user, and caller — or, when caller is empty, Lake.Caller.
func (l *Lake) Audit(ctx context.Context, caller string) Audit {
	a := processAudit()
	a.Caller = caller
	if a.Caller == "" {
		a.Caller = l.Caller(ctx)
	}
	return a
}

// processAudit returns the host, pid and user of this process (looked up once).
var processAudit = sync.OnceValue(func() Audit {
	host, _ := os.Hostname()
	name := os.Getenv("USER")
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	return Audit{Host: host, PID: os.Getpid(), User: name}
})
