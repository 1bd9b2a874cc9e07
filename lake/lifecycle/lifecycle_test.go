package lifecycle_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/lakekit/lakekit/internal/testaws"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/lake/filestore"
	"github.com/lakekit/lakekit/lake/lifecycle"
	"github.com/lakekit/lakekit/lake/memstore"
	"github.com/lakekit/lakekit/lake/s3store"
	"github.com/lakekit/lakekit/transform"
)

// policy is the example: keep raw for 90 days, move cleaned to
// Glacier Instant Retrieval after 30, curated to Intelligent-Tiering.
func policy() lifecycle.Policy {
	return lifecycle.Policy{Zones: map[lake.ZoneName][]lifecycle.Rule{
		lake.Raw: {{ExpireDays: 90, Transitions: []lifecycle.Transition{{Days: 30, StorageClass: lifecycle.StandardIA}}}},
		lake.Cleaned: {
			{Transitions: []lifecycle.Transition{{Days: 30, StorageClass: lifecycle.GlacierIR}}, NoncurrentExpireDays: 14},
			{Name: "rejects", Prefix: "sales/orders_quarantine/", ExpireDays: 60},
		},
		lake.Curated: {{Transitions: []lifecycle.Transition{{Days: 0, StorageClass: lifecycle.IntelligentTiering}}}},
	}}
}

func memLake(t *testing.T) *lake.Lake {
	t.Helper()
	l, err := lake.New(lake.NewStore(memstore.New()), nil)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestLifecycleQuarantineSuffixMatchesTransform(t *testing.T) {
	if lifecycle.QuarantineSuffix != transform.QuarantineSuffix {
		t.Fatalf("lifecycle.QuarantineSuffix %q != transform.QuarantineSuffix %q", lifecycle.QuarantineSuffix, transform.QuarantineSuffix)
	}
}

func TestLifecycleRefusesExpiryOfReferencedFiles(t *testing.T) {
	l := memLake(t)
	for _, tc := range []struct {
		name string
		zone lake.ZoneName
		rule lifecycle.Rule
		want string
	}{
		{"curated expiry", lake.Curated, lifecycle.Rule{ExpireDays: 365}, "zone curated holds committed tables"},
		{"cleaned table expiry", lake.Cleaned, lifecycle.Rule{Prefix: "sales/orders/", ExpireDays: 30}, "zone cleaned holds committed tables"},
		{"curated glacier", lake.Curated, lifecycle.Rule{Transitions: []lifecycle.Transition{{Days: 90, StorageClass: lifecycle.Glacier}}}, "GLACIER objects cannot be read without a restore"},
	} {
		_, err := lifecycle.New(l, lifecycle.Policy{Zones: map[lake.ZoneName][]lifecycle.Rule{tc.zone: {tc.rule}}})
		if !errors.Is(err, lifecycle.ErrReferenced) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want ErrReferenced saying %q", tc.name, err, tc.want)
		}
	}
	// Declaring raw as committed refuses it there too; declaring curated
	// as not committed allows it.
	if _, err := lifecycle.New(l, lifecycle.Policy{Committed: []lake.ZoneName{lake.Raw}, Zones: map[lake.ZoneName][]lifecycle.Rule{lake.Raw: {{ExpireDays: 5}}, lake.Curated: {{ExpireDays: 5}}}}); !errors.Is(err, lifecycle.ErrReferenced) || !strings.Contains(err.Error(), "zone raw") {
		t.Errorf("raw declared committed: err = %v", err)
	}
}

func TestLifecycleRejectsInvalidRules(t *testing.T) {
	l := memLake(t)
	for _, tc := range []struct {
		name string
		rule lifecycle.Rule
		want string
	}{
		{"IA too early", lifecycle.Rule{Transitions: []lifecycle.Transition{{Days: 29, StorageClass: lifecycle.StandardIA}}}, "at least 30"},
		{"unknown class", lifecycle.Rule{Transitions: []lifecycle.Transition{{Days: 40, StorageClass: "COLD"}}}, `unknown storage class "COLD"`},
		{"order", lifecycle.Rule{Transitions: []lifecycle.Transition{{Days: 90, StorageClass: lifecycle.GlacierIR}, {Days: 30, StorageClass: lifecycle.StandardIA}}}, "increasing days"},
		{"expiry before transition", lifecycle.Rule{ExpireDays: 20, Transitions: []lifecycle.Transition{{Days: 30, StorageClass: lifecycle.GlacierIR}}}, "must come after the last transition"},
		{"no action", lifecycle.Rule{}, "no action"},
		{"prefix", lifecycle.Rule{Prefix: "events", ExpireDays: 3}, `must be relative to the zone and end with "/"`},
		{"negative", lifecycle.Rule{ExpireDays: -1}, "negative days"},
		{"name", lifecycle.Rule{Name: "Bad Name", ExpireDays: 1}, "rule name"},
	} {
		_, err := lifecycle.New(l, lifecycle.Policy{Zones: map[lake.ZoneName][]lifecycle.Rule{lake.Raw: {tc.rule}}})
		if !errors.Is(err, lifecycle.ErrInvalidRule) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want ErrInvalidRule saying %q", tc.name, err, tc.want)
		}
	}
	if _, err := lifecycle.New(l, lifecycle.Policy{Zones: map[lake.ZoneName][]lifecycle.Rule{"gold": {{ExpireDays: 1}}}}); err == nil || !strings.Contains(err.Error(), `unknown zone "gold"`) {
		t.Errorf("unknown zone: err = %v", err)
	}
	m, err := lifecycle.New(l, policy())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Render(); err == nil || !strings.Contains(err.Error(), "is not on S3") {
		t.Errorf("Render on a memory lake: err = %v", err)
	}
}

func TestExpireDeletesOnlyRawAndQuarantineObjectsOlderThanTheRule(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	d, err := filestore.New(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	l, err := lake.New(lake.NewStore(d), nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	put := func(zone lake.ZoneName, key string, age time.Duration) {
		t.Helper()
		if err := l.MustZone(zone).Store().PutBytes(ctx, key, []byte("x"+key), nil); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, string(zone), filepath.FromSlash(key))
		mt := now.Add(-age)
		if err := os.Chtimes(p, mt, mt); err != nil {
			t.Fatal(err)
		}
	}
	day := 24 * time.Hour
	put(lake.Raw, "events/dt=2026-01-01/a.json", 100*day)
	put(lake.Raw, "events/dt=2026-02-27/b.json", 91*day)
	put(lake.Raw, "events/dt=2026-03-03/c.json", 89*day)
	put(lake.Raw, "events/dt=2026-05-31/d.json", day)
	put(lake.Cleaned, "sales/orders/part-0.parquet", 400*day)
	put(lake.Cleaned, "sales/orders_quarantine/q-0.parquet", 61*day)
	put(lake.Cleaned, "sales/orders_quarantine/q-1.parquet", 59*day)
	put(lake.Curated, "sales/daily/part-0.parquet", 400*day)

	m, err := lifecycle.New(l, policy())
	if err != nil {
		t.Fatal(err)
	}
	res, err := m.Expire(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	got := append([]string(nil), res.Deleted...)
	sort.Strings(got)
	want := []string{"cleaned/sales/orders_quarantine/q-0.parquet", "raw/events/dt=2026-01-01/a.json", "raw/events/dt=2026-02-27/b.json"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("deleted %v, want %v", got, want)
	}
	if wantBytes := int64(len("xevents/dt=2026-01-01/a.json") + len("xevents/dt=2026-02-27/b.json") + len("xsales/orders_quarantine/q-0.parquet")); res.Bytes != wantBytes {
		t.Errorf("bytes = %d, want %d", res.Bytes, wantBytes)
	}
	for _, k := range []struct {
		zone lake.ZoneName
		key  string
		want bool
	}{
		{lake.Raw, "events/dt=2026-01-01/a.json", false},
		{lake.Raw, "events/dt=2026-03-03/c.json", true},
		{lake.Raw, "events/dt=2026-05-31/d.json", true},
		{lake.Cleaned, "sales/orders/part-0.parquet", true},
		{lake.Cleaned, "sales/orders_quarantine/q-1.parquet", true},
		{lake.Curated, "sales/daily/part-0.parquet", true},
	} {
		ok, err := l.MustZone(k.zone).Store().Exists(ctx, k.key)
		if err != nil || ok != k.want {
			t.Errorf("%s/%s exists = %v (%v), want %v", k.zone, k.key, ok, err, k.want)
		}
	}
	// A second run finds nothing more.
	res, err = m.Expire(ctx, now)
	if err != nil || len(res.Deleted) != 0 {
		t.Errorf("second Expire: %v, %v", res.Deleted, err)
	}
}

func motoLake(t *testing.T, prefix string) (*lake.Lake, *s3.Client, string) {
	t.Helper()
	moto := testaws.StartMoto(t)
	ctx := context.Background()
	cfg := moto.Config(t)
	bucket := "lakekit-lifecycle"
	s, err := s3store.OpenStore(ctx, cfg, bucket, prefix, nil)
	if err != nil {
		t.Fatal(err)
	}
	var c *s3.Client
	if !s.As(&c) {
		t.Fatal("no S3 client")
	}
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	l, err := lake.New(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l, c, bucket
}

func TestLifecycleApplyMoto(t *testing.T) {
	ctx := context.Background()
	l, c, bucket := motoLake(t, "lakes/sales")
	foreign := types.LifecycleRule{
		ID:         aws.String("logs-retention"),
		Status:     types.ExpirationStatusEnabled,
		Filter:     &types.LifecycleRuleFilter{Prefix: aws.String("logs/")},
		Expiration: &types.LifecycleExpiration{Days: aws.Int32(30)},
	}
	if _, err := c.PutBucketLifecycleConfiguration(ctx, &s3.PutBucketLifecycleConfigurationInput{
		Bucket:                 aws.String(bucket),
		LifecycleConfiguration: &types.BucketLifecycleConfiguration{Rules: []types.LifecycleRule{foreign}},
	}); err != nil {
		t.Fatal(err)
	}
	m, err := lifecycle.New(l, policy())
	if err != nil {
		t.Fatal(err)
	}
	res, err := m.Apply(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Written || res.Foreign != 1 || res.Bucket != bucket {
		t.Fatalf("first Apply: written %v, foreign %d, bucket %s", res.Written, res.Foreign, res.Bucket)
	}

	out, err := c.GetBucketLifecycleConfiguration(ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatal(err)
	}
	read := map[string]types.LifecycleRule{}
	for _, r := range out.Rules {
		read[aws.ToString(r.ID)] = r
	}
	// The foreign rule survives.
	if f, ok := read["logs-retention"]; !ok || aws.ToInt32(f.Expiration.Days) != 30 || aws.ToString(f.Filter.Prefix) != "logs/" {
		t.Fatalf("foreign rule after Apply: %+v (present %v)", f, ok)
	}
	// lakekit's rules read back equal the rendered JSON.
	rendered, err := m.Render()
	if err != nil {
		t.Fatal(err)
	}
	var doc struct{ Rules []json.RawMessage }
	if err := json.Unmarshal(rendered, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Rules) != 5 || len(out.Rules) != 6 {
		t.Fatalf("rendered %d rules, bucket holds %d, want 5 and 6", len(doc.Rules), len(out.Rules))
	}
	for _, raw := range doc.Rules {
		var want struct{ ID string }
		if err := json.Unmarshal(raw, &want); err != nil {
			t.Fatal(err)
		}
		got, ok := read[want.ID]
		if !ok {
			t.Errorf("rule %s not on the bucket", want.ID)
			continue
		}
		gotJSON, err := lifecycle.RuleJSON(got)
		if err != nil {
			t.Fatal(err)
		}
		if compact(t, raw) != compact(t, gotJSON) {
			t.Errorf("rule %s read back\n%s\nrendered\n%s", want.ID, gotJSON, raw)
		}
	}
	for _, want := range []string{
		`"ID":"lakekit:lakes/sales/|raw:default","Status":"Enabled","Filter":{"Prefix":"lakes/sales/raw/"},"Expiration":{"Days":90},"Transitions":[{"Days":30,"StorageClass":"STANDARD_IA"}]`,
		`"ID":"lakekit:lakes/sales/|cleaned:rejects","Status":"Enabled","Filter":{"Prefix":"lakes/sales/cleaned/sales/orders_quarantine/"},"Expiration":{"Days":60}`,
		`"ID":"lakekit:lakes/sales/|abort-incomplete-multipart","Status":"Enabled","Filter":{"Prefix":"lakes/sales/"},"AbortIncompleteMultipartUpload":{"DaysAfterInitiation":7}`,
		`"Transitions":[{"Days":0,"StorageClass":"INTELLIGENT_TIERING"}]`,
		`"NoncurrentVersionExpiration":{"NoncurrentDays":14}`,
	} {
		var flat bytes.Buffer
		if err := json.Compact(&flat, rendered); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(flat.String(), want) {
			t.Errorf("rendered JSON lacks %s:\n%s", want, rendered)
		}
	}

	// A second Apply changes nothing.
	res, err = m.Apply(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if res.Written {
		t.Error("second Apply wrote the configuration again")
	}

	// A smaller policy drops lakekit's stale rules and keeps the foreign one.
	m2, err := lifecycle.New(l, lifecycle.Policy{AbortIncompleteDays: -1, Zones: map[lake.ZoneName][]lifecycle.Rule{lake.Raw: {{ExpireDays: 10}}}})
	if err != nil {
		t.Fatal(err)
	}
	res, err = m2.Apply(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Written || len(res.Removed) != 4 {
		t.Errorf("shrinking Apply: written %v, removed %v", res.Written, res.Removed)
	}
	out, err = c.GetBucketLifecycleConfiguration(ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range out.Rules {
		ids = append(ids, aws.ToString(r.ID))
	}
	sort.Strings(ids)
	if strings.Join(ids, ",") != "lakekit:lakes/sales/|raw:default,logs-retention" {
		t.Errorf("rules after shrinking: %v", ids)
	}
}

func TestLifecycleApplyEmptyBucketMoto(t *testing.T) {
	ctx := context.Background()
	l, c, bucket := motoLake(t, "")
	m, err := lifecycle.New(l, lifecycle.Policy{Zones: map[lake.ZoneName][]lifecycle.Rule{lake.Raw: {{ExpireDays: 90}}}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := m.Apply(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Written || res.Foreign != 0 {
		t.Fatalf("Apply on a bucket without configuration: written %v foreign %d", res.Written, res.Foreign)
	}
	out, err := c.GetBucketLifecycleConfiguration(ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Rules) != 2 {
		t.Fatalf("bucket holds %d rules, want 2", len(out.Rules))
	}
	if res, err := m.Apply(ctx, c); err != nil || res.Written {
		t.Errorf("second Apply: written %v, %v", res != nil && res.Written, err)
	}
}

func TestLifecycleRefusedCuratedExpiryMoto(t *testing.T) {
	ctx := context.Background()
	l, c, bucket := motoLake(t, "")
	_, err := lifecycle.New(l, lifecycle.Policy{Zones: map[lake.ZoneName][]lifecycle.Rule{lake.Curated: {{ExpireDays: 30}}}})
	if !errors.Is(err, lifecycle.ErrReferenced) || !strings.Contains(err.Error(), "zone curated holds committed tables and expiry after 30 days would delete data files") {
		t.Fatalf("err = %v, want a clear ErrReferenced", err)
	}
	// Nothing was written to the bucket.
	_, err = c.GetBucketLifecycleConfiguration(ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: aws.String(bucket)})
	if err == nil {
		t.Error("the bucket has a lifecycle configuration after a refused policy")
	}
}

func compact(t *testing.T, b []byte) string {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}
