// Package lifecycle turns per-zone storage rules (expiry, transitions to
// colder storage classes, noncurrent-version expiry, abort of incomplete
// multipart uploads) into an S3 bucket lifecycle configuration, and applies
// the same expiry rules by hand on file and memory lakes.
//
// # Never expire what a table references
//
// A zone that holds committed tables (by default cleaned and curated) keeps
// data files a table's log still names. An S3 expiry or a move to a class
// that must be restored before reading (GLACIER, DEEP_ARCHIVE) would break
// those tables, so on such zones New refuses both, with ErrReferenced,
// unless the rule's Prefix is a quarantine table's folder
// ("<database>/<table>_quarantine/"), whose rejects nothing downstream
// reads. Transitions to classes read without restore (STANDARD_IA,
// INTELLIGENT_TIERING, GLACIER_IR) and expiry of noncurrent versions are
// allowed everywhere: lakekit never overwrites a data file, so a noncurrent
// version only exists once Vacuum has deleted a file past the zone's
// retention. The raw zone and any zone not listed as committed may expire.
package lifecycle

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/lakekit/lakekit/lake"
)

// StorageClass names an S3 storage class a rule can move objects to.
type StorageClass string

// Storage classes of the S3 Transition action.
const (
	StandardIA         StorageClass = "STANDARD_IA"
	IntelligentTiering StorageClass = "INTELLIGENT_TIERING"
	GlacierIR          StorageClass = "GLACIER_IR"
	Glacier            StorageClass = "GLACIER"
	DeepArchive        StorageClass = "DEEP_ARCHIVE"
)

// needsRestore reports whether objects of class c must be restored before
// a GET (Athena and lakekit then cannot read them).
func (c StorageClass) needsRestore() bool { return c == Glacier || c == DeepArchive }

// minTransitionDays is S3's smallest Days for a transition to class c: the
// Transition reference allows 0 for INTELLIGENT_TIERING, GLACIER_IR,
// GLACIER and DEEP_ARCHIVE, and asks objects to stay 30 days in STANDARD
// before STANDARD_IA.
func (c StorageClass) minTransitionDays() (int32, bool) {
	switch c {
	case StandardIA:
		return 30, true
	case IntelligentTiering, GlacierIR, Glacier, DeepArchive:
		return 0, true
	}
	return 0, false
}

// Transition moves a rule's objects to StorageClass Days days after they
// were created.
type Transition struct {
	Days         int32
	StorageClass StorageClass
}

// Rule is one lifecycle rule of a zone. Days count from an object's
// creation (S3 rounds up to the next midnight UTC; Expire does not round).
type Rule struct {
	// Name tells the zone's rules apart in the rule ID; "" means "default".
	// It is a lakekit name (lake.ValidateName).
	Name string
	// Prefix limits the rule to keys under it, relative to the zone's root
	// ("" for the whole zone; otherwise it ends with "/").
	Prefix string
	// ExpireDays deletes objects that many days after creation (0: never).
	ExpireDays int32
	// Transitions move objects to colder classes, in increasing Days.
	Transitions []Transition
	// NoncurrentExpireDays deletes noncurrent versions (on a versioned
	// bucket) that many days after they became noncurrent (0: never).
	NoncurrentExpireDays int32
}

// DefaultAbortIncompleteDays is how long an unfinished multipart upload is
// kept before S3 aborts it when Policy.AbortIncompleteDays is 0.
const DefaultAbortIncompleteDays = 7

// Policy holds the lifecycle rules of a lake's zones.
type Policy struct {
	// Zones holds each zone's rules.
	Zones map[lake.ZoneName][]Rule
	// AbortIncompleteDays aborts multipart uploads (lakekit's own large
	// writes can leave parts behind) that many days after they started,
	// over the whole lake. 0 means DefaultAbortIncompleteDays; a negative
	// value turns the rule off.
	AbortIncompleteDays int32
	// Committed lists the zones that hold committed tables, where expiry
	// is refused (see the package doc). nil means cleaned and curated.
	Committed []lake.ZoneName
}

// S3API is the part of the S3 client Apply uses; *s3.Client implements it.
type S3API interface {
	GetBucketLifecycleConfiguration(ctx context.Context, in *s3.GetBucketLifecycleConfigurationInput, optFns ...func(*s3.Options)) (*s3.GetBucketLifecycleConfigurationOutput, error)
	PutBucketLifecycleConfiguration(ctx context.Context, in *s3.PutBucketLifecycleConfigurationInput, optFns ...func(*s3.Options)) (*s3.PutBucketLifecycleConfigurationOutput, error)
}

var _ S3API = (*s3.Client)(nil)

// ErrReferenced is returned for a rule that would expire (or move out of
// reach) files that committed tables still reference.
var ErrReferenced = errors.New("lifecycle: rule would expire files a table still references")

// ErrInvalidRule is returned for a rule S3 would refuse or lakekit cannot
// render.
var ErrInvalidRule = errors.New("lifecycle: invalid rule")

// IDPrefix starts the ID of every rule lakekit writes. Rules of a bucket
// whose ID does not start with IDPrefix followed by the lake's root prefix
// and "|" are foreign: Apply keeps them unchanged.
const IDPrefix = "lakekit:"

// Limits of S3's lifecycle configuration (PutBucketLifecycleConfiguration
// and LifecycleRule references).
const (
	MaxRules    = 1000
	MaxIDLength = 255
)

// Manager renders and applies a lake's lifecycle policy.
type Manager struct {
	lake      *lake.Lake
	policy    Policy
	committed map[lake.ZoneName]bool
}

var quarantinePrefix = regexp.MustCompile(`^[^/]+/[^/]+` + regexp.QuoteMeta(QuarantineSuffix) + `/`)

// QuarantineSuffix ends the name of a transform's quarantine table (the
// same as transform.QuarantineSuffix, which this package cannot import).
const QuarantineSuffix = "_quarantine"

// New checks the policy against the lake's zones and S3's rules and returns
// a Manager. Errors name the zone and rule and match ErrInvalidRule or
// ErrReferenced.
func New(l *lake.Lake, p Policy) (*Manager, error) {
	if l == nil {
		return nil, errors.New("lifecycle: New: lake is nil")
	}
	m := &Manager{lake: l, policy: p, committed: map[lake.ZoneName]bool{}}
	committed := p.Committed
	if committed == nil {
		committed = []lake.ZoneName{lake.Cleaned, lake.Curated}
	}
	for _, z := range committed {
		m.committed[z] = true
	}
	for _, z := range m.zoneNames() {
		if _, err := l.Zone(z); err != nil {
			return nil, fmt.Errorf("lifecycle: %w", err)
		}
		seen := map[string]bool{}
		for i, r := range p.Zones[z] {
			name := r.name()
			if seen[name] {
				return nil, fmt.Errorf("lifecycle: zone %s: two rules named %q: %w", z, name, ErrInvalidRule)
			}
			seen[name] = true
			if err := m.checkRule(z, r); err != nil {
				return nil, fmt.Errorf("lifecycle: zone %s rule %d (%s): %w", z, i, name, err)
			}
		}
	}
	return m, nil
}

func (r Rule) name() string {
	if r.Name == "" {
		return "default"
	}
	return r.Name
}

func (m *Manager) zoneNames() []lake.ZoneName {
	var out []lake.ZoneName
	for z := range m.policy.Zones {
		out = append(out, z)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func (m *Manager) checkRule(z lake.ZoneName, r Rule) error {
	if err := lake.ValidateName("rule name", r.name()); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidRule, err)
	}
	if r.Prefix != "" {
		if !strings.HasSuffix(r.Prefix, "/") || strings.HasPrefix(r.Prefix, "/") {
			return fmt.Errorf("%w: prefix %q must be relative to the zone and end with \"/\"", ErrInvalidRule, r.Prefix)
		}
		if err := lake.ValidateKey(strings.TrimSuffix(r.Prefix, "/")); err != nil {
			return fmt.Errorf("%w: prefix %q: %v", ErrInvalidRule, r.Prefix, err)
		}
	}
	if r.ExpireDays < 0 || r.NoncurrentExpireDays < 0 {
		return fmt.Errorf("%w: negative days (expire %d, noncurrent %d)", ErrInvalidRule, r.ExpireDays, r.NoncurrentExpireDays)
	}
	if r.ExpireDays == 0 && r.NoncurrentExpireDays == 0 && len(r.Transitions) == 0 {
		return fmt.Errorf("%w: no action (set ExpireDays, Transitions or NoncurrentExpireDays)", ErrInvalidRule)
	}
	last := int32(-1)
	for _, t := range r.Transitions {
		min, ok := t.StorageClass.minTransitionDays()
		if !ok {
			return fmt.Errorf("%w: unknown storage class %q (want STANDARD_IA, INTELLIGENT_TIERING, GLACIER_IR, GLACIER or DEEP_ARCHIVE)", ErrInvalidRule, t.StorageClass)
		}
		if t.Days < min {
			return fmt.Errorf("%w: transition to %s after %d days: S3 needs at least %d", ErrInvalidRule, t.StorageClass, t.Days, min)
		}
		if t.Days <= last {
			return fmt.Errorf("%w: transitions must come in increasing days (%d after %d)", ErrInvalidRule, t.Days, last)
		}
		last = t.Days
	}
	if r.ExpireDays > 0 && r.ExpireDays <= last {
		return fmt.Errorf("%w: expiry after %d days must come after the last transition (%d days)", ErrInvalidRule, r.ExpireDays, last)
	}
	if m.committed[z] && !quarantinePrefix.MatchString(r.Prefix) {
		if r.ExpireDays > 0 {
			return fmt.Errorf("%w: zone %s holds committed tables and expiry after %d days would delete data files their logs still name; limit the rule to a quarantine table (Prefix \"<database>/<table>%s/\"), or let zones' Vacuum delete replaced files and expire noncurrent versions instead", ErrReferenced, z, r.ExpireDays, QuarantineSuffix)
		}
		for _, t := range r.Transitions {
			if t.StorageClass.needsRestore() {
				return fmt.Errorf("%w: zone %s holds committed tables and %s objects cannot be read without a restore; use GLACIER_IR or INTELLIGENT_TIERING", ErrReferenced, z, t.StorageClass)
			}
		}
	}
	return nil
}

// location splits the lake's root into bucket and key prefix. It fails for
// a lake not on S3.
func (m *Manager) location() (bucket, prefix string, err error) {
	return splitS3(m.lake.Store().Location(""))
}

// splitS3 splits an s3://bucket/prefix location.
func splitS3(loc string) (bucket, prefix string, err error) {
	u, err := url.Parse(loc)
	if err != nil || u.Scheme != "s3" || u.Host == "" {
		return "", "", fmt.Errorf("lifecycle: lake at %q is not on S3: bucket lifecycle rules need an s3:// lake (use Expire on file and memory lakes)", loc)
	}
	return u.Host, strings.TrimPrefix(u.Path, "/"), nil
}

func (m *Manager) idScope(prefix string) string { return IDPrefix + prefix + "|" }

// Rules returns the rules lakekit owns on the lake's bucket, in the S3
// SDK's shape, sorted by ID.
func (m *Manager) Rules() ([]types.LifecycleRule, error) {
	_, prefix, err := m.location()
	if err != nil {
		return nil, err
	}
	return m.rules(prefix)
}

func (m *Manager) rules(root string) ([]types.LifecycleRule, error) {
	scope := m.idScope(root)
	var out []types.LifecycleRule
	abort := m.policy.AbortIncompleteDays
	if abort == 0 {
		abort = DefaultAbortIncompleteDays
	}
	if abort > 0 {
		out = append(out, types.LifecycleRule{
			ID:                             aws.String(scope + "abort-incomplete-multipart"),
			Status:                         types.ExpirationStatusEnabled,
			Filter:                         &types.LifecycleRuleFilter{Prefix: aws.String(root)},
			AbortIncompleteMultipartUpload: &types.AbortIncompleteMultipartUpload{DaysAfterInitiation: aws.Int32(abort)},
		})
	}
	for _, z := range m.zoneNames() {
		zone, err := m.lake.Zone(z)
		if err != nil {
			return nil, err
		}
		_, zprefix, err := splitS3(zone.Store().Location(""))
		if err != nil {
			return nil, err
		}
		for _, r := range m.policy.Zones[z] {
			lr := types.LifecycleRule{
				ID:     aws.String(scope + string(z) + ":" + r.name()),
				Status: types.ExpirationStatusEnabled,
				Filter: &types.LifecycleRuleFilter{Prefix: aws.String(zprefix + r.Prefix)},
			}
			if r.ExpireDays > 0 {
				lr.Expiration = &types.LifecycleExpiration{Days: aws.Int32(r.ExpireDays)}
			}
			for _, t := range r.Transitions {
				lr.Transitions = append(lr.Transitions, types.Transition{Days: aws.Int32(t.Days), StorageClass: types.TransitionStorageClass(t.StorageClass)})
			}
			if r.NoncurrentExpireDays > 0 {
				lr.NoncurrentVersionExpiration = &types.NoncurrentVersionExpiration{NoncurrentDays: aws.Int32(r.NoncurrentExpireDays)}
			}
			if len(*lr.ID) > MaxIDLength {
				return nil, fmt.Errorf("lifecycle: rule ID %q is %d characters, S3 allows %d: %w", *lr.ID, len(*lr.ID), MaxIDLength, ErrInvalidRule)
			}
			out = append(out, lr)
		}
	}
	sort.Slice(out, func(i, j int) bool { return *out[i].ID < *out[j].ID })
	if len(out) > MaxRules {
		return nil, fmt.Errorf("lifecycle: %d rules, S3 allows %d per bucket: %w", len(out), MaxRules, ErrInvalidRule)
	}
	return out, nil
}

// jsonRule is a rule in the shape of S3's LifecycleConfiguration (the
// PutBucketLifecycleConfiguration body, as the AWS CLI's
// --lifecycle-configuration and Terraform's aws_s3_bucket_lifecycle_configuration
// take it).
type jsonRule struct {
	ID                             string            `json:"ID"`
	Status                         string            `json:"Status"`
	Filter                         jsonFilter        `json:"Filter"`
	Expiration                     *jsonDays         `json:"Expiration,omitempty"`
	Transitions                    []jsonTransition  `json:"Transitions,omitempty"`
	NoncurrentVersionExpiration    *jsonNoncurrent   `json:"NoncurrentVersionExpiration,omitempty"`
	AbortIncompleteMultipartUpload *jsonAbortUploads `json:"AbortIncompleteMultipartUpload,omitempty"`
}

type jsonFilter struct {
	Prefix string `json:"Prefix"`
}
type jsonDays struct {
	Days int32 `json:"Days"`
}
type jsonTransition struct {
	Days         int32  `json:"Days"`
	StorageClass string `json:"StorageClass"`
}
type jsonNoncurrent struct {
	NoncurrentDays int32 `json:"NoncurrentDays"`
}
type jsonAbortUploads struct {
	DaysAfterInitiation int32 `json:"DaysAfterInitiation"`
}

// canonical returns r in the JSON shape, or false when r uses fields
// lakekit never writes (then it cannot be one of lakekit's as rendered).
func canonical(r types.LifecycleRule) (jsonRule, bool) {
	j := jsonRule{ID: aws.ToString(r.ID), Status: string(r.Status)}
	ok := r.Filter != nil && r.Filter.And == nil && r.Filter.Tag == nil && r.Filter.ObjectSizeGreaterThan == nil && r.Filter.ObjectSizeLessThan == nil && aws.ToString(r.Prefix) == "" && len(r.NoncurrentVersionTransitions) == 0
	if r.Filter != nil {
		j.Filter.Prefix = aws.ToString(r.Filter.Prefix)
	}
	if e := r.Expiration; e != nil {
		if e.Date != nil || aws.ToBool(e.ExpiredObjectDeleteMarker) {
			ok = false
		}
		if e.Days != nil {
			j.Expiration = &jsonDays{Days: *e.Days}
		}
	}
	for _, t := range r.Transitions {
		if t.Date != nil {
			ok = false
		}
		j.Transitions = append(j.Transitions, jsonTransition{Days: aws.ToInt32(t.Days), StorageClass: string(t.StorageClass)})
	}
	if n := r.NoncurrentVersionExpiration; n != nil {
		if n.NewerNoncurrentVersions != nil {
			ok = false
		}
		j.NoncurrentVersionExpiration = &jsonNoncurrent{NoncurrentDays: aws.ToInt32(n.NoncurrentDays)}
	}
	if a := r.AbortIncompleteMultipartUpload; a != nil {
		j.AbortIncompleteMultipartUpload = &jsonAbortUploads{DaysAfterInitiation: aws.ToInt32(a.DaysAfterInitiation)}
	}
	return j, ok
}

// Render returns lakekit's rules as the JSON of a LifecycleConfiguration
// ({"Rules": [...]}, the shape of PutBucketLifecycleConfiguration's body
// and of `aws s3api put-bucket-lifecycle-configuration
// --lifecycle-configuration`), for CloudFormation and Terraform users who
// manage the bucket there. It holds lakekit's rules only: merge them with
// the bucket's others, as Apply does.
func (m *Manager) Render() ([]byte, error) {
	rules, err := m.Rules()
	if err != nil {
		return nil, err
	}
	doc := struct {
		Rules []jsonRule `json:"Rules"`
	}{Rules: []jsonRule{}}
	for _, r := range rules {
		j, _ := canonical(r)
		doc.Rules = append(doc.Rules, j)
	}
	return json.MarshalIndent(doc, "", "  ")
}

// ApplyResult says what Apply did.
type ApplyResult struct {
	// Bucket is the bucket whose configuration was read (and written).
	Bucket string
	// Written is false when the bucket already held exactly lakekit's rules:
	// nothing was sent.
	Written bool
	// Rules are lakekit's rules on the bucket after the run.
	Rules []types.LifecycleRule
	// Foreign counts the bucket's other rules, kept unchanged.
	Foreign int
	// Removed are IDs of lakekit rules of this lake no longer in the policy.
	Removed []string
}

// Apply reads the bucket's lifecycle configuration (a bucket without one is
// fine), replaces the rules of this lake (IDs starting with IDPrefix and
// the lake's root prefix) with the policy's, keeps every other rule as it
// was, and writes the result in one PutBucketLifecycleConfiguration, unless
// nothing changed. client nil means the lake's own S3 client.
//
// Concurrent Apply calls (or other writers of the configuration) may lose
// each other's changes: S3 offers no conditional write of a lifecycle
// configuration. Run Apply from one deploy step.
func (m *Manager) Apply(ctx context.Context, client S3API) (*ApplyResult, error) {
	bucket, root, err := m.location()
	if err != nil {
		return nil, err
	}
	if client == nil {
		var c *s3.Client
		if !m.lake.Store().As(&c) {
			return nil, errors.New("lifecycle: Apply: the lake's store has no S3 client; pass one")
		}
		client = c
	}
	want, err := m.rules(root)
	if err != nil {
		return nil, err
	}
	res := &ApplyResult{Bucket: bucket, Rules: want}
	var existing []types.LifecycleRule
	out, err := client.GetBucketLifecycleConfiguration(ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: aws.String(bucket)})
	switch {
	case err == nil:
		existing = out.Rules
	case isNoSuchLifecycle(err):
	default:
		return nil, fmt.Errorf("lifecycle: reading the lifecycle configuration of bucket %s: %w", bucket, err)
	}
	scope := m.idScope(root)
	var foreign, ours []types.LifecycleRule
	for _, r := range existing {
		if strings.HasPrefix(aws.ToString(r.ID), scope) {
			ours = append(ours, r)
		} else {
			foreign = append(foreign, r)
		}
	}
	res.Foreign = len(foreign)
	wanted := map[string]bool{}
	for _, r := range want {
		wanted[*r.ID] = true
	}
	for _, r := range ours {
		if !wanted[aws.ToString(r.ID)] {
			res.Removed = append(res.Removed, aws.ToString(r.ID))
		}
	}
	if same(ours, want) {
		return res, nil
	}
	all := append(append([]types.LifecycleRule(nil), foreign...), want...)
	if len(all) > MaxRules {
		return nil, fmt.Errorf("lifecycle: bucket %s would hold %d rules (%d foreign), S3 allows %d: %w", bucket, len(all), len(foreign), MaxRules, ErrInvalidRule)
	}
	if _, err := client.PutBucketLifecycleConfiguration(ctx, &s3.PutBucketLifecycleConfigurationInput{
		Bucket:                 aws.String(bucket),
		LifecycleConfiguration: &types.BucketLifecycleConfiguration{Rules: all},
	}); err != nil {
		return nil, fmt.Errorf("lifecycle: writing the lifecycle configuration of bucket %s: %w", bucket, err)
	}
	res.Written = true
	return res, nil
}

// same reports whether the bucket's lakekit rules equal the wanted ones.
func same(have, want []types.LifecycleRule) bool {
	if len(have) != len(want) {
		return false
	}
	byID := map[string]jsonRule{}
	for _, r := range have {
		j, ok := canonical(r)
		if !ok {
			return false
		}
		byID[j.ID] = j
	}
	for _, r := range want {
		w, _ := canonical(r)
		h, ok := byID[w.ID]
		if !ok {
			return false
		}
		hb, _ := json.Marshal(h)
		wb, _ := json.Marshal(w)
		if string(hb) != string(wb) {
			return false
		}
	}
	return true
}

func isNoSuchLifecycle(err error) bool {
	var ae interface{ ErrorCode() string }
	return errors.As(err, &ae) && ae.ErrorCode() == "NoSuchLifecycleConfiguration"
}

// ExpireResult says what Expire deleted.
type ExpireResult struct {
	// Deleted are the deleted keys, relative to the lake's root.
	Deleted []string
	// Bytes is their total size.
	Bytes int64
}

// Expire applies the policy's expiry rules by hand: for each rule with
// ExpireDays, it deletes the objects under the rule's zone and prefix that
// were last modified more than ExpireDays*24h before now. Transitions and
// noncurrent-version rules do nothing here. It is how file and memory lakes
// rehearse what the bucket's rules will do on S3 (S3 also rounds up to the
// next midnight UTC, so S3 may delete up to a day later).
func (m *Manager) Expire(ctx context.Context, now time.Time) (*ExpireResult, error) {
	res := &ExpireResult{}
	for _, z := range m.zoneNames() {
		zone, err := m.lake.Zone(z)
		if err != nil {
			return nil, err
		}
		for _, r := range m.policy.Zones[z] {
			if r.ExpireDays == 0 {
				continue
			}
			cutoff := now.Add(-time.Duration(r.ExpireDays) * 24 * time.Hour)
			var del []string
			var size int64
			for e, err := range zone.Store().List(ctx, r.Prefix, nil) {
				if err != nil {
					return res, fmt.Errorf("lifecycle: expire zone %s rule %s: %w", z, r.name(), err)
				}
				if e.IsDir || !e.ModTime.Before(cutoff) {
					continue
				}
				del = append(del, e.Key)
				size += e.Size
			}
			if len(del) == 0 {
				continue
			}
			if err := zone.Store().DeleteMany(ctx, del); err != nil {
				return res, fmt.Errorf("lifecycle: expire zone %s rule %s: %w", z, r.name(), err)
			}
			for _, k := range del {
				res.Deleted = append(res.Deleted, lake.JoinKey(string(z), k))
			}
			res.Bytes += size
		}
	}
	return res, nil
}

// RuleJSON renders one rule as Render does (for comparing a rule read
// back from a bucket with the rendered ones).
func RuleJSON(r types.LifecycleRule) ([]byte, error) {
	j, _ := canonical(r)
	return json.Marshal(j)
}
