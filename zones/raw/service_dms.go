package raw

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	dtypes "github.com/aws/aws-sdk-go-v2/service/databasemigrationservice/types"

	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/lake/iam"
)

// DefaultDMSTimestampColumn is the column RenderDMS has DMS add to every
// row (TimestampColumnName): the commit time of a CDC row, the transfer
// time of a full-load row, as "yyyy-MM-dd HH:mm:ss.SSSSSS" — the order a
// CDC merge applies changes in.
const DefaultDMSTimestampColumn = "cdc_ts"

// DMSSetupOptions modify RenderDMS. A nil pointer means defaults: CSV
// files with a header row, uncompressed, full-load rows with the Op
// column, a DefaultDMSTimestampColumn column, no date folders.
type DMSSetupOptions struct {
	// Format of the files DMS writes: csv (default) or parquet.
	Format dtypes.DataFormatValue
	// Compression of the files: none (default) or gzip.
	Compression dtypes.CompressionTypeValue
	// TimestampColumn names the timestamp column DMS adds
	// (TimestampColumnName); default DefaultDMSTimestampColumn. It
	// must be a valid column name (lake.ValidateName).
	TimestampColumn string
	// FullLoadWithoutOp leaves the Op column out of full-load rows
	// (IncludeOpForFullLoad false). By default full-load rows carry
	// Op "I", so full-load and CDC files have the same columns.
	FullLoadWithoutOp bool
	// DatePartition puts the files under date folders by commit date
	// (DatePartitionEnabled); nil writes them into the table's folder.
	DatePartition *DMSDatePartition
}

// DMSDatePartition is DMS's date-based folder partitioning.
type DMSDatePartition struct {
	// Sequence of the date folders: YYYYMMDD (default), YYYYMMDDHH,
	// YYYYMM, MMYYYYDD or DDMMYYYY.
	Sequence dtypes.DatePartitionSequenceValue
	// Delimiter between the date's parts: SLASH (default), UNDERSCORE,
	// DASH or NONE.
	Delimiter dtypes.DatePartitionDelimiterValue
	// Timezone of the folder dates and CDC file names, as Area/Location
	// ("Europe/Berlin"); empty means UTC.
	Timezone string
}

// DMSSetup is the set-up that makes an AWS DMS task's S3 target endpoint
// write into a raw dataset, where lakekit's DMS layout reads it.
type DMSSetup struct {
	// Settings is CreateEndpoint's S3Settings
	// (databasemigrationservice.CreateEndpointInput with EngineName "s3"
	// and EndpointType target).
	Settings dtypes.S3Settings
	// Bucket and Prefix locate the files: DMS writes
	// Prefix<schema>/<table>/LOAD00000001.csv, ..., then CDC files named
	// by time (under date folders with DatePartition). Prefix is the
	// dataset's key prefix in the bucket
	// ("<lake prefix>raw/<source>/<dataset>/", the BucketFolder with a
	// trailing slash). Pass both to orchestrate.S3EventRule to start a
	// pipeline whenever DMS writes a file (the bucket must send its
	// events to EventBridge).
	Bucket, Prefix string
	// RolePolicy is the least-privilege permissions policy of the
	// endpoint's service access role (ServiceRole.ARN), after the DMS
	// user guide's S3 target prerequisites: write, delete and tag
	// objects under Prefix, list the bucket, use the zone's KMS key
	// through S3 only. With a KMS key, the key's policy must also let
	// the role use it (the DMS user guide's "Creating AWS KMS keys to
	// encrypt Amazon S3 target objects").
	RolePolicy *iam.Document
}

// dmsTimezoneRE is DatePartitionTimezone's documented Area/Location form.
var dmsTimezoneRE = regexp.MustCompile(`^[A-Za-z]+(/[A-Za-z0-9_+-]+)+$`)

// RenderDMS renders the S3 target endpoint settings of an AWS DMS task
// that replicates into the raw dataset source/dataset of lk, which must be
// a lake on S3: bucket and folder in the raw zone, data format, SSE-KMS
// with the raw zone's key (lake.ZoneConfig.KMSKeyID, given as a key ARN;
// SSE-S3 when the zone has none), the timestamp column, the Op column on
// full-load rows, a header row in CSV files, optional date folders, the
// service access role; and that role's policy.
//
// CdcPath and PreserveTransactions are never set: with them DMS writes
// the changes of all tables into one transaction folder, in CSV whatever
// the format, and can use neither date folders nor the header row, while
// the DMS layout reads each table's own folder, as DMS writes it without
// them. The error, wrapping ErrInvalid, names what AWS would refuse.
func RenderDMS(lk *lake.Lake, source, dataset string, role ServiceRole, opts *DMSSetupOptions) (*DMSSetup, error) {
	var o DMSSetupOptions
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
	folder := strings.TrimSuffix(t.prefix, "/")
	st := dtypes.S3Settings{
		BucketName:           aws.String(t.bucket),
		BucketFolder:         aws.String(folder),
		ServiceAccessRoleArn: aws.String(role.ARN),
		DataFormat:           o.Format,
		CompressionType:      o.Compression,
		TimestampColumnName:  aws.String(o.TimestampColumn),
		IncludeOpForFullLoad: aws.Bool(!o.FullLoadWithoutOp),
		EncryptionMode:       dtypes.EncryptionModeValueSseS3,
	}
	if o.Format == dtypes.DataFormatValueCsv {
		// a header row: the CSV decoder maps columns by name
		st.AddColumnName = aws.Bool(true)
	}
	if t.keyARN != "" {
		st.EncryptionMode = dtypes.EncryptionModeValueSseKms
		st.ServerSideEncryptionKmsKeyId = aws.String(t.keyARN)
	}
	if p := o.DatePartition; p != nil {
		st.DatePartitionEnabled = aws.Bool(true)
		st.DatePartitionSequence = p.Sequence
		st.DatePartitionDelimiter = p.Delimiter
		if p.Timezone != "" {
			st.DatePartitionTimezone = aws.String(p.Timezone)
		}
	}
	s := &DMSSetup{Settings: st, Bucket: t.bucket, Prefix: t.prefix}
	if s.RolePolicy, err = dmsPolicy(acct, t); err != nil {
		return nil, err
	}
	return s, nil
}

// fill checks the options against the values DMS takes and sets defaults.
func (o *DMSSetupOptions) fill() error {
	if o.Format == "" {
		o.Format = dtypes.DataFormatValueCsv
	} else if !knownValue(o.Format, o.Format.Values()) {
		return fmt.Errorf("raw: DMS data format %q is not one of %v: %w", o.Format, o.Format.Values(), ErrInvalid)
	}
	if o.Compression == "" {
		o.Compression = dtypes.CompressionTypeValueNone
	} else if !knownValue(o.Compression, o.Compression.Values()) {
		return fmt.Errorf("raw: DMS compression %q is not one of %v: %w", o.Compression, o.Compression.Values(), ErrInvalid)
	}
	if o.TimestampColumn == "" {
		o.TimestampColumn = DefaultDMSTimestampColumn
	}
	if err := lake.ValidateName(lake.KindColumn, o.TimestampColumn); err != nil {
		return fmt.Errorf("raw: DMS timestamp column: %w", err)
	}
	if o.DatePartition == nil {
		return nil
	}
	p := *o.DatePartition // the caller's value stays as it was
	o.DatePartition = &p
	if p.Sequence == "" {
		p.Sequence = dtypes.DatePartitionSequenceValueYyyymmdd
	} else if !knownValue(p.Sequence, p.Sequence.Values()) {
		return fmt.Errorf("raw: DMS date partition sequence %q is not one of %v: %w", p.Sequence, p.Sequence.Values(), ErrInvalid)
	}
	if p.Delimiter == "" {
		p.Delimiter = dtypes.DatePartitionDelimiterValueSlash
	} else if !knownValue(p.Delimiter, p.Delimiter.Values()) {
		return fmt.Errorf("raw: DMS date partition delimiter %q is not one of %v: %w", p.Delimiter, p.Delimiter.Values(), ErrInvalid)
	}
	if p.Timezone != "" && !dmsTimezoneRE.MatchString(p.Timezone) {
		return fmt.Errorf("raw: DMS date partition time zone %q is not of the form Area/Location (like Europe/Berlin): %w", p.Timezone, ErrInvalid)
	}
	return nil
}

// dmsPolicy is the service access role's permissions policy.
func dmsPolicy(acct iam.Account, t serviceTarget) (*iam.Document, error) {
	bucketARN := fmt.Sprintf("arn:%s:s3:::%s", acct.Partition, t.bucket)
	sts := []iam.Statement{
		{Sid: "DMSBucket", Effect: "Allow", Action: []string{"s3:ListBucket"}, Resource: []string{bucketARN}},
		{Sid: "DMSObjects", Effect: "Allow",
			Action:   []string{"s3:DeleteObject", "s3:PutObject", "s3:PutObjectTagging"},
			Resource: []string{bucketARN + "/" + t.prefix + "*"}},
	}
	if t.keyARN != "" {
		sts = append(sts, kmsStatement("DMSKMS", acct, t.keyARN))
	}
	return checkedPolicy(sts)
}

// Layout returns the layout that reads what the endpoint writes for one
// source table (schema and table as DMS names their folders; both empty
// reads every table), with the rendered date folders:
// transform.FromRaw(lk, source, dataset, dec, transform.WithLayout(layout)).
// The error names a date partition time zone this machine does not know
// (its time zone database lacks it; import time/tzdata).
func (s *DMSSetup) Layout(schema, table string) (*DMSLayout, error) {
	l := &DMSLayout{Schema: schema, Table: table}
	if aws.ToBool(s.Settings.DatePartitionEnabled) {
		l.DatePartition = true
		l.DatePartitionSequence = string(s.Settings.DatePartitionSequence)
		l.DatePartitionDelimiter = string(s.Settings.DatePartitionDelimiter)
		if tz := aws.ToString(s.Settings.DatePartitionTimezone); tz != "" {
			loc, err := time.LoadLocation(tz)
			if err != nil {
				return nil, fmt.Errorf("raw: DMS date partition time zone %q: %v: %w", tz, err, ErrInvalid)
			}
			l.TimeZone = loc
		}
	}
	return l, l.Check()
}

// SettingsJSON renders Settings as the JSON the DMS API takes for
// S3Settings: the value of the AWS CLI's create-endpoint --s3-settings
// and of CloudFormation's AWS::DMS::Endpoint S3Settings, whose members
// have the same names (Terraform's aws_dms_s3_endpoint takes the same
// values as snake_case arguments).
func (s *DMSSetup) SettingsJSON() ([]byte, error) { return renderJSON(s.Settings) }

// PolicyJSON renders RolePolicy as an IAM policy document.
func (s *DMSSetup) PolicyJSON() ([]byte, error) { return json.MarshalIndent(s.RolePolicy, "", "  ") }
