package awsmodel_test

import (
	"context"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
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
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/lakekit/lakekit/internal/awsmodel"
)

// inputs maps every operation of the vendored models to its SDK input type.
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

// TestModelCoversSDKInputs: every operation of the vendored models has its
// SDK input type listed here, and every member the model gives its input
// (recursively) is a field of the Go type, so no constraint is skipped
// because a name did not match.
func TestModelCoversSDKInputs(t *testing.T) {
	ms, err := awsmodel.Models()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for svc, m := range ms {
		for _, op := range m.Operations() {
			n++
			in, ok := inputs[svc+" "+op]
			if !ok {
				t.Errorf("%s %s: no SDK input type listed in this test", svc, op)
				continue
			}
			for _, missing := range awsmodel.UnmatchedMembers(svc, op, reflect.TypeOf(in)) {
				t.Errorf("%s %s: model member %s has no field in %T", svc, op, missing, in)
			}
		}
	}
	if n != len(inputs) {
		t.Errorf("the models cover %d operations, this test lists %d", n, len(inputs))
	}
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
			[]string{"Parameters: length 0, the model says at least 1"}},
		{"empty value", "Redshift Data", "ExecuteStatement", &redshiftdata.ExecuteStatementInput{Sql: aws.String("SELECT ?"),
			Parameters: []rstypes.SqlParameter{{Name: aws.String("p1"), Value: aws.String("")}}},
			[]string{"Parameters[0].value: length 0"}},
		{"required", "Redshift Data", "ExecuteStatement", &redshiftdata.ExecuteStatementInput{}, []string{"Sql: required member missing"}},
		{"list max", "Redshift Data", "BatchExecuteStatement", &redshiftdata.BatchExecuteStatementInput{Sqls: sqls}, []string{"Sqls: length 41, the model says at most 40"}},
		{"enum", "Athena", "StartQueryExecution", &athena.StartQueryExecutionInput{QueryString: aws.String("SELECT 1"),
			ResultConfiguration: &athenatypes.ResultConfiguration{EncryptionConfiguration: &athenatypes.EncryptionConfiguration{EncryptionOption: "SSE_NONE"}}},
			[]string{"EncryptionOption: \"SSE_NONE\" is not one of"}},
		{"range", "Athena", "StartQueryExecution", &athena.StartQueryExecutionInput{QueryString: aws.String("SELECT 1"),
			ResultReuseConfiguration: &athenatypes.ResultReuseConfiguration{ResultReuseByAgeConfiguration: &athenatypes.ResultReuseByAgeConfiguration{Enabled: true, MaxAgeInMinutes: aws.Int32(20000)}}},
			[]string{"MaxAgeInMinutes: value 20000, the model says at most 10080"}},
		{"execution parameter", "Athena", "StartQueryExecution", &athena.StartQueryExecutionInput{QueryString: aws.String("SELECT ?"), ExecutionParameters: []string{""}},
			[]string{"ExecutionParameters[0]: length 0"}},
		{"required by value", "Glue", "GetPartitions", &glue.GetPartitionsInput{DatabaseName: aws.String("db"), TableName: aws.String("t"),
			Segment: &gluetypes.Segment{SegmentNumber: 0, TotalSegments: aws.Int32(11)}}, []string{"Segment.TotalSegments: value 11, the model says at most 10"}},
		{"nested required", "Glue", "CreateTable", &glue.CreateTableInput{DatabaseName: aws.String("db")}, []string{"TableInput: required member missing"}},
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
	if _, known := awsmodel.Validate("S3", "PutBucketPolicy", &s3.PutBucketPolicyInput{}); known {
		t.Error("an operation outside the models counted as known")
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

// sdkIDs maps the SDK's Go package names to the models' service ids.
var sdkIDs = map[string]string{
	"s3": "S3", "glue": "Glue", "athena": "Athena", "redshiftdata": "Redshift Data",
	"sfn": "SFN", "lakeformation": "LakeFormation", "sts": "STS",
}

// TestModelCoversLakekitCalls: every operation lakekit's code calls (an SDK
// input type or paginator named outside tests) is in the vendored models,
// so no request escapes the check. A new call fails here: add it to
// trim.go's list and regenerate testdata.
func TestModelCoversLakekitCalls(t *testing.T) {
	ms, err := awsmodel.Models()
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`\b(s3|glue|athena|redshiftdata|sfn|lakeformation|sts)\.(?:New([A-Z][A-Za-z0-9]*)Paginator|([A-Z][A-Za-z0-9]*)Input)\b`)
	root := filepath.Join("..", "..")
	seen := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
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
			known := false
			for _, o := range ms[svc].Operations() {
				known = known || o == op
			}
			if !known {
				t.Errorf("%s calls %s %s, which the vendored models do not cover (add it to trim.go)", path, svc, op)
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
