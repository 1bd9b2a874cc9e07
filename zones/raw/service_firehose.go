package raw

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ftypes "github.com/aws/aws-sdk-go-v2/service/firehose/types"

	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/lake/iam"
)

// This file renders the set-up of Amazon Data Firehose for a raw dataset
// (RenderFirehose), and holds what the DMS set-up (service_dms.go) shares
// with it: ServiceRole, the raw zone's location and key, the JSON
// rendering. Every limit checked here was read in the service's API
// Reference (the page is named beside it); emulators accept much that
// AWS refuses, so the rendering refuses it first.

// ServiceRole is the IAM role an AWS service assumes to write into the
// raw zone, and the region the service runs in (it names the KMS
// kms:ViaService endpoint and the Glue catalog).
type ServiceRole struct {
	// ARN of the role: arn:aws:iam::<account>:role/<name>. Its trust policy
	// must let the service (firehose.amazonaws.com, dms.amazonaws.com)
	// assume it; the rendered policy is its permissions policy.
	ARN string
	// Region the service runs in, like "eu-west-1".
	Region string
}

var (
	// Firehose's RoleARN pattern (API_ExtendedS3DestinationConfiguration:
	// arn:.*:iam::\d{12}:role/[a-zA-Z_0-9+=,.@\-_/]+, 1 to 512 characters).
	serviceRoleRE = regexp.MustCompile(`^arn:(aws[a-z-]*):iam::(\d{12}):role/[a-zA-Z_0-9+=,.@\-_/]+$`)
	regionRE      = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d$`)
)

// account checks the role and returns the IAM account (partition,
// region, id) its policy is written for.
func (r ServiceRole) account() (iam.Account, error) {
	m := serviceRoleRE.FindStringSubmatch(r.ARN)
	if m == nil || len(r.ARN) > 512 {
		return iam.Account{}, fmt.Errorf("raw: service role %q is not an IAM role ARN (arn:aws:iam::<12-digit account>:role/<name>, at most 512 characters): %w", r.ARN, ErrInvalid)
	}
	if !regionRE.MatchString(r.Region) {
		return iam.Account{}, fmt.Errorf("raw: service region %q is not an AWS region name (like eu-west-1): %w", r.Region, ErrInvalid)
	}
	return iam.Account{Partition: m[1], Region: r.Region, ID: m[2]}, nil
}

// serviceTarget is where a service writes a raw dataset's objects.
type serviceTarget struct {
	bucket string
	// zone is the raw zone's key prefix in the bucket ("lake/raw/"), and
	// prefix the dataset's ("lake/raw/<source>/<dataset>/").
	zone, prefix string
	// keyARN is the raw zone's KMS key ARN, "" when the zone has none.
	keyARN string
}

// rawServiceTarget checks source and dataset and locates the dataset's
// prefix of the raw zone in its S3 bucket, with the zone's KMS key. The
// lake must be on S3: the services write to a bucket.
func rawServiceTarget(lk *lake.Lake, source, dataset string) (serviceTarget, error) {
	if lk == nil {
		return serviceTarget{}, fmt.Errorf("raw: nil lake: %w", ErrInvalid)
	}
	if err := lake.ValidateName(lake.KindSource, source); err != nil {
		return serviceTarget{}, fmt.Errorf("raw: %w", err)
	}
	if err := lake.ValidateName("dataset name", dataset); err != nil {
		return serviceTarget{}, fmt.Errorf("raw: %w", err)
	}
	z, err := lk.Zone(lake.Raw)
	if err != nil {
		return serviceTarget{}, fmt.Errorf("raw: %w", err)
	}
	loc := z.Store().Location("")
	if !strings.HasPrefix(loc, "s3://") {
		return serviceTarget{}, fmt.Errorf("raw: the lake's raw zone is at %s: AWS services write to S3, so render their set-up from a lake opened on s3://bucket/prefix: %w", loc, ErrInvalid)
	}
	bucket, zone, err := iam.ParseS3(loc)
	if err != nil {
		return serviceTarget{}, fmt.Errorf("raw: %w", err)
	}
	t := serviceTarget{bucket: bucket, zone: zone, prefix: zone + source + "/" + dataset + "/"}
	if key := z.Config().KMSKeyID; key != "" {
		if err := iam.CheckKMSKey(key); err != nil {
			return serviceTarget{}, fmt.Errorf("raw: the raw zone's KMS key must be given as a key ARN for the services and their policies: %w: %w", err, ErrInvalid)
		}
		t.keyARN = key
	}
	return t, nil
}

// kmsStatement grants a service role what S3 asks KMS for when the role
// writes (and, for multipart uploads, reads back) SSE-KMS objects:
// kms:GenerateDataKey and kms:Decrypt on the zone's key, only through S3
// in the role's region (kms:ViaService), as the Firehose developer guide's
// S3 destination policy does. That policy also pins
// kms:EncryptionContext:aws:s3:arn to the objects' ARNs; it is left out,
// because with an S3 Bucket Key the context is the bucket's ARN and the
// condition would deny every write.
func kmsStatement(sid string, acct iam.Account, keyARN string) iam.Statement {
	return iam.Statement{Sid: sid, Effect: "Allow",
		Action:   []string{"kms:Decrypt", "kms:GenerateDataKey"},
		Resource: []string{keyARN},
		Condition: map[string]any{"StringEquals": map[string]any{
			"kms:ViaService": []string{"s3." + acct.Region + ".amazonaws.com"},
		}},
	}
}

// checkedPolicy renders statements as a policy document and checks it
// against the IAM policy grammar (iam.Validate).
func checkedPolicy(sts []iam.Statement) (*iam.Document, error) {
	doc := &iam.Document{Version: "2012-10-17", Statement: sts}
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	if err := iam.Validate(b); err != nil {
		return nil, fmt.Errorf("raw: rendered policy: %w", err)
	}
	return doc, nil
}

// renderJSON renders an aws-sdk-go-v2 types value the way the service's
// API (and the AWS CLI's JSON input, and CloudFormation's properties of
// the same names) spells it: the members lakekit set, by their API names,
// without the unset ones.
func renderJSON(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var tree any
	if err := json.Unmarshal(b, &tree); err != nil {
		return nil, err
	}
	return json.MarshalIndent(prune(tree), "", "  ")
}

// prune drops nulls (unset pointers, slices and maps) and empty strings
// (unset enums). An empty object stays: the SDK sends a set, empty
// structure ({} for OpenXJsonSerDe chooses that deserializer).
func prune(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			if e = prune(e); e != nil {
				out[k] = e
			}
		}
		return out
	case []any:
		out := []any{}
		for _, e := range x {
			if e = prune(e); e != nil {
				out = append(out, e)
			}
		}
		return out
	case string:
		if x == "" {
			return nil
		}
	}
	return v
}

// FirehoseErrorFolder is the folder, under a dataset's raw prefix, where
// the rendered Firehose set-up has the stream write the records it could
// not process or convert (its error output):
//
//	<source>/<dataset>/errors/<error-output-type>/YYYY/MM/dd/HH/<object>
//
// where <error-output-type> is processing-failed or
// format-conversion-failed. Delivered records go to
// <source>/<dataset>/YYYY/MM/dd/HH/<object>, Firehose's default layout.
const FirehoseErrorFolder = "errors"

// Firehose limits, from the Amazon Data Firehose API Reference
// (docs.aws.amazon.com/firehose/latest/APIReference/): BufferingHints
// (SizeInMBs 1–128, IntervalInSeconds 0–900), ExtendedS3DestinationConfiguration
// (Prefix and ErrorOutputPrefix at most 1,024 characters), and the
// developer guide: a prefix may not exceed 512 characters once evaluated
// (s3-prefixes.html), format conversion needs SizeInMBs of at least 64 and
// CompressionFormat UNCOMPRESSED (record-format-conversion.html).
const (
	firehoseMinBufferMiB        = 1
	firehoseMaxBufferMiB        = 128
	firehoseMinParquetBufferMiB = 64
	firehoseMaxInterval         = 900 * time.Second
	firehoseMaxPrefix           = 1024
	firehoseMaxEvaluatedPrefix  = 512
)

// Firehose's defaults that RenderFirehose writes out.
const (
	// DefaultFirehoseBufferMiB is the buffer size without Parquet
	// conversion (Firehose's own default), and
	// DefaultFirehoseParquetBufferMiB with it (Firehose's default then).
	DefaultFirehoseBufferMiB        = 5
	DefaultFirehoseParquetBufferMiB = 128
	// DefaultFirehoseInterval is Firehose's default buffer interval.
	DefaultFirehoseInterval = 300 * time.Second
)

// FirehoseSetupOptions modify RenderFirehose. A nil pointer means
// defaults: records delivered as they are sent, gzip-compressed, in
// 5 MiB or 300 s buffers.
type FirehoseSetupOptions struct {
	// BufferMiB is the buffer size in MiB (1–128; with Parquet at least
	// 64). Default DefaultFirehoseBufferMiB, or
	// DefaultFirehoseParquetBufferMiB with Parquet. A buffer is one
	// object; when producers send records without a newline, the object
	// is one line, which transform.JSONLines holds in memory while it
	// splits it (its JSONOptions.MaxLineBytes, 128 MiB by default, takes
	// the largest buffer).
	BufferMiB int32
	// BufferInterval is how long Firehose buffers before it delivers
	// (whole seconds, 0–900 s; 0 means the default,
	// DefaultFirehoseInterval).
	BufferInterval time.Duration
	// Compression of the delivered objects: GZIP by default (the
	// objects then end in .gz; the raw layouts decompress them). Firehose
	// accepts UNCOMPRESSED, GZIP, ZIP, Snappy and HADOOP_SNAPPY; with
	// Parquet only UNCOMPRESSED (the Parquet serializer compresses).
	Compression ftypes.CompressionFormat
	// Parquet makes Firehose convert the JSON records to Parquet with
	// the schema of a Glue table before delivery; nil delivers the
	// records as they are sent.
	Parquet *FirehoseParquet
}

// FirehoseParquet is Firehose's record format conversion: JSON records
// read by the OpenX JSON SerDe, written as Parquet with the schema of a
// Glue table — a lakekit dataset's table when the catalog is Glue
// (catalog.Glue registers each dataset as database.table).
type FirehoseParquet struct {
	// Database and Table name the Glue table (Glue naming rules).
	Database, Table string
	// VersionID of the table's schema; default "LATEST".
	VersionID string
	// Compression of the Parquet pages: SNAPPY (default), GZIP or
	// UNCOMPRESSED.
	Compression ftypes.ParquetCompression
}

// FirehoseSetup is the set-up that makes Amazon Data Firehose deliver a
// stream into a raw dataset, where lakekit's Firehose layout reads it.
type FirehoseSetup struct {
	// Destination is CreateDeliveryStream's
	// ExtendedS3DestinationConfiguration (firehose.CreateDeliveryStreamInput).
	Destination ftypes.ExtendedS3DestinationConfiguration
	// Bucket and Prefix locate the delivered objects: Prefix is the
	// dataset's key prefix in the bucket ("<lake prefix>raw/<source>/<dataset>/"),
	// under which Firehose adds YYYY/MM/dd/HH/ (UTC). Pass both to
	// orchestrate.S3EventRule to start a pipeline whenever Firehose
	// delivers an object (the bucket must send its events to
	// EventBridge); error output lands under the same prefix.
	Bucket, Prefix string
	// ErrorPrefix is where error output lands: Prefix + FirehoseErrorFolder + "/".
	ErrorPrefix string
	// RolePolicy is the least-privilege permissions policy of the
	// delivery role (ServiceRole.ARN): write and read objects under
	// Prefix, locate and list the bucket and its multipart uploads,
	// use the zone's KMS key through S3 only, and with Parquet read the
	// Glue table's schema.
	RolePolicy *iam.Document
}

// RenderFirehose renders the set-up of an Amazon Data Firehose stream that
// delivers into the raw dataset source/dataset of lk, which must be a lake
// on S3: the destination configuration (bucket, prefixes, buffering,
// compression, the raw zone's KMS key — lake.ZoneConfig.KMSKeyID, given as
// a key ARN — and role; optionally Parquet conversion against a Glue
// table) and the delivery role's policy. The error, wrapping ErrInvalid,
// names what AWS would refuse: a bad role ARN or region, a value outside
// its range, a prefix longer than Firehose allows, an unknown enum value.
func RenderFirehose(lk *lake.Lake, source, dataset string, role ServiceRole, opts *FirehoseSetupOptions) (*FirehoseSetup, error) {
	var o FirehoseSetupOptions
	if opts != nil {
		o = *opts
	}
	acct, err := role.account()
	if err != nil {
		return nil, err
	}
	t, err := rawServiceTarget(lk, source, dataset)
	if err != nil {
		return nil, err
	}
	if err := o.fill(); err != nil {
		return nil, err
	}
	s := &FirehoseSetup{Bucket: t.bucket, Prefix: t.prefix, ErrorPrefix: t.prefix + FirehoseErrorFolder + "/"}
	if err := checkFirehosePrefixes(s.Prefix, s.ErrorPrefix); err != nil {
		return nil, err
	}
	d := ftypes.ExtendedS3DestinationConfiguration{
		BucketARN: aws.String(fmt.Sprintf("arn:%s:s3:::%s", acct.Partition, t.bucket)),
		RoleARN:   aws.String(role.ARN),
		// No expression: Firehose appends YYYY/MM/dd/HH/ (its default layout).
		Prefix: aws.String(s.Prefix),
		// where the zero FirehoseLayout reads the error output (an
		// expression in ErrorOutputPrefix must include the error type)
		ErrorOutputPrefix: aws.String(s.Prefix + FirehoseDefaultErrorPrefix),
		BufferingHints: &ftypes.BufferingHints{
			SizeInMBs:         aws.Int32(o.BufferMiB),
			IntervalInSeconds: aws.Int32(int32(o.BufferInterval / time.Second)),
		},
		CompressionFormat:       o.Compression,
		EncryptionConfiguration: &ftypes.EncryptionConfiguration{NoEncryptionConfig: ftypes.NoEncryptionConfigNoEncryption},
	}
	if t.keyARN != "" {
		d.EncryptionConfiguration = &ftypes.EncryptionConfiguration{KMSEncryptionConfig: &ftypes.KMSEncryptionConfig{AWSKMSKeyARN: aws.String(t.keyARN)}}
	}
	if p := o.Parquet; p != nil {
		d.DataFormatConversionConfiguration = &ftypes.DataFormatConversionConfiguration{
			Enabled: aws.Bool(true),
			SchemaConfiguration: &ftypes.SchemaConfiguration{
				CatalogId: aws.String(acct.ID), DatabaseName: aws.String(p.Database), TableName: aws.String(p.Table),
				Region: aws.String(acct.Region), RoleARN: aws.String(role.ARN), VersionId: aws.String(p.VersionID),
			},
			InputFormatConfiguration:  &ftypes.InputFormatConfiguration{Deserializer: &ftypes.Deserializer{OpenXJsonSerDe: &ftypes.OpenXJsonSerDe{}}},
			OutputFormatConfiguration: &ftypes.OutputFormatConfiguration{Serializer: &ftypes.Serializer{ParquetSerDe: &ftypes.ParquetSerDe{Compression: p.Compression}}},
		}
	}
	s.Destination = d
	if s.RolePolicy, err = firehosePolicy(acct, t, o.Parquet); err != nil {
		return nil, err
	}
	return s, nil
}

// fill checks the options against Firehose's limits and sets defaults.
func (o *FirehoseSetupOptions) fill() error {
	if o.Parquet != nil {
		p := *o.Parquet // the caller's value stays as it was
		o.Parquet = &p
		if err := iam.CheckGlueName("database", p.Database); err != nil {
			return fmt.Errorf("raw: Firehose Parquet conversion: %w: %w", err, ErrInvalid)
		}
		if err := iam.CheckGlueName("table", p.Table); err != nil {
			return fmt.Errorf("raw: Firehose Parquet conversion: %w: %w", err, ErrInvalid)
		}
		if p.VersionID == "" {
			o.Parquet.VersionID = "LATEST"
		} else if strings.ContainsAny(p.VersionID, " \t\r\n") || len(p.VersionID) > 1024 {
			return fmt.Errorf("raw: Firehose Parquet conversion: schema version %q must be 1 to 1,024 characters without white space: %w", p.VersionID, ErrInvalid)
		}
		if p.Compression == "" {
			o.Parquet.Compression = ftypes.ParquetCompressionSnappy
		} else if !knownValue(p.Compression, p.Compression.Values()) {
			return fmt.Errorf("raw: Firehose Parquet compression %q is not one of %v: %w", p.Compression, p.Compression.Values(), ErrInvalid)
		}
		switch o.Compression {
		case "", ftypes.CompressionFormatUncompressed:
			o.Compression = ftypes.CompressionFormatUncompressed
		default:
			return fmt.Errorf("raw: Firehose compression %s with Parquet conversion: Firehose needs UNCOMPRESSED there (the Parquet serializer compresses; set FirehoseParquet.Compression): %w", o.Compression, ErrInvalid)
		}
	}
	if o.Compression == "" {
		o.Compression = ftypes.CompressionFormatGzip
	} else if !knownValue(o.Compression, o.Compression.Values()) {
		return fmt.Errorf("raw: Firehose compression %q is not one of %v: %w", o.Compression, o.Compression.Values(), ErrInvalid)
	}
	minMiB := int32(firehoseMinBufferMiB)
	switch {
	case o.BufferMiB == 0 && o.Parquet != nil:
		o.BufferMiB = DefaultFirehoseParquetBufferMiB
	case o.BufferMiB == 0:
		o.BufferMiB = DefaultFirehoseBufferMiB
	}
	if o.Parquet != nil {
		minMiB = firehoseMinParquetBufferMiB
	}
	if o.BufferMiB < minMiB || o.BufferMiB > firehoseMaxBufferMiB {
		return fmt.Errorf("raw: Firehose buffer size %d MiB is outside %d–%d MiB: %w", o.BufferMiB, minMiB, firehoseMaxBufferMiB, ErrInvalid)
	}
	if o.BufferInterval == 0 {
		o.BufferInterval = DefaultFirehoseInterval
	}
	if o.BufferInterval < 0 || o.BufferInterval > firehoseMaxInterval || o.BufferInterval%time.Second != 0 {
		return fmt.Errorf("raw: Firehose buffer interval %v must be whole seconds from 0 to %v: %w", o.BufferInterval, firehoseMaxInterval, ErrInvalid)
	}
	return nil
}

// checkFirehosePrefixes refuses prefixes Firehose would: longer than the
// API allows, longer than 512 characters once evaluated (Firehose adds
// YYYY/MM/dd/HH/ and, to the error prefix, the error type), or holding
// "!{" outside an expression.
func checkFirehosePrefixes(prefix, errPrefix string) error {
	const timePart = len("2006/01/02/15/")
	const errType = len("format-conversion-failed/") // the longest error-output-type an S3 destination writes
	errExpr := len(FirehoseDefaultErrorPrefix) - len(FirehoseErrorFolder+"/")
	for _, p := range []struct {
		name       string
		raw, evald int
		value      string
	}{
		{"Prefix", len(prefix), len(prefix) + timePart, prefix},
		{"ErrorOutputPrefix", len(errPrefix) + errExpr, len(errPrefix) + errType + timePart, errPrefix},
	} {
		if strings.Contains(p.value, "!{") {
			return fmt.Errorf("raw: Firehose %s %q holds \"!{\", which Firehose reads as an expression: %w", p.name, p.value, ErrInvalid)
		}
		if p.raw > firehoseMaxPrefix || p.evald > firehoseMaxEvaluatedPrefix {
			return fmt.Errorf("raw: Firehose %s for %q would be %d characters once evaluated; Firehose allows %d (use a shorter lake prefix, source or dataset): %w",
				p.name, p.value, p.evald, firehoseMaxEvaluatedPrefix, ErrInvalid)
		}
	}
	return nil
}

// firehosePolicy is the delivery role's permissions policy, after the
// Firehose developer guide's policies for an S3 destination and for
// format conversion ("Controlling access with Amazon Data Firehose"):
// object actions only under the dataset's prefix, the bucket actions on
// the bucket, KMS through S3 only, the Glue table's schema.
func firehosePolicy(acct iam.Account, t serviceTarget, parquet *FirehoseParquet) (*iam.Document, error) {
	bucketARN := fmt.Sprintf("arn:%s:s3:::%s", acct.Partition, t.bucket)
	sts := []iam.Statement{
		{Sid: "FirehoseBucket", Effect: "Allow",
			Action:   []string{"s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"},
			Resource: []string{bucketARN}},
		{Sid: "FirehoseObjects", Effect: "Allow",
			Action:   []string{"s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject"},
			Resource: []string{bucketARN + "/" + t.prefix + "*"}},
	}
	if parquet != nil {
		glue := fmt.Sprintf("arn:%s:glue:%s:%s:", acct.Partition, acct.Region, acct.ID)
		sts = append(sts, iam.Statement{Sid: "FirehoseGlueSchema", Effect: "Allow",
			Action: []string{"glue:GetTable", "glue:GetTableVersion", "glue:GetTableVersions"},
			Resource: []string{glue + "catalog", glue + "database/" + parquet.Database,
				glue + "table/" + parquet.Database + "/" + parquet.Table}})
	}
	if t.keyARN != "" {
		sts = append(sts, kmsStatement("FirehoseKMS", acct, t.keyARN))
	}
	return checkedPolicy(sts)
}

// knownValue reports whether v is one of an SDK enum's values.
func knownValue[E ~string](v E, values []E) bool {
	for _, x := range values {
		if x == v {
			return true
		}
	}
	return false
}

// Layout returns the layout that reads what the stream delivers:
// transform.FromRaw(lk, source, dataset, dec, transform.WithLayout(s.Layout())).
// stream, when not empty, restricts it to the objects of that delivery
// stream.
func (s *FirehoseSetup) Layout(stream string) *FirehoseLayout {
	return &FirehoseLayout{Stream: stream}
}

// DestinationJSON renders Destination as the JSON the Firehose API takes
// for ExtendedS3DestinationConfiguration: the value of the AWS CLI's
// --extended-s3-destination-configuration and of CloudFormation's
// AWS::KinesisFirehose::DeliveryStream ExtendedS3DestinationConfiguration,
// whose members have the same names (Terraform's
// aws_kinesis_firehose_delivery_stream takes the same values in its
// extended_s3_configuration block).
func (s *FirehoseSetup) DestinationJSON() ([]byte, error) { return renderJSON(s.Destination) }

// PolicyJSON renders RolePolicy as an IAM policy document.
func (s *FirehoseSetup) PolicyJSON() ([]byte, error) {
	return json.MarshalIndent(s.RolePolicy, "", "  ")
}
