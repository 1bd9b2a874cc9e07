package awsmodel_test

import (
	"context"
	"errors"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/athena"
	athenatypes "github.com/aws/aws-sdk-go-v2/service/athena/types"
	"github.com/aws/aws-sdk-go-v2/service/glue"
	gluetypes "github.com/aws/aws-sdk-go-v2/service/glue/types"
	"github.com/aws/aws-sdk-go-v2/service/lakeformation"
	"github.com/aws/aws-sdk-go-v2/service/redshiftdata"
	rstypes "github.com/aws/aws-sdk-go-v2/service/redshiftdata/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/lakekit/lakekit/internal/awsmodel"
)

// inputs maps every operation the check covers to its SDK input type.
var inputs = map[string]any{
	"Athena StartQueryExecution":          athena.StartQueryExecutionInput{},
	"Athena GetQueryExecution":            athena.GetQueryExecutionInput{},
	"Athena GetQueryResults":              athena.GetQueryResultsInput{},
	"Athena StopQueryExecution":           athena.StopQueryExecutionInput{},
	"Glue BatchCreatePartition":           glue.BatchCreatePartitionInput{},
	"Glue BatchDeletePartition":           glue.BatchDeletePartitionInput{},
	"Glue BatchGetPartition":              glue.BatchGetPartitionInput{},
	"Glue BatchUpdatePartition":           glue.BatchUpdatePartitionInput{},
	"Glue CreateDatabase":                 glue.CreateDatabaseInput{},
	"Glue CreatePartitionIndex":           glue.CreatePartitionIndexInput{},
	"Glue CreateTable":                    glue.CreateTableInput{},
	"Glue DeleteDatabase":                 glue.DeleteDatabaseInput{},
	"Glue DeleteTable":                    glue.DeleteTableInput{},
	"Glue GetCrawler":                     glue.GetCrawlerInput{},
	"Glue GetDatabase":                    glue.GetDatabaseInput{},
	"Glue GetDatabases":                   glue.GetDatabasesInput{},
	"Glue GetJobRun":                      glue.GetJobRunInput{},
	"Glue GetPartitions":                  glue.GetPartitionsInput{},
	"Glue GetTable":                       glue.GetTableInput{},
	"Glue GetTableVersions":               glue.GetTableVersionsInput{},
	"Glue GetTables":                      glue.GetTablesInput{},
	"Glue SearchTables":                   glue.SearchTablesInput{},
	"Glue StartCrawler":                   glue.StartCrawlerInput{},
	"Glue StartJobRun":                    glue.StartJobRunInput{},
	"Glue UpdateTable":                    glue.UpdateTableInput{},
	"LakeFormation GrantPermissions":      lakeformation.GrantPermissionsInput{},
	"LakeFormation ListPermissions":       lakeformation.ListPermissionsInput{},
	"LakeFormation RevokePermissions":     lakeformation.RevokePermissionsInput{},
	"Redshift Data ExecuteStatement":      redshiftdata.ExecuteStatementInput{},
	"Redshift Data BatchExecuteStatement": redshiftdata.BatchExecuteStatementInput{},
	"Redshift Data DescribeStatement":     redshiftdata.DescribeStatementInput{},
	"Redshift Data GetStatementResult":    redshiftdata.GetStatementResultInput{},
	"Redshift Data CancelStatement":       redshiftdata.CancelStatementInput{},
	"S3 PutObject":                        s3.PutObjectInput{},
	"S3 GetObject":                        s3.GetObjectInput{},
	"S3 HeadObject":                       s3.HeadObjectInput{},
	"S3 DeleteObject":                     s3.DeleteObjectInput{},
	"S3 DeleteObjects":                    s3.DeleteObjectsInput{},
	"S3 ListObjectsV2":                    s3.ListObjectsV2Input{},
	"S3 CopyObject":                       s3.CopyObjectInput{},
	"S3 CreateMultipartUpload":            s3.CreateMultipartUploadInput{},
	"S3 UploadPart":                       s3.UploadPartInput{},
	"S3 CompleteMultipartUpload":          s3.CompleteMultipartUploadInput{},
	"S3 AbortMultipartUpload":             s3.AbortMultipartUploadInput{},
	"S3 HeadBucket":                       s3.HeadBucketInput{},
	"S3 CreateBucket":                     s3.CreateBucketInput{},
	"S3 GetBucketPolicy":                  s3.GetBucketPolicyInput{},
	"S3 PutBucketPolicy":                  s3.PutBucketPolicyInput{},
	"S3 GetBucketLifecycleConfiguration":  s3.GetBucketLifecycleConfigurationInput{},
	"S3 PutBucketLifecycleConfiguration":  s3.PutBucketLifecycleConfigurationInput{},
	"SFN CreateStateMachine":              sfn.CreateStateMachineInput{},
	"SFN UpdateStateMachine":              sfn.UpdateStateMachineInput{},
	"SFN ListStateMachines":               sfn.ListStateMachinesInput{},
	"SFN StartExecution":                  sfn.StartExecutionInput{},
	"SFN DescribeExecution":               sfn.DescribeExecutionInput{},
	"SFN GetExecutionHistory":             sfn.GetExecutionHistoryInput{},
	"SFN SendTaskSuccess":                 sfn.SendTaskSuccessInput{},
	"SFN SendTaskFailure":                 sfn.SendTaskFailureInput{},
	"SFN SendTaskHeartbeat":               sfn.SendTaskHeartbeatInput{},
	"STS GetCallerIdentity":               sts.GetCallerIdentityInput{},
}

// TestModelCoversSDKInputs: every covered operation has its SDK input type
// listed here, and every key of the constraints table names a member those
// inputs reach, of a kind its limit can measure, with the API Reference
// page it was read on: a key that matched no field would silently check
// nothing.
func TestModelCoversSDKInputs(t *testing.T) {
	n := 0
	for svc, ops := range awsmodel.Operations() {
		for _, op := range ops {
			n++
			if _, ok := inputs[svc+" "+op]; !ok {
				t.Errorf("%s %s: no SDK input type listed in this test", svc, op)
			}
		}
	}
	if n != len(inputs) {
		t.Errorf("the check covers %d operations, this test lists %d", n, len(inputs))
	}
	members := map[string]reflect.Type{}
	for _, in := range inputs {
		for k, typ := range awsmodel.MemberKeys(reflect.TypeOf(in)) {
			members[k] = typ
		}
	}
	for key, l := range awsmodel.Constraints() {
		typ, ok := members[key]
		if !ok {
			t.Errorf("constraint %s names no member of the covered operations' inputs", key)
			continue
		}
		switch typ.Kind() {
		case reflect.String, reflect.Slice, reflect.Map,
			reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
			reflect.Float32, reflect.Float64:
		default:
			t.Errorf("constraint %s: a %s member cannot be measured", key, typ)
		}
		if l.Bytes && typ.Kind() != reflect.String {
			t.Errorf("constraint %s: Bytes on a %s member", key, typ)
		}
		if !strings.HasPrefix(l.Doc, "https://docs.aws.amazon.com/") {
			t.Errorf("constraint %s cites %q, not an AWS documentation page", key, l.Doc)
		}
		if l.Max != 0 && l.Max < l.Min || l.Min < 0 {
			t.Errorf("constraint %s: bounds %d..%d", key, l.Min, l.Max)
		}
	}
}

// TestModelEnumsFromSDK: enum values come from the SDK's own types, so a
// value the SDK does not list is refused and every listed one passes.
func TestModelEnumsFromSDK(t *testing.T) {
	for _, v := range s3types.StorageClass("").Values() {
		if vs, _ := awsmodel.Validate("S3", "PutObject", &s3.PutObjectInput{Bucket: aws.String("b"), Key: aws.String("k"), StorageClass: v}); len(vs) != 0 {
			t.Errorf("storage class %q: %v", v, vs)
		}
	}
	vs, _ := awsmodel.Validate("S3", "DeleteObjects", &s3.DeleteObjectsInput{Bucket: aws.String("b"),
		Delete: &s3types.Delete{Objects: []s3types.ObjectIdentifier{{Key: aws.String("k")}}}, ChecksumAlgorithm: "MD4"})
	if len(vs) != 1 || vs[0].Path != "ChecksumAlgorithm" {
		t.Errorf("an unknown checksum algorithm: %v", vs)
	}
}

// TestModelRequiredMembersAreTheSDKs: required members are not in the
// table because the SDK's own validators refuse a request missing one,
// top-level or nested, before it is sent: the client returns an
// InvalidParamsError, nothing reaches the server, and the check, which
// runs after the validators, sees no request.
func TestModelRequiredMembersAreTheSDKs(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Write([]byte(`{}`))
	}))
	defer srv.Close()
	rec := &awsmodel.Recorder{}
	cfg := testConfig(srv.URL)
	cfg.APIOptions = append(cfg.APIOptions, rec.APIOption())
	ctx := context.Background()
	var invalid smithy.InvalidParamsError
	if _, err := redshiftdata.NewFromConfig(cfg).ExecuteStatement(ctx, &redshiftdata.ExecuteStatementInput{Database: aws.String("dev")}); !errors.As(err, &invalid) {
		t.Errorf("ExecuteStatement without Sql: %v, want an InvalidParamsError", err)
	}
	_, err := glue.NewFromConfig(cfg).CreateTable(ctx, &glue.CreateTableInput{DatabaseName: aws.String("db"),
		TableInput: &gluetypes.TableInput{StorageDescriptor: &gluetypes.StorageDescriptor{Columns: []gluetypes.Column{{Type: aws.String("int")}}}}})
	if !errors.As(err, &invalid) || !strings.Contains(err.Error(), "TableInput.Name") || !strings.Contains(err.Error(), "Columns[0].Name") {
		t.Errorf("CreateTable without the table's and a column's names: %v, want an InvalidParamsError naming both", err)
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("%d requests reached the server", n)
	}
	if reqs := rec.Requests(); len(reqs) != 0 {
		t.Errorf("the check saw %d requests the SDK refused", len(reqs))
	}
}

func testConfig(endpoint string) aws.Config {
	return aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(endpoint), RetryMaxAttempts: 1,
		Credentials: aws.NewCredentialsCache(aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "testing", SecretAccessKey: "testing"}, nil
		}))}
}

// TestModelViolations: what the checks catch, and that valid input passes.
func TestModelViolations(t *testing.T) {
	sqls := make([]string, 41)
	for i := range sqls {
		sqls[i] = "SELECT 1"
	}
	for _, c := range []struct {
		name, service, op string
		in                any
		want              []string // substrings, one per violation
	}{
		{"valid", "Redshift Data", "ExecuteStatement", &redshiftdata.ExecuteStatementInput{Sql: aws.String("SELECT 1"), Database: aws.String("dev"),
			Parameters: []rstypes.SqlParameter{{Name: aws.String("p1"), Value: aws.String("x")}}}, nil},
		{"empty list", "Redshift Data", "ExecuteStatement", &redshiftdata.ExecuteStatementInput{Sql: aws.String("SELECT 1"), Parameters: []rstypes.SqlParameter{}},
			[]string{"Parameters: items 0, the API Reference says at least 1"}},
		{"empty value", "Redshift Data", "ExecuteStatement", &redshiftdata.ExecuteStatementInput{Sql: aws.String("SELECT ?"),
			Parameters: []rstypes.SqlParameter{{Name: aws.String("p1"), Value: aws.String("")}}},
			[]string{"Parameters[0].Value: length 0, the API Reference says at least 1"}},
		{"list max", "Redshift Data", "BatchExecuteStatement", &redshiftdata.BatchExecuteStatementInput{Sqls: sqls}, []string{"Sqls: items 41, the API Reference says at most 40"}},
		{"list at max", "Redshift Data", "BatchExecuteStatement", &redshiftdata.BatchExecuteStatementInput{Sqls: sqls[:40]}, nil},
		{"enum", "Athena", "StartQueryExecution", &athena.StartQueryExecutionInput{QueryString: aws.String("SELECT 1"),
			ResultConfiguration: &athenatypes.ResultConfiguration{EncryptionConfiguration: &athenatypes.EncryptionConfiguration{EncryptionOption: "SSE_NONE"}}},
			[]string{"EncryptionOption: \"SSE_NONE\" is not one of"}},
		{"range", "Athena", "StartQueryExecution", &athena.StartQueryExecutionInput{QueryString: aws.String("SELECT 1"),
			ResultReuseConfiguration: &athenatypes.ResultReuseConfiguration{ResultReuseByAgeConfiguration: &athenatypes.ResultReuseByAgeConfiguration{Enabled: true, MaxAgeInMinutes: aws.Int32(20000)}}},
			[]string{"MaxAgeInMinutes: value 20000, the API Reference says at most 10080"}},
		{"execution parameter", "Athena", "StartQueryExecution", &athena.StartQueryExecutionInput{QueryString: aws.String("SELECT ?"), ExecutionParameters: []string{""}},
			[]string{"ExecutionParameters[0]: length 0"}},
		{"execution parameter length", "Athena", "StartQueryExecution", &athena.StartQueryExecutionInput{QueryString: aws.String("SELECT ?, ?"),
			ExecutionParameters: []string{strings.Repeat("é", 1024), strings.Repeat("é", 1025)}},
			[]string{"ExecutionParameters[1]: length 1025, the API Reference says at most 1024"}},
		{"nested range", "Glue", "GetPartitions", &glue.GetPartitionsInput{DatabaseName: aws.String("db"), TableName: aws.String("t"),
			Segment: &gluetypes.Segment{SegmentNumber: 0, TotalSegments: aws.Int32(11)}}, []string{"Segment.TotalSegments: value 11, the API Reference says at most 10"}},
		{"map key", "Glue", "CreateTable", &glue.CreateTableInput{DatabaseName: aws.String("db"), TableInput: &gluetypes.TableInput{Name: aws.String("t"),
			StorageDescriptor: &gluetypes.StorageDescriptor{Columns: []gluetypes.Column{{Name: aws.String("c"), Parameters: map[string]string{"": "x"}}}}}},
			[]string{`TableInput.StorageDescriptor.Columns[0].Parameters[""](key): length 0`}},
		{"bytes", "SFN", "SendTaskSuccess", &sfn.SendTaskSuccessInput{TaskToken: aws.String("t"), Output: aws.String(`"` + strings.Repeat("é", 131072) + `"`)},
			[]string{"Output: length in bytes 262146, the API Reference says at most 262144"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			vs, known := awsmodel.Validate(c.service, c.op, c.in)
			if !known {
				t.Fatalf("%s %s not covered", c.service, c.op)
			}
			if len(vs) != len(c.want) {
				t.Fatalf("violations %v, want %d: %q", vs, len(c.want), c.want)
			}
			for i, w := range c.want {
				if !strings.Contains(vs[i].String(), w) {
					t.Errorf("violation %q, want it to contain %q", vs[i], w)
				}
			}
		})
	}
	if _, known := awsmodel.Validate("S3", "PutBucketTagging", &s3.PutBucketTaggingInput{}); known {
		t.Error("an operation outside the check counted as known")
	}
}

// TestModelMiddleware: installed on an aws.Config, the recorder sees what a
// client sends, after the SDK filled in its idempotency tokens.
func TestModelMiddleware(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Write([]byte(`{"Id":"00000000-0000-0000-0000-000000000001"}`))
	}))
	defer srv.Close()
	rec := &awsmodel.Recorder{}
	cfg := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: aws.NewCredentialsCache(aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "testing", SecretAccessKey: "testing"}, nil
		}))}
	cfg.APIOptions = append(cfg.APIOptions, rec.APIOption())
	c := redshiftdata.NewFromConfig(cfg)
	if _, err := c.ExecuteStatement(context.Background(), &redshiftdata.ExecuteStatementInput{Sql: aws.String("SELECT 1"), ClusterIdentifier: aws.String("c"),
		Database: aws.String("dev"), Parameters: []rstypes.SqlParameter{}}); err != nil {
		t.Fatal(err)
	}
	reqs := rec.Requests()
	if len(reqs) != 1 || reqs[0].Service != "Redshift Data" || reqs[0].Operation != "ExecuteStatement" || !reqs[0].Checked {
		t.Fatalf("recorded %+v", reqs)
	}
	if in := reqs[0].Input.(*redshiftdata.ExecuteStatementInput); in.ClientToken == nil {
		t.Error("recorded before the SDK filled in ClientToken")
	}
	if vs := rec.Violations(); len(vs) != 1 || vs[0].Path != "Parameters" {
		t.Fatalf("violations %v", vs)
	}
}

// sdkIDs maps the SDK's Go package names to their service ids.
var sdkIDs = map[string]string{
	"s3": "S3", "glue": "Glue", "athena": "Athena", "redshiftdata": "Redshift Data",
	"sfn": "SFN", "lakeformation": "LakeFormation", "sts": "STS",
}

// TestModelCoversLakekitCalls: every operation lakekit's code calls (an SDK
// input type or paginator named outside tests) is covered by the check, so
// no request escapes it. A new call fails here: add it to operations in
// constraints.go, and the limits of the members it sets to the table.
func TestModelCoversLakekitCalls(t *testing.T) {
	re := regexp.MustCompile(`\b(s3|glue|athena|redshiftdata|sfn|lakeformation|sts)\.(?:New([A-Z][A-Za-z0-9]*)Paginator|([A-Z][A-Za-z0-9]*)Input)\b`)
	root := filepath.Join("..", "..")
	seen := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); n == "testdata" || n == "awsmodel" || strings.HasPrefix(n, ".") && path != root {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			op := m[2] + m[3]
			svc := sdkIDs[m[1]]
			seen++
			if !awsmodel.Covers(svc, op) {
				t.Errorf("%s calls %s %s, which the check does not cover (add it to operations in constraints.go)", path, svc, op)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen == 0 {
		t.Fatal("found no SDK calls in the module")
	}
}
