package raw_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	dms "github.com/aws/aws-sdk-go-v2/service/databasemigrationservice"
	dtypes "github.com/aws/aws-sdk-go-v2/service/databasemigrationservice/types"

	"github.com/lakekit/lakekit/internal/testaws"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/zones/raw"
)

func TestDMSSetupLandsInTheRawZone(t *testing.T) {
	lk := s3Lake(t, "prod", svcKey)
	s, err := raw.RenderDMS(lk, "crm", "customers", svcRoleEU, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.Bucket != "acme-lake" || s.Prefix != "prod/raw/crm/customers/" {
		t.Errorf("bucket %q, prefix %q", s.Bucket, s.Prefix)
	}
	if loc := lk.MustZone(lake.Raw).Store().Location("crm/customers/"); loc != "s3://"+s.Bucket+"/"+s.Prefix {
		t.Errorf("raw zone location %s, set-up s3://%s/%s", loc, s.Bucket, s.Prefix)
	}
	// the enum values are the API's (sse-kms, csv), which the SDK's
	// types spell; the DMS guide writes them SSE_KMS, CSV
	sameJSON(t, "S3Settings", asJSON(t, s.SettingsJSON), `{
	  "BucketName": "acme-lake",
	  "BucketFolder": "prod/raw/crm/customers",
	  "ServiceAccessRoleArn": "arn:aws:iam::111122223333:role/lakekit-ingest",
	  "DataFormat": "csv",
	  "CompressionType": "none",
	  "AddColumnName": true,
	  "TimestampColumnName": "cdc_ts",
	  "IncludeOpForFullLoad": true,
	  "EncryptionMode": "sse-kms",
	  "ServerSideEncryptionKmsKeyId": "`+svcKey+`"
	}`)
	sameJSON(t, "service access role policy", asJSON(t, s.PolicyJSON), `{
	  "Version": "2012-10-17",
	  "Statement": [
	    {"Sid": "DMSBucket", "Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": ["arn:aws:s3:::acme-lake"]},
	    {"Sid": "DMSObjects", "Effect": "Allow",
	     "Action": ["s3:DeleteObject", "s3:PutObject", "s3:PutObjectTagging"],
	     "Resource": ["arn:aws:s3:::acme-lake/prod/raw/crm/customers/*"]},
	    {"Sid": "DMSKMS", "Effect": "Allow",
	     "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
	     "Resource": ["`+svcKey+`"],
	     "Condition": {"StringEquals": {"kms:ViaService": ["s3.eu-west-1.amazonaws.com"]}}}
	  ]
	}`)

	// Parquet, gzip, no Op on full-load rows, date folders, no zone key
	s, err = raw.RenderDMS(s3Lake(t, "", ""), "crm", "customers", svcRoleEU, &raw.DMSSetupOptions{
		Format: dtypes.DataFormatValueParquet, Compression: dtypes.CompressionTypeValueGzip, TimestampColumn: "commit_ts",
		FullLoadWithoutOp: true, DatePartition: &raw.DMSDatePartition{Sequence: dtypes.DatePartitionSequenceValueYyyymmddhh, Timezone: "Europe/Berlin"}})
	if err != nil {
		t.Fatal(err)
	}
	sameJSON(t, "S3Settings", asJSON(t, s.SettingsJSON), `{
	  "BucketName": "acme-lake",
	  "BucketFolder": "raw/crm/customers",
	  "ServiceAccessRoleArn": "arn:aws:iam::111122223333:role/lakekit-ingest",
	  "DataFormat": "parquet",
	  "CompressionType": "gzip",
	  "TimestampColumnName": "commit_ts",
	  "IncludeOpForFullLoad": false,
	  "EncryptionMode": "sse-s3",
	  "DatePartitionEnabled": true,
	  "DatePartitionSequence": "YYYYMMDDHH",
	  "DatePartitionDelimiter": "SLASH",
	  "DatePartitionTimezone": "Europe/Berlin"
	}`)
	if strings.Contains(string(must(t, s.PolicyJSON)), "kms:") {
		t.Error("a zone without a key got a KMS grant")
	}
	// never the transaction-order settings, which the per-table DMS
	// layout does not read (and which exclude date folders)
	for _, k := range []string{"CdcPath", "PreserveTransactions"} {
		if strings.Contains(string(must(t, s.SettingsJSON)), k) {
			t.Errorf("rendered %s", k)
		}
	}
}

// TestDMSSetupLayoutReadsWhatTheEndpointWrites: the layout of a rendered
// set-up accepts the files DMS writes with those settings, as the DMS
// user guide names them, and refuses those it would not write.
func TestDMSSetupLayoutReadsWhatTheEndpointWrites(t *testing.T) {
	for name, c := range map[string]struct {
		opts     *raw.DMSSetupOptions
		accepted []string
		refused  []string
	}{
		"table folder": {nil,
			[]string{"sales/customers/LOAD00000001.csv", "sales/customers/LOAD0000000A.csv", "sales/customers/20141029-1134010000.csv"},
			[]string{"sales/customers/2014/10/29/20141029-1134010000.csv", "sales/orders/LOAD00000001.csv", "sales/customers/notes.txt"}},
		"date folders": {&raw.DMSSetupOptions{DatePartition: &raw.DMSDatePartition{Sequence: dtypes.DatePartitionSequenceValueYyyymmddhh,
			Delimiter: dtypes.DatePartitionDelimiterValueDash}},
			[]string{"sales/customers/LOAD00000001.csv", "sales/customers/2014-10-29-11/20141029-1134010000.csv"},
			[]string{"sales/customers/20141029-1134010000.csv", "sales/customers/2014/10/29/11/20141029-1134010000.csv"}},
		"parquet, gzip": {&raw.DMSSetupOptions{Format: dtypes.DataFormatValueParquet, Compression: dtypes.CompressionTypeValueGzip},
			[]string{"sales/customers/LOAD00000001.parquet.gz", "sales/customers/20141029-1134010000.parquet.gz"}, nil},
	} {
		s, err := raw.RenderDMS(s3Lake(t, "prod", ""), "crm", "customers", svcRoleEU, c.opts)
		if err != nil {
			t.Fatal(err)
		}
		l, err := s.Layout("sales", "customers")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, k := range c.accepted {
			if kind := l.Classify(k, &raw.Landed{Key: k}); kind != raw.Input {
				t.Errorf("%s: %s is %v, want input", name, k, kind)
			}
		}
		for _, k := range c.refused {
			if kind := l.Classify(k, &raw.Landed{Key: k}); kind != raw.Unaccepted {
				t.Errorf("%s: %s is %v, want unaccepted", name, k, kind)
			}
		}
	}
}

func must(t *testing.T, render func() ([]byte, error)) []byte {
	t.Helper()
	b, err := render()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDMSSetupPolicyFidelity checks the service access role policies
// RenderDMS renders against the IAM grammar and the Service Authorization
// Reference.
func TestDMSSetupPolicyFidelity(t *testing.T) {
	for name, key := range map[string]string{"plain": "", "kms": svcKey} {
		s, err := raw.RenderDMS(s3Lake(t, "prod", key), "crm", "customers", svcRoleEU, nil)
		if err != nil {
			t.Fatal(err)
		}
		checkSAR(t, "DMS "+name, must(t, s.PolicyJSON))
	}
}

func TestDMSSetupRefusesWhatAWSRefuses(t *testing.T) {
	for name, c := range map[string]struct {
		lk      *lake.Lake
		role    raw.ServiceRole
		opts    *raw.DMSSetupOptions
		mention string
	}{
		"role name, not ARN":   {role: raw.ServiceRole{ARN: "dms-s3", Region: svcRegion}, mention: "dms-s3"},
		"format":               {opts: &raw.DMSSetupOptions{Format: "json"}, mention: "json"},
		"upper-case format":    {opts: &raw.DMSSetupOptions{Format: "CSV"}, mention: "CSV"},
		"compression":          {opts: &raw.DMSSetupOptions{Compression: "zstd"}, mention: "zstd"},
		"timestamp column":     {opts: &raw.DMSSetupOptions{TimestampColumn: "Commit TS"}, mention: "Commit TS"},
		"partition sequence":   {opts: &raw.DMSSetupOptions{DatePartition: &raw.DMSDatePartition{Sequence: "YYYY"}}, mention: "YYYY"},
		"partition delimiter":  {opts: &raw.DMSSetupOptions{DatePartition: &raw.DMSDatePartition{Delimiter: "/"}}, mention: `"/"`},
		"partition time zone":  {opts: &raw.DMSSetupOptions{DatePartition: &raw.DMSDatePartition{Timezone: "CET+1"}}, mention: "CET+1"},
		"zone key is an alias": {lk: s3Lake(t, "prod", "alias/raw"), mention: "alias/raw"},
	} {
		lk, role := c.lk, c.role
		if lk == nil {
			lk = s3Lake(t, "prod", svcKey)
		}
		if role == (raw.ServiceRole{}) {
			role = svcRoleEU
		}
		_, err := raw.RenderDMS(lk, "crm", "customers", role, c.opts)
		if !errors.Is(err, raw.ErrInvalid) && !errors.Is(err, lake.ErrInvalidName) {
			t.Errorf("%s: %v, want an invalid-input error", name, err)
			continue
		}
		if !strings.Contains(err.Error(), c.mention) {
			t.Errorf("%s: %q does not name %s", name, err, c.mention)
		}
	}
	// the caller's options are left as they were
	o := &raw.DMSSetupOptions{DatePartition: &raw.DMSDatePartition{}}
	if _, err := raw.RenderDMS(s3Lake(t, "prod", ""), "crm", "customers", svcRoleEU, o); err != nil {
		t.Fatal(err)
	}
	if o.Format != "" || o.TimestampColumn != "" || *o.DatePartition != (raw.DMSDatePartition{}) {
		t.Errorf("RenderDMS changed its options: %+v %+v", o, o.DatePartition)
	}
}

// TestDMSEndpointOnMoto creates a DMS S3 target endpoint on moto_server
// from the rendered S3Settings and reads it back: what the endpoint
// holds is what lakekit rendered.
func TestDMSEndpointOnMoto(t *testing.T) {
	m := testaws.StartMoto(t)
	ctx := context.Background()
	client := dms.NewFromConfig(m.Config(t))
	for name, opts := range map[string]*raw.DMSSetupOptions{
		"lakekit-crm-csv":     nil,
		"lakekit-crm-parquet": {Format: dtypes.DataFormatValueParquet, DatePartition: &raw.DMSDatePartition{}},
	} {
		s, err := raw.RenderDMS(s3Lake(t, "prod", svcKey), "crm", "customers",
			raw.ServiceRole{ARN: "arn:aws:iam::123456789012:role/dms-s3-target", Region: testaws.Region}, opts)
		if err != nil {
			t.Fatal(err)
		}
		settings := s.Settings
		created, err := client.CreateEndpoint(ctx, &dms.CreateEndpointInput{EndpointIdentifier: aws.String(name),
			EndpointType: dtypes.ReplicationEndpointTypeValueTarget, EngineName: aws.String("s3"), S3Settings: &settings})
		if err != nil {
			t.Fatal(err)
		}
		out, err := client.DescribeEndpoints(ctx, &dms.DescribeEndpointsInput{
			Filters: []dtypes.Filter{{Name: aws.String("endpoint-arn"), Values: []string{aws.ToString(created.Endpoint.EndpointArn)}}}})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Endpoints) != 1 {
			t.Fatalf("%s: DescribeEndpoints found %d endpoints", name, len(out.Endpoints))
		}
		e := out.Endpoints[0]
		if aws.ToString(e.EngineName) != "s3" || e.EndpointType != "TARGET" && e.EndpointType != "target" {
			t.Errorf("%s: engine %s, type %s", name, aws.ToString(e.EngineName), e.EndpointType)
		}
		if e.S3Settings == nil {
			t.Fatalf("%s: the endpoint has no S3Settings", name)
		}
		got, err := json.Marshal(e.S3Settings)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := json.Marshal(s.Settings)
		if string(got) != string(want) {
			t.Errorf("%s: the endpoint holds\n%s\nrendered\n%s", name, got, want)
		}
	}
}
