// Producer authentication of this example: bearer tokens from AWS Secrets
// Manager (or a file or the environment for local runs), or an identity an
// upstream authenticator (API Gateway IAM auth, ALB OIDC) put in a header.

package main

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
)

// The authentication modes (AUTH).
const (
	// AuthToken requires "Authorization: Bearer <token>" with a token of
	// the current or the previous version of the token set.
	AuthToken = "token"
	// AuthUpstream trusts an authenticator in front of the service and
	// requires the identity header it sets (IDENTITY_HEADER). Use it only
	// when nothing but that authenticator can reach the service (security
	// group open to the load balancer or VPC link alone).
	AuthUpstream = "upstream"
)

// SecretGetter reads a secret version (*secretsmanager.Client implements
// it).
type SecretGetter interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// producerRE is what a producer identity may look like: it goes into S3
// user metadata (printable ASCII) and the logs.
var producerRE = regexp.MustCompile(`^[A-Za-z0-9._@:/+=,-]{1,256}$`)

// tokenSet is a token set's tokens, by SHA-256, with their producer.
type tokenSet struct {
	producers []string
	sums      [][32]byte
}

// parseTokens reads a token set: a JSON object mapping producer names to
// their tokens, {"web-frontend": "…", "mobile": "…"}.
func parseTokens(what string, b []byte) (tokenSet, error) {
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		return tokenSet{}, fmt.Errorf("%s: want a JSON object {\"producer\": \"token\", ...}: %v", what, err)
	}
	var ts tokenSet
	names := make([]string, 0, len(m))
	for p := range m {
		names = append(names, p)
	}
	sort.Strings(names)
	for _, p := range names {
		if !producerRE.MatchString(p) {
			return tokenSet{}, fmt.Errorf("%s: producer name %q: want 1 to 256 letters, digits or ._@:/+=,-", what, p)
		}
		if len(m[p]) < 16 {
			return tokenSet{}, fmt.Errorf("%s: the token of producer %q is shorter than 16 characters", what, p)
		}
		ts.producers = append(ts.producers, p)
		ts.sums = append(ts.sums, sha256.Sum256([]byte(m[p])))
	}
	return ts, nil
}

// tokenLoader returns the accepted token sets (current, and previous
// when there is one).
type tokenLoader func(ctx context.Context) ([]tokenSet, error)

// secretTokens loads the AWSCURRENT and AWSPREVIOUS versions of a secret;
// a secret never rotated has no previous version, which is fine.
func secretTokens(sm SecretGetter, id string) tokenLoader {
	return func(ctx context.Context) ([]tokenSet, error) {
		var sets []tokenSet
		for _, stage := range []string{"AWSCURRENT", "AWSPREVIOUS"} {
			out, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id), VersionStage: aws.String(stage)})
			var nf *smtypes.ResourceNotFoundException
			if stage == "AWSPREVIOUS" && errors.As(err, &nf) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("reading the %s version of secret %s: %w", stage, id, err)
			}
			ts, err := parseTokens(fmt.Sprintf("secret %s (%s)", id, stage), []byte(aws.ToString(out.SecretString)))
			if err != nil {
				return nil, err
			}
			sets = append(sets, ts)
		}
		return sets, nil
	}
}

// fileTokens loads a token set from a file, read again at every refresh
// (so replacing the file rotates the tokens; there is no previous version).
func fileTokens(path string) tokenLoader {
	return func(context.Context) ([]tokenSet, error) {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("token file: %w", err)
		}
		ts, err := parseTokens("token file "+path, b)
		return []tokenSet{ts}, err
	}
}

// staticTokens is a token set given in the environment.
func staticTokens(value string) (tokenLoader, error) {
	ts, err := parseTokens("INGEST_TOKENS", []byte(value))
	if err != nil {
		return nil, err
	}
	return func(context.Context) ([]tokenSet, error) { return []tokenSet{ts}, nil }, nil
}

// tokenAuth checks bearer tokens against the loaded token sets. The sets
// are loaded again when older than refresh, and at once (at most every
// recheck) when a token is not among them: a token just rotated in works
// without waiting, and one rotated out twice stops working.
type tokenAuth struct {
	load             tokenLoader
	refresh, recheck time.Duration

	mu     sync.Mutex
	sets   []tokenSet
	loaded time.Time
}

func newTokenAuth(ctx context.Context, load tokenLoader, refresh, recheck time.Duration) (*tokenAuth, error) {
	a := &tokenAuth{load: load, refresh: refresh, recheck: recheck}
	if err := a.reload(ctx); err != nil {
		return nil, err
	}
	return a, nil
}

func (a *tokenAuth) reload(ctx context.Context) error {
	sets, err := a.load(ctx)
	if err != nil {
		return err
	}
	a.sets, a.loaded = sets, time.Now()
	return nil
}

// match compares the token's hash with every accepted one in constant
// time (all are compared, whichever matches).
func (a *tokenAuth) match(sum [32]byte) string {
	found := ""
	for _, s := range a.sets {
		for i, want := range s.sums {
			if subtle.ConstantTimeCompare(sum[:], want[:]) == 1 && found == "" {
				found = s.producers[i]
			}
		}
	}
	return found
}

// producer returns the producer a token belongs to, or "".
func (a *tokenAuth) producer(ctx context.Context, token string) (string, error) {
	sum := sha256.Sum256([]byte(token))
	a.mu.Lock()
	defer a.mu.Unlock()
	if time.Since(a.loaded) >= a.refresh {
		if err := a.reload(ctx); err != nil {
			return "", err
		}
	}
	if p := a.match(sum); p != "" {
		return p, nil
	}
	if time.Since(a.loaded) >= a.recheck {
		if err := a.reload(ctx); err != nil {
			return "", err
		}
		return a.match(sum), nil
	}
	return "", nil
}

// authError is a refused request: its status and why.
type authError struct {
	code   int
	reason string
}

func (e *authError) Error() string { return e.reason }

// authenticate returns the producer of a request, or an *authError: 401
// without a credential (or a malformed one), 403 with a token that is not
// (or no longer) accepted, 503 when the token set cannot be read.
func (s *Service) authenticate(r *http.Request) (string, error) {
	if s.cfg.Auth == AuthUpstream {
		id := strings.TrimSpace(r.Header.Get(s.cfg.IdentityHeader))
		if id == "" {
			return "", &authError{http.StatusUnauthorized, "no " + s.cfg.IdentityHeader + " header: the upstream authenticator did not identify the caller"}
		}
		if !producerRE.MatchString(id) {
			return "", &authError{http.StatusUnauthorized, "the " + s.cfg.IdentityHeader + " header is not an identity (1 to 256 letters, digits or ._@:/+=,-)"}
		}
		return id, nil
	}
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if h == "" || !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return "", &authError{http.StatusUnauthorized, "missing bearer token (Authorization: Bearer <token>)"}
	}
	p, err := s.tokens.producer(r.Context(), strings.TrimSpace(token))
	if err != nil {
		s.log.Error("auth: token set unavailable", "err", err)
		return "", &authError{http.StatusServiceUnavailable, "the token set cannot be read; retry later"}
	}
	if p == "" {
		return "", &authError{http.StatusForbidden, "the token is not accepted (revoked or unknown)"}
	}
	return p, nil
}
