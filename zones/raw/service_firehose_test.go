package raw_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	ftypes "github.com/aws/aws-sdk-go-v2/service/firehose/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/lakekit/lakekit/internal/testaws"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/lake/iam"
	"github.com/lakekit/lakekit/lake/iam/iamtest"
	"github.com/lakekit/lakekit/lake/s3store"
	"github.com/lakekit/lakekit/orchestrate"
	"github.com/lakekit/lakekit/zones/raw"
)

const (
	svcKey    = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	svcRole   = "arn:aws:iam::111122223333:role/lakekit-ingest"
	svcRegion = "eu-west-1"
)

var svcRoleEU = raw.ServiceRole{ARN: svcRole, Region: svcRegion}

// s3Lake is a lake on s3://acme-lake/prod whose raw zone uses key (none
// when empty). Nothing is sent to S3: the set-up is rendered offline.
func s3Lake(t *testing.T, prefix, key string) *lake.Lake {
	t.Helper()
	d, err := s3store.New(s3.New(s3.Options{Region: svcRegion}), "acme-lake", prefix, nil)
	if err != nil {
		t.Fatal(err)
	}
	lk, err := lake.New(lake.NewStore(d), &lake.Options{Zones: map[lake.ZoneName]lake.ZoneConfig{lake.Raw: {KMSKeyID: key}}})
	if err != nil {
		t.Fatal(err)
	}
	return lk
}

// asJSON decodes rendered JSON into a generic tree.
func asJSON(t *testing.T, render func() ([]byte, error)) map[string]any {
	t.Helper()
	b, err := render()
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return m
}

// sameJSON compares a rendered document with the expected one, as JSON.
func sameJSON(t *testing.T, what string, got map[string]any, want string) {
	t.Helper()
	var w map[string]any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("expected %s: %v", what, err)
	}
	g, _ := json.MarshalIndent(got, "", "  ")
	e, _ := json.MarshalIndent(w, "", "  ")
	if !bytes.Equal(g, e) {
		t.Errorf("%s:\n%s\nwant:\n%s", what, g, e)
	}
}

// checkSAR runs a rendered policy through iam.Validate and the Service
// Authorization Reference check, as every policy lakekit renders is.
func checkSAR(t *testing.T, name string, doc []byte) {
	t.Helper()
	if err := iam.Validate(doc); err != nil {
		t.Errorf("%s policy: %v", name, err)
	}
	for _, err := range iamtest.SAR().Check(doc) {
		t.Errorf("%s policy: %v", name, err)
	}
}

func TestFirehoseSetupLandsInTheRawZone(t *testing.T) {
	lk := s3Lake(t, "prod", svcKey)
	s, err := raw.RenderFirehose(lk, "web", "clicks", svcRoleEU, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.Bucket != "acme-lake" || s.Prefix != "prod/raw/web/clicks/" || s.ErrorPrefix != "prod/raw/web/clicks/errors/" {
		t.Errorf("bucket %q, prefix %q, error prefix %q", s.Bucket, s.Prefix, s.ErrorPrefix)
	}
	// the prefix is where the lake's raw zone keeps the dataset
	if loc := lk.MustZone(lake.Raw).Store().Location("web/clicks/"); loc != "s3://"+s.Bucket+"/"+s.Prefix {
		t.Errorf("raw zone location %s, set-up s3://%s/%s", loc, s.Bucket, s.Prefix)
	}
	sameJSON(t, "destination", asJSON(t, s.DestinationJSON), `{
	  "BucketARN": "arn:aws:s3:::acme-lake",
	  "RoleARN": "arn:aws:iam::111122223333:role/lakekit-ingest",
	  "Prefix": "prod/raw/web/clicks/",
	  "ErrorOutputPrefix": "prod/raw/web/clicks/errors/!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd/HH}/",
	  "BufferingHints": {"SizeInMBs": 5, "IntervalInSeconds": 300},
	  "CompressionFormat": "GZIP",
	  "EncryptionConfiguration": {"KMSEncryptionConfig": {"AWSKMSKeyARN": "`+svcKey+`"}}
	}`)
	sameJSON(t, "delivery role policy", asJSON(t, s.PolicyJSON), `{
	  "Version": "2012-10-17",
	  "Statement": [
	    {"Sid": "FirehoseBucket", "Effect": "Allow",
	     "Action": ["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"],
	     "Resource": ["arn:aws:s3:::acme-lake"]},
	    {"Sid": "FirehoseObjects", "Effect": "Allow",
	     "Action": ["s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject"],
	     "Resource": ["arn:aws:s3:::acme-lake/prod/raw/web/clicks/*"]},
	    {"Sid": "FirehoseKMS", "Effect": "Allow",
	     "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
	     "Resource": ["`+svcKey+`"],
	     "Condition": {"StringEquals": {"kms:ViaService": ["s3.eu-west-1.amazonaws.com"]}}}
	  ]
	}`)

	// a zone without a key: no encryption configured by the stream (the
	// bucket's default encryption applies), no KMS grant
	s, err = raw.RenderFirehose(s3Lake(t, "", ""), "web", "clicks", svcRoleEU, &raw.FirehoseSetupOptions{
		BufferMiB: 16, BufferInterval: 60 * time.Second, Compression: ftypes.CompressionFormatUncompressed})
	if err != nil {
		t.Fatal(err)
	}
	d := asJSON(t, s.DestinationJSON)
	if d["Prefix"] != "raw/web/clicks/" || d["CompressionFormat"] != "UNCOMPRESSED" {
		t.Errorf("prefix %v, compression %v", d["Prefix"], d["CompressionFormat"])
	}
	sameJSON(t, "encryption", d["EncryptionConfiguration"].(map[string]any), `{"NoEncryptionConfig": "NoEncryption"}`)
	sameJSON(t, "buffering", d["BufferingHints"].(map[string]any), `{"SizeInMBs": 16, "IntervalInSeconds": 60}`)
	if p := asJSON(t, s.PolicyJSON); strings.Contains(fmt.Sprint(p), "kms:") {
		t.Errorf("a zone without a key got a KMS grant: %v", p)
	}
}

func TestFirehoseSetupParquetAgainstAGlueTable(t *testing.T) {
	s, err := raw.RenderFirehose(s3Lake(t, "prod", svcKey), "web", "clicks", svcRoleEU,
		&raw.FirehoseSetupOptions{Parquet: &raw.FirehoseParquet{Database: "cleaned_web", Table: "clicks"}})
	if err != nil {
		t.Fatal(err)
	}
	d := asJSON(t, s.DestinationJSON)
	// the documented restrictions: SizeInMBs at least 64 (128 by
	// default), CompressionFormat UNCOMPRESSED
	if d["CompressionFormat"] != "UNCOMPRESSED" {
		t.Errorf("compression %v with Parquet conversion", d["CompressionFormat"])
	}
	sameJSON(t, "buffering", d["BufferingHints"].(map[string]any), `{"SizeInMBs": 128, "IntervalInSeconds": 300}`)
	sameJSON(t, "conversion", d["DataFormatConversionConfiguration"].(map[string]any), `{
	  "Enabled": true,
	  "SchemaConfiguration": {"CatalogId": "111122223333", "DatabaseName": "cleaned_web", "TableName": "clicks",
	    "Region": "eu-west-1", "RoleARN": "`+svcRole+`", "VersionId": "LATEST"},
	  "InputFormatConfiguration": {"Deserializer": {"OpenXJsonSerDe": {}}},
	  "OutputFormatConfiguration": {"Serializer": {"ParquetSerDe": {"Compression": "SNAPPY"}}}
	}`)
	p, err := s.PolicyJSON()
	if err != nil {
		t.Fatal(err)
	}
	granted, err := iamtest.SAR().Granted(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{"glue:GetTable", "glue:GetTableVersion", "glue:GetTableVersions"} {
		want := []string{"arn:aws:glue:eu-west-1:111122223333:catalog", "arn:aws:glue:eu-west-1:111122223333:database/cleaned_web",
			"arn:aws:glue:eu-west-1:111122223333:table/cleaned_web/clicks"}
		if got := granted[a]; !slices.Equal(got, want) {
			t.Errorf("%s granted on %v, want %v", a, got, want)
		}
	}
	if _, ok := granted["glue:GetTables"]; ok {
		t.Error("the delivery role may list the database's tables")
	}
}

// TestFirehoseSetupPolicyFidelity checks every delivery role policy
// RenderFirehose renders against the IAM grammar and the Service
// Authorization Reference.
func TestFirehoseSetupPolicyFidelity(t *testing.T) {
	for name, c := range map[string]struct {
		key  string
		opts *raw.FirehoseSetupOptions
	}{
		"plain":           {"", nil},
		"kms":             {svcKey, nil},
		"kms and parquet": {svcKey, &raw.FirehoseSetupOptions{Parquet: &raw.FirehoseParquet{Database: "cleaned_web", Table: "clicks"}}},
	} {
		s, err := raw.RenderFirehose(s3Lake(t, "prod", c.key), "web", "clicks", svcRoleEU, c.opts)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		doc, err := s.PolicyJSON()
		if err != nil {
			t.Fatal(err)
		}
		checkSAR(t, "Firehose "+name, doc)
	}
}

func TestFirehoseSetupRefusesWhatAWSRefuses(t *testing.T) {
	parquet := func(mib int32, c ftypes.CompressionFormat) *raw.FirehoseSetupOptions {
		return &raw.FirehoseSetupOptions{BufferMiB: mib, Compression: c, Parquet: &raw.FirehoseParquet{Database: "cleaned_web", Table: "clicks"}}
	}
	long := strings.Repeat("p", 490)
	for name, c := range map[string]struct {
		lk      *lake.Lake
		source  string
		role    raw.ServiceRole
		opts    *raw.FirehoseSetupOptions
		mention string
	}{
		"user ARN":              {role: raw.ServiceRole{ARN: "arn:aws:iam::111122223333:user/bob", Region: svcRegion}, mention: "user/bob"},
		"no region":             {role: raw.ServiceRole{ARN: svcRole}, mention: "region"},
		"bad region":            {role: raw.ServiceRole{ARN: svcRole, Region: "europe"}, mention: "europe"},
		"buffer too large":      {opts: &raw.FirehoseSetupOptions{BufferMiB: 129}, mention: "129 MiB"},
		"negative buffer":       {opts: &raw.FirehoseSetupOptions{BufferMiB: -1}, mention: "-1 MiB"},
		"parquet small buffer":  {opts: parquet(32, ""), mention: "64"},
		"parquet with gzip":     {opts: parquet(0, ftypes.CompressionFormatGzip), mention: "UNCOMPRESSED"},
		"interval too long":     {opts: &raw.FirehoseSetupOptions{BufferInterval: 901 * time.Second}, mention: "15m1s"},
		"interval not seconds":  {opts: &raw.FirehoseSetupOptions{BufferInterval: 1500 * time.Millisecond}, mention: "whole seconds"},
		"unknown compression":   {opts: &raw.FirehoseSetupOptions{Compression: "BROTLI"}, mention: "BROTLI"},
		"lower-case enum":       {opts: &raw.FirehoseSetupOptions{Compression: "gzip"}, mention: "gzip"},
		"parquet compression":   {opts: &raw.FirehoseSetupOptions{Parquet: &raw.FirehoseParquet{Database: "d", Table: "t", Compression: "ZSTD"}}, mention: "ZSTD"},
		"parquet table name":    {opts: &raw.FirehoseSetupOptions{Parquet: &raw.FirehoseParquet{Database: "cleaned_web", Table: "Clicks"}}, mention: "Clicks"},
		"parquet version":       {opts: &raw.FirehoseSetupOptions{Parquet: &raw.FirehoseParquet{Database: "d", Table: "t", VersionID: "1 2"}}, mention: "1 2"},
		"alias key":             {lk: s3Lake(t, "prod", "arn:aws:kms:eu-west-1:111122223333:alias/raw"), mention: "alias/raw"},
		"key id, not ARN":       {lk: s3Lake(t, "prod", "1234abcd-12ab-34cd-56ef-1234567890ab"), mention: "key ARN"},
		"bad source":            {source: "Web", mention: "Web"},
		"prefix over 512 chars": {lk: s3Lake(t, long, ""), mention: "512"},
	} {
		lk, source, role := c.lk, c.source, c.role
		if lk == nil {
			lk = s3Lake(t, "prod", svcKey)
		}
		if source == "" {
			source = "web"
		}
		if role == (raw.ServiceRole{}) {
			role = svcRoleEU
		}
		_, err := raw.RenderFirehose(lk, source, "clicks", role, c.opts)
		if !errors.Is(err, raw.ErrInvalid) && !errors.Is(err, lake.ErrInvalidName) {
			t.Errorf("%s: %v, want an invalid-input error", name, err)
			continue
		}
		if !strings.Contains(err.Error(), c.mention) {
			t.Errorf("%s: %q does not name %q", name, err, c.mention)
		}
	}
	// a lake on local disk has no bucket to deliver to
	local, err := lake.Open(context.Background(), t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer local.Close()
	if _, err := raw.RenderFirehose(local, "web", "clicks", svcRoleEU, nil); !errors.Is(err, raw.ErrInvalid) || !strings.Contains(err.Error(), "s3://") {
		t.Errorf("a file lake: %v", err)
	}
	// the caller's options are left as they were
	o := &raw.FirehoseSetupOptions{Parquet: &raw.FirehoseParquet{Database: "cleaned_web", Table: "clicks"}}
	if _, err := raw.RenderFirehose(s3Lake(t, "prod", ""), "web", "clicks", svcRoleEU, o); err != nil {
		t.Fatal(err)
	}
	if o.BufferMiB != 0 || o.Compression != "" || o.Parquet.VersionID != "" || o.Parquet.Compression != "" {
		t.Errorf("RenderFirehose changed its options: %+v %+v", o, o.Parquet)
	}
}

// TestFirehoseSetupEventRule starts a pipeline from what Firehose
// delivers: the rule orchestrate.S3EventRule renders from the set-up's
// bucket and prefix matches the keys Firehose writes there, data and
// error output, and no other dataset's.
func TestFirehoseSetupEventRule(t *testing.T) {
	s, err := raw.RenderFirehose(s3Lake(t, "prod", svcKey), "web", "clicks", svcRoleEU, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := orchestrate.New("clicks", orchestrate.PassStep("clean", 1))
	doc, err := orchestrate.S3EventRule(p, s.Bucket, s.Prefix, orchestrate.Target{
		StateMachineARN: "arn:aws:states:eu-west-1:111122223333:stateMachine:clicks", RoleARN: "arn:aws:iam::111122223333:role/events"})
	if err != nil {
		t.Fatal(err)
	}
	var rule orchestrate.EventRule
	if err := json.Unmarshal(doc, &rule); err != nil {
		t.Fatal(err)
	}
	var pattern struct {
		Detail struct {
			Bucket struct{ Name []string } `json:"bucket"`
			Object struct {
				Key []map[string]string `json:"key"`
			} `json:"object"`
		} `json:"detail"`
	}
	if err := json.Unmarshal([]byte(rule.EventPattern), &pattern); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(pattern.Detail.Bucket.Name, []string{"acme-lake"}) || len(pattern.Detail.Object.Key) != 1 {
		t.Fatalf("pattern %s", rule.EventPattern)
	}
	prefix := pattern.Detail.Object.Key[0]["prefix"]
	for key, match := range map[string]bool{
		"prod/raw/web/clicks/2024/05/01/10/clicks-1-2024-05-01-10-11-12-0e3c4d5a-1111-2222-3333-444455556666.gz":                       true,
		"prod/raw/web/clicks/errors/processing-failed/2024/05/01/10/clicks-1-2024-05-01-10-11-12-0e3c4d5a-1111-2222-3333-444455556666": true,
		"prod/raw/web/clicks_v2/2024/05/01/10/x":  false,
		"prod/cleaned/web/clicks/part-0.parquet":  false,
		"prod/raw/web/clickstream/2024/05/01/10/": false,
	} {
		if strings.HasPrefix(key, prefix) != match {
			t.Errorf("rule prefix %q matches %s: %v, want %v", prefix, key, !match, match)
		}
	}
}

// firehoseKeyRE is Firehose's default object key under a prefix:
// YYYY/MM/dd/HH/<stream>-<version>-YYYY-MM-dd-HH-mm-ss-<uuid>.
var firehoseKeyRE = regexp.MustCompile(`^(\d{4})/(\d{2})/(\d{2})/(\d{2})/([A-Za-z0-9_.-]+)-(\d+)-(\d{4})-(\d{2})-(\d{2})-(\d{2})-\d{2}-\d{2}-[0-9a-f-]{36}(\.gz)?$`)

// TestFirehoseDeliveryOnMoto creates a delivery stream on moto_server
// from the rendered destination, reads it back, sends 10,000 records
// with PutRecordBatch and finds each of them once in the raw zone, under
// the dataset's prefix, in Firehose's layout.
func TestFirehoseDeliveryOnMoto(t *testing.T) {
	m := testaws.StartMoto(t)
	ctx := context.Background()
	cfg := m.Config(t)
	const bucket, stream = "lake-firehose", "clicks-stream"
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	store, err := s3store.OpenStore(ctx, cfg, bucket, "lake", &s3store.Options{UsePathStyle: true})
	if err != nil {
		t.Fatal(err)
	}
	lk, err := lake.New(store, &lake.Options{Zones: map[lake.ZoneName]lake.ZoneConfig{lake.Raw: {KMSKeyID: svcKey}}})
	if err != nil {
		t.Fatal(err)
	}
	role := raw.ServiceRole{ARN: "arn:aws:iam::123456789012:role/firehose-delivery", Region: testaws.Region}
	s, err := raw.RenderFirehose(lk, "web", "clicks", role, &raw.FirehoseSetupOptions{BufferInterval: 60 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	fh := firehose.NewFromConfig(cfg)
	dest := s.Destination
	if _, err := fh.CreateDeliveryStream(ctx, &firehose.CreateDeliveryStreamInput{DeliveryStreamName: aws.String(stream),
		DeliveryStreamType: ftypes.DeliveryStreamTypeDirectPut, ExtendedS3DestinationConfiguration: &dest}); err != nil {
		t.Fatal(err)
	}
	desc, err := fh.DescribeDeliveryStream(ctx, &firehose.DescribeDeliveryStreamInput{DeliveryStreamName: aws.String(stream)})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(desc.DeliveryStreamDescription.Destinations); n != 1 {
		t.Fatalf("%d destinations", n)
	}
	got := desc.DeliveryStreamDescription.Destinations[0].ExtendedS3DestinationDescription
	if got == nil {
		t.Fatal("the stream has no extended S3 destination")
	}
	for what, pair := range map[string][2]string{
		"BucketARN":         {aws.ToString(got.BucketARN), aws.ToString(dest.BucketARN)},
		"RoleARN":           {aws.ToString(got.RoleARN), aws.ToString(dest.RoleARN)},
		"Prefix":            {aws.ToString(got.Prefix), aws.ToString(dest.Prefix)},
		"ErrorOutputPrefix": {aws.ToString(got.ErrorOutputPrefix), aws.ToString(dest.ErrorOutputPrefix)},
		"CompressionFormat": {string(got.CompressionFormat), string(dest.CompressionFormat)},
		"AWSKMSKeyARN":      {kmsOf(got.EncryptionConfiguration), svcKey},
		"BufferingHints":    {hints(got.BufferingHints), hints(dest.BufferingHints)},
	} {
		if pair[0] != pair[1] {
			t.Errorf("stream's %s is %q, rendered %q", what, pair[0], pair[1])
		}
	}

	// 10,000 records, 500 a call (PutRecordBatch's limit), each a JSON
	// object without a delimiter, as producers often send them
	const n = 10000
	want := map[string]int{}
	for start := 0; start < n; start += 500 {
		var recs []ftypes.Record
		for i := start; i < start+500; i++ {
			r := fmt.Sprintf(`{"event_id":"e%05d","user":"u%d","page":"/p/%d"}`, i, i%97, i%13)
			want[r]++
			recs = append(recs, ftypes.Record{Data: []byte(r)})
		}
		out, err := fh.PutRecordBatch(ctx, &firehose.PutRecordBatchInput{DeliveryStreamName: aws.String(stream), Records: recs})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToInt32(out.FailedPutCount) != 0 {
			t.Fatalf("%d records failed", aws.ToInt32(out.FailedPutCount))
		}
	}

	// what landed, read through the lake's raw zone
	rz := lk.MustZone(lake.Raw).Store()
	entries, err := rz.ListAll(ctx, "web/clicks/", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) == 0 {
		t.Fatal("nothing landed under the dataset's prefix")
	}
	seen := map[string]int{}
	var keys []string
	for _, e := range entries {
		rel := strings.TrimPrefix(e.Key, "web/clicks/")
		keys = append(keys, rel)
		mm := firehoseKeyRE.FindStringSubmatch(rel)
		if mm == nil {
			t.Errorf("key %s is not in Firehose's layout", e.Key)
			continue
		}
		// the folders and the name's time are the same hour, and the
		// name carries the stream
		if mm[1] != mm[7] || mm[2] != mm[8] || mm[3] != mm[9] || mm[4] != mm[10] || mm[5] != stream {
			t.Errorf("key %s: folder time, name time or stream disagree", e.Key)
		}
		rc, err := rz.Get(ctx, e.Key)
		if err != nil {
			t.Fatal(err)
		}
		dec := json.NewDecoder(rc)
		for {
			var rec json.RawMessage
			if err := dec.Decode(&rec); err == io.EOF {
				break
			} else if err != nil {
				t.Fatalf("%s: %v", e.Key, err)
			}
			seen[string(rec)]++
		}
		rc.Close()
	}
	sort.Strings(keys)
	t.Logf("moto delivered %d records in %d objects, e.g. %s", n, len(keys), keys[0])

	// the layout of the set-up reads every delivered object as input, in
	// the order of the time in their names, and skips none
	var listed []string
	var skipped []raw.Landed
	for l, err := range raw.List(ctx, lk, "web", "clicks", &raw.ListOptions{Layout: s.Layout(stream), SkipMetadata: true,
		OnSkip: func(l raw.Landed) { skipped = append(skipped, l) }}) {
		if err != nil {
			t.Fatal(err)
		}
		if l.Kind != raw.Input || l.IngestTime.IsZero() {
			t.Errorf("%s listed as %v at %v", l.Key, l.Kind, l.IngestTime)
		}
		listed = append(listed, l.Key)
	}
	if len(listed) != len(entries) || len(skipped) != 0 {
		t.Errorf("the Firehose layout lists %d of %d delivered objects, skips %d", len(listed), len(entries), len(skipped))
	}
	if len(seen) != n {
		t.Errorf("%d distinct records landed, want %d", len(seen), n)
	}
	for r, c := range seen {
		if want[r] != c {
			t.Errorf("record %s landed %d times, sent %d", r, c, want[r])
			break
		}
	}
}

func kmsOf(e *ftypes.EncryptionConfiguration) string {
	if e == nil || e.KMSEncryptionConfig == nil {
		return ""
	}
	return aws.ToString(e.KMSEncryptionConfig.AWSKMSKeyARN)
}

func hints(h *ftypes.BufferingHints) string {
	if h == nil {
		return "none"
	}
	return fmt.Sprintf("%d MiB, %d s", aws.ToInt32(h.SizeInMBs), aws.ToInt32(h.IntervalInSeconds))
}
