package orchestrate

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lakekit/lakekit/lake/iam"
	"github.com/lakekit/lakekit/lake/iam/iamtest"
)

var (
	policyAcct  = iam.Account{Region: "eu-west-1", ID: "111122223333"}
	policyRoles = &PolicyOptions{ECSTaskRole: "arn:aws:iam::111122223333:role/lakekit-worker",
		ECSExecutionRole: "arn:aws:iam::111122223333:role/lakekit-worker-exec"}
)

const (
	keyRaw     = "arn:aws:kms:eu-west-1:111122223333:key/raw-key"
	keyCurated = "arn:aws:kms:eu-west-1:111122223333:key/curated-key"
)

// arn builds an ARN in policyAcct.
func arn(service, resource string) string {
	return fmt.Sprintf("arn:aws:%s:eu-west-1:111122223333:%s", service, resource)
}

// grants renders pol, checks it against the IAM grammar and that it names
// "*" only for actions without resource types in the Service
// Authorization Reference, and flattens it to resource → sorted actions.
func grants(t *testing.T, pol *iam.Policy) map[string][]string {
	t.Helper()
	raw, err := pol.JSON()
	if err != nil {
		t.Fatal(err)
	}
	if err := iam.Validate(raw); err != nil {
		t.Fatalf("rendered policy breaks the grammar: %v\n%s", err, raw)
	}
	var doc iam.Document
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, st := range doc.Statement {
		if st.Effect != "Allow" {
			t.Errorf("statement %s: effect %s", st.Sid, st.Effect)
		}
		for _, r := range st.Resource {
			if r == "*" && slices.ContainsFunc(st.Action, func(a string) bool { _, row, ok := iamtest.SAR().Lookup(a); return !ok || len(row.ResourceTypes) > 0 }) {
				t.Errorf("statement %s grants %v on every resource", st.Sid, st.Action)
			}
			out[r] = append(out[r], st.Action...)
		}
	}
	for r := range out {
		sort.Strings(out[r])
		out[r] = slices.Compact(out[r])
	}
	return out
}

// allKinds has a step of every kind, with Go, Map, SQL, crawler and Glue
// steps nested in Parallel branches too.
func allKinds() *Pipeline {
	return New("orders",
		PassStep("cfg", map[string]string{"day": "2024-05-01"}),
		GoStep("extract", nop).After("cfg").
			Reads("s3://acme-lake/raw/orders/").
			Writes("s3://acme-lake/cleaned/orders/", "glue://cleaned/orders").
			KMS(iam.Read, keyRaw).KMS(iam.ReadWrite, keyCurated),
		MapStep("per-day", "extract", "days", nop).
			Reads("s3://acme-lake/cleaned/orders/").
			Writes("s3://acme-lake/curated/orders_daily/"),
		SQLStep("compact", "INSERT INTO curated.orders SELECT * FROM cleaned.orders").After("per-day").
			Athena("cleaned", "analytics", "s3://acme-results/athena/").
			Reads("s3://acme-lake/cleaned/orders/", "glue://cleaned/orders").
			Writes("s3://acme-lake/curated/orders/", "glue://curated/orders").
			KMS(iam.ReadWrite, keyCurated),
		ChoiceStep("big", "", Rule{Step: "cfg", Field: "day", Op: StringEquals, Value: "2024-05-01", Next: "publish"}),
		ParallelStep("publish",
			New("to-glue", GlueJobStep("export", "export_orders", nil), CrawlerStep("crawl", "curated-crawler").After("export")),
			New("to-reports", WaitStep("settle", time.Second),
				SQLStep("report", "SELECT count(*) FROM orders").After("settle").Reads("glue://reports/*"),
				GoStep("notify", nop).After("report").Writes("s3://acme-lake/_reports/"),
				MapStep("fanout", "report", "", nop).Reads("glue://reports/daily")),
		).After("compact"),
	)
}

var allOpts = &CompileOptions{ECS: &ECSOptions{Cluster: "arn:aws:ecs:eu-west-1:111122223333:cluster/lake", TaskDefinition: "lakekit-worker:3",
	ContainerName: "worker"}, AthenaDatabase: "reports", AthenaWorkGroup: "reporting", AthenaOutputLocation: "s3://acme-results/reports/"}

func TestStateMachinePolicyEveryKind(t *testing.T) {
	pol, err := StateMachinePolicy(allKinds(), allOpts, policyAcct, policyRoles)
	if err != nil {
		t.Fatal(err)
	}
	got := grants(t, pol)
	glueRead := []string{"glue:BatchGetPartition", "glue:GetDatabase", "glue:GetPartition", "glue:GetPartitions", "glue:GetTable",
		"glue:GetTableVersions", "glue:GetTables"}
	glueWrite := slices.Sorted(slices.Values(append(slices.Clone(glueRead), "glue:BatchCreatePartition", "glue:BatchDeletePartition",
		"glue:BatchUpdatePartition", "glue:CreateDatabase", "glue:CreatePartition", "glue:CreatePartitionIndex", "glue:CreateTable",
		"glue:UpdatePartition", "glue:UpdateTable")))
	want := map[string][]string{
		// Go and Map steps on ECS (.sync), in the main chain and in a branch
		arn("ecs", "task-definition/lakekit-worker:3"):             {"ecs:RunTask"},
		arn("ecs", "task/lake/*"):                                  {"ecs:DescribeTasks", "ecs:StopTask"},
		arn("events", "rule/StepFunctionsGetEventsForECSTaskRule"): {"events:DescribeRule", "events:PutRule", "events:PutTargets"},
		policyRoles.ECSTaskRole:                                    {"iam:PassRole"},
		policyRoles.ECSExecutionRole:                               {"iam:PassRole"},
		// the SQL steps: compact (own workgroup, database and results) and report (the defaults, in a branch)
		arn("athena", "workgroup/analytics"):        {"athena:GetQueryExecution", "athena:StartQueryExecution", "athena:StopQueryExecution"},
		arn("athena", "workgroup/reporting"):        {"athena:GetQueryExecution", "athena:StartQueryExecution", "athena:StopQueryExecution"},
		arn("athena", "datacatalog/AwsDataCatalog"): {"athena:GetDataCatalog"},
		"*":                                       {"lakeformation:GetDataAccess"}, // Lake Formation-governed tables
		"arn:aws:s3:::acme-results/athena/*":      {"s3:AbortMultipartUpload", "s3:GetObject", "s3:ListMultipartUploadParts", "s3:PutObject"},
		"arn:aws:s3:::acme-results/reports/*":     {"s3:AbortMultipartUpload", "s3:GetObject", "s3:ListMultipartUploadParts", "s3:PutObject"},
		"arn:aws:s3:::acme-results":               {"s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"},
		"arn:aws:s3:::acme-lake/cleaned/orders/*": {"s3:GetObject"},
		"arn:aws:s3:::acme-lake/curated/orders/*": {"s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject", "s3:PutObject"},
		"arn:aws:s3:::acme-lake":                  {"s3:GetBucketLocation", "s3:ListBucket"},
		arn("glue", "catalog"):                    glueWrite,
		arn("glue", "database/cleaned"):           glueRead,
		arn("glue", "table/cleaned/orders"):       glueRead,
		arn("glue", "database/curated"):           glueWrite,
		arn("glue", "table/curated/orders"):       glueWrite,
		arn("glue", "database/reports"):           glueRead,
		arn("glue", "table/reports/*"):            glueRead,
		keyCurated:                                {"kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey", "kms:ReEncrypt*"},
		// the Glue job and the crawler, in a branch
		arn("glue", "job/export_orders"):       {"glue:BatchStopJobRun", "glue:GetJobRun", "glue:GetJobRuns", "glue:StartJobRun"},
		arn("glue", "crawler/curated-crawler"): {"glue:GetCrawler", "glue:StartCrawler"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("state machine grants (-want +got):\n%s", diff)
	}
	// The statements group resources by what they allow, so a merged
	// statement must not widen a read into a write: only the written
	// prefixes get s3:PutObject, only the written tables glue:UpdateTable.
	doc, _ := pol.Document()
	for _, st := range doc.Statement {
		if slices.Contains(st.Action, "s3:PutObject") || slices.Contains(st.Action, "glue:UpdateTable") {
			for _, r := range st.Resource {
				if slices.Contains([]string{"arn:aws:s3:::acme-lake/cleaned/orders/*", arn("glue", "database/cleaned"), arn("glue", "table/cleaned/orders"),
					arn("glue", "database/reports"), arn("glue", "table/reports/*")}, r) {
					t.Errorf("statement %s lets the state machine write %s, which it only reads", st.Sid, r)
				}
			}
		}
	}
}

func TestWorkerPolicy(t *testing.T) {
	pol, err := WorkerPolicy(allKinds(), allOpts, policyAcct)
	if err != nil {
		t.Fatal(err)
	}
	got := grants(t, pol)
	glueRead := []string{"glue:BatchGetPartition", "glue:GetDatabase", "glue:GetPartition", "glue:GetPartitions", "glue:GetTable",
		"glue:GetTableVersions", "glue:GetTables"}
	glueWrite := slices.Sorted(slices.Values(append(slices.Clone(glueRead), "glue:BatchCreatePartition", "glue:BatchDeletePartition",
		"glue:BatchUpdatePartition", "glue:CreateDatabase", "glue:CreatePartition", "glue:CreatePartitionIndex", "glue:CreateTable",
		"glue:UpdatePartition", "glue:UpdateTable")))
	write := []string{"s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject", "s3:PutObject"}
	want := map[string][]string{
		"arn:aws:s3:::acme-lake/raw/orders/*":           {"s3:GetObject"},
		"arn:aws:s3:::acme-lake/cleaned/orders/*":       write,
		"arn:aws:s3:::acme-lake/curated/orders_daily/*": write,
		"arn:aws:s3:::acme-lake/_reports/*":             write, // a Go step in a Parallel branch
		"arn:aws:s3:::acme-lake":                        {"s3:ListBucket"},
		arn("glue", "catalog"):                          glueWrite,
		arn("glue", "database/cleaned"):                 glueWrite,
		arn("glue", "table/cleaned/orders"):             glueWrite,
		arn("glue", "database/reports"):                 glueRead, // a Map step in a Parallel branch
		arn("glue", "table/reports/daily"):              glueRead,
		keyRaw:                                          {"kms:Decrypt", "kms:DescribeKey"},
		keyCurated:                                      {"kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey", "kms:ReEncrypt*"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("worker grants (-want +got):\n%s", diff)
	}
	// Listing is limited to the declared prefixes.
	doc, _ := pol.Document()
	var listing map[string]any
	for _, st := range doc.Statement {
		if slices.Contains(st.Action, "s3:ListBucket") {
			listing = st.Condition
		}
	}
	wantListing := map[string]any{"StringLike": map[string]any{"s3:prefix": []string{"_reports/*", "cleaned/orders/*", "curated/orders_daily/*", "raw/orders/*"}}}
	if diff := cmp.Diff(wantListing, listing); diff != "" {
		t.Errorf("listing condition (-want +got):\n%s", diff)
	}

	// Reporting through task tokens needs SendTaskSuccess, Failure and
	// Heartbeat, and only then. They have no resource types, so they are
	// granted on "*" (on the state machine's ARN they would be denied).
	tokOpts := *allOpts
	tokOpts.ECS = &ECSOptions{Cluster: "lake", TaskDefinition: "lakekit-worker", ContainerName: "worker", WaitForTaskToken: true}
	pol, err = WorkerPolicy(allKinds(), &tokOpts, policyAcct)
	if err != nil {
		t.Fatal(err)
	}
	got = grants(t, pol)
	if diff := cmp.Diff([]string{"states:SendTaskFailure", "states:SendTaskHeartbeat", "states:SendTaskSuccess"}, got["*"]); diff != "" {
		t.Errorf("task-token worker (-want +got):\n%s", diff)
	}
	for _, o := range []*CompileOptions{allOpts, {Lambda: &LambdaOptions{FunctionName: "lakekit-worker"}}} {
		pol, err := WorkerPolicy(allKinds(), o, policyAcct)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := pol.JSON()
		if strings.Contains(string(raw), "states:") {
			t.Errorf("a worker that does not use task tokens may report task results:\n%s", raw)
		}
	}
}

func TestTaskTokenStateMachine(t *testing.T) {
	o := &CompileOptions{ECS: &ECSOptions{Cluster: "lake", TaskDefinition: "lakekit-worker", ContainerName: "worker", WaitForTaskToken: true}}
	pol, err := StateMachinePolicy(New("tok", GoStep("a", nop)), o, policyAcct, &PolicyOptions{ECSTaskRole: policyRoles.ECSTaskRole})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		arn("ecs", "task-definition/lakekit-worker:*"): {"ecs:RunTask"},
		policyRoles.ECSTaskRole:                        {"iam:PassRole"},
	}
	if diff := cmp.Diff(want, grants(t, pol)); diff != "" {
		t.Errorf(".waitForTaskToken grants (-want +got):\n%s", diff)
	}
}

func TestLeastPrivilege(t *testing.T) {
	noSQL := New("nosql",
		GoStep("extract", nop).Reads("s3://acme-lake/raw/"),
		MapStep("each", "extract", "", nop).Writes("s3://acme-lake/cleaned/"),
		GlueJobStep("export", "export_orders", nil).After("each"))
	lambda := &CompileOptions{Lambda: &LambdaOptions{FunctionName: "lakekit-worker:live"}}
	pol, err := StateMachinePolicy(noSQL, lambda, policyAcct, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		arn("lambda", "function:lakekit-worker:live"): {"lambda:InvokeFunction"},
		arn("glue", "job/export_orders"):              {"glue:BatchStopJobRun", "glue:GetJobRun", "glue:GetJobRuns", "glue:StartJobRun"},
	}
	if diff := cmp.Diff(want, grants(t, pol)); diff != "" {
		t.Errorf("a pipeline without SQL steps (-want +got):\n%s", diff)
	}
	raw, _ := pol.JSON()
	for _, absent := range []string{"athena:", "s3:", "ecs:", "events:", "iam:PassRole", "glue:StartCrawler", "acme-lake"} {
		if strings.Contains(string(raw), absent) {
			t.Errorf("state machine policy without SQL, ECS or crawler steps grants %s:\n%s", absent, raw)
		}
	}
	// Without any Task state, nothing is granted, which is not a policy.
	if _, err := StateMachinePolicy(New("idle", PassStep("p", 1), WaitStep("w", time.Second).After("p")), nil, policyAcct, nil); !errors.Is(err, iam.ErrInvalid) {
		t.Errorf("a pipeline of Pass and Wait steps: %v, want iam.ErrInvalid (grants nothing)", err)
	}
	// The worker reads what it reads and no more.
	pol, err = WorkerPolicy(noSQL, lambda, policyAcct)
	if err != nil {
		t.Fatal(err)
	}
	got := grants(t, pol)
	if diff := cmp.Diff([]string{"s3:GetObject"}, got["arn:aws:s3:::acme-lake/raw/*"]); diff != "" {
		t.Errorf("read-only prefix (-want +got):\n%s", diff)
	}
	for r, acts := range got {
		if strings.HasPrefix(r, "arn:aws:glue") || strings.HasPrefix(r, "arn:aws:lambda") || slices.ContainsFunc(acts, func(a string) bool { return strings.HasPrefix(a, "kms:") }) {
			t.Errorf("worker granted %v on %s, which no step declared", acts, r)
		}
	}
}

func TestPolicyBadDeclarations(t *testing.T) {
	lambda := &CompileOptions{Lambda: &LambdaOptions{FunctionName: "w"}, AthenaOutputLocation: "s3://results/"}
	cases := []struct {
		name     string
		p        *Pipeline
		opts     *CompileOptions
		po       *PolicyOptions
		mentions []string
	}{
		{"file location", New("p", GoStep("load", nop).Reads("file:///tmp/lake")), lambda, nil, []string{`"load"`, `"file:///tmp/lake"`, "s3://bucket/prefix"}},
		{"bucket", New("p", GoStep("load", nop).Writes("s3://Bad_Bucket/x/")), lambda, nil, []string{`"load"`, `"Bad_Bucket"`, "write location"}},
		{"wildcard", New("p", GoStep("load", nop).Reads("s3://lake/raw/*")), lambda, nil, []string{`"load"`, "wildcards"}},
		{"glue database only", New("p", SQLStep("q", "SELECT 1").Reads("glue://web")), lambda, nil, []string{`"q"`, `"glue://web"`, "glue://database/table"}},
		{"glue upper case", New("p", GoStep("load", nop).Writes("glue://web/Clicks")), lambda, nil, []string{`"load"`, `"Clicks"`}},
		{"kms", New("p", GoStep("load", nop).KMS(iam.Read, "alias/lake")), lambda, nil, []string{`"load"`, `"alias/lake"`}},
		{"kms access", New("p", GoStep("load", nop).KMS(iam.Access(7), keyRaw)), lambda, nil, []string{`"load"`, "unknown access"}},
		{"kms alias ARN", New("p", GoStep("load", nop).KMS(iam.Read, "arn:aws:kms:eu-west-1:111122223333:alias/lake")), lambda, nil,
			[]string{`"load"`, "alias/lake", "key ARN"}},
		{"nested", New("p", ParallelStep("par", New("b", MapStep("m", "g", "", nop).Reads("gs://x/y"), GoStep("g", nop)))), lambda, nil,
			[]string{`"m"`, `"gs://x/y"`}},
		{"glue job", New("p", GlueJobStep("job", "etl", nil).Reads("s3://lake/raw/")), lambda, nil, []string{`"job"`, "Glue job's own role"}},
		{"crawler", New("p", CrawlerStep("crawl", "c").Writes("glue://web/clicks")), lambda, nil, []string{`"crawl"`, "crawler's own role"}},
		{"wait", New("p", WaitStep("w", time.Second).Reads("s3://lake/raw/")), lambda, nil, []string{`"w"`, "touches no data"}},
		{"no task role", New("p", GoStep("a", nop)), ecsOpts, nil, []string{"ECSTaskRole"}},
		{"no output location", New("p", SQLStep("q", "SELECT 1")), nil, nil, []string{`"q"`, "AthenaOutputLocation"}},
		{"invalid pipeline", New("p", GoStep("a", nop).After("ghost")), lambda, nil, []string{`"ghost"`}},
	}
	for _, c := range cases {
		_, err := StateMachinePolicy(c.p, c.opts, policyAcct, c.po)
		if !errors.Is(err, ErrInvalidPipeline) {
			t.Errorf("%s: %v, want ErrInvalidPipeline", c.name, err)
			continue
		}
		for _, m := range c.mentions {
			if !strings.Contains(err.Error(), m) {
				t.Errorf("%s: error %q does not mention %s", c.name, err, m)
			}
		}
	}
	// The worker policy reports bad declarations as well.
	if _, err := WorkerPolicy(New("p", GoStep("load", nop).Reads("s3://lake/raw/", "https://lake/raw")), lambda, policyAcct); !errors.Is(err, ErrInvalidPipeline) ||
		!strings.Contains(err.Error(), `"https://lake/raw"`) {
		t.Errorf("worker policy with a bad location: %v", err)
	}
	if _, err := WorkerPolicy(New("p", SQLStep("q", "SELECT 1")), lambda, policyAcct); !errors.Is(err, ErrInvalidPipeline) || !strings.Contains(err.Error(), "no Go or Map steps") {
		t.Errorf("worker policy of a pipeline without Go steps: %v", err)
	}
	// Names the ARNs cannot hold, and a bad account, are iam.ErrInvalid.
	for name, c := range map[string]struct {
		opts *CompileOptions
		acct iam.Account
	}{
		"function": {&CompileOptions{Lambda: &LambdaOptions{FunctionName: "123:function:w"}}, policyAcct},
		"cluster":  {&CompileOptions{ECS: &ECSOptions{Cluster: "my/cluster", TaskDefinition: "td", ContainerName: "c"}}, policyAcct},
		"account":  {lambda, iam.Account{Region: "eu-west-1", ID: "42"}},
	} {
		if _, err := StateMachinePolicy(New("p", GoStep("a", nop)), c.opts, c.acct, policyRoles); !errors.Is(err, iam.ErrInvalid) {
			t.Errorf("%s: %v, want iam.ErrInvalid", name, err)
		}
	}
}

// integrationActions lists, per service integration the compiler emits,
// the IAM actions Step Functions documents for it ("IAM policies for
// integrated services" in the Step Functions developer guide) and the ARN
// each applies to, from the Task state's parameters. A Task whose Resource
// is missing here fails TestPolicyCoversCompiledTasks: a new kind of step
// needs its policy before it compiles.
var integrationActions = map[string]func(prm map[string]any) map[string][]string{
	ResourceLambda: func(prm map[string]any) map[string][]string {
		return map[string][]string{arn("lambda", "function:"+prm["FunctionName"].(string)): {"lambda:InvokeFunction"}}
	},
	ResourceECSSync: func(prm map[string]any) map[string][]string {
		m := ecsRun(prm)
		m[arn("ecs", "task/lake/*")] = []string{"ecs:StopTask", "ecs:DescribeTasks"}
		m[arn("events", "rule/StepFunctionsGetEventsForECSTaskRule")] = []string{"events:PutTargets", "events:PutRule", "events:DescribeRule"}
		return m
	},
	ResourceECSToken: ecsRun,
	ResourceAthenaSync: func(prm map[string]any) map[string][]string {
		wg, _ := prm["WorkGroup"].(string)
		if wg == "" {
			wg = "primary"
		}
		out := strings.TrimPrefix(prm["ResultConfiguration"].(map[string]any)["OutputLocation"].(string), "s3://")
		bucket, prefix, _ := strings.Cut(out, "/")
		if prefix != "" && !strings.HasSuffix(prefix, "/") {
			prefix += "/"
		}
		m := map[string][]string{
			arn("athena", "workgroup/"+wg):              {"athena:StartQueryExecution", "athena:StopQueryExecution", "athena:GetQueryExecution"},
			arn("athena", "datacatalog/AwsDataCatalog"): {"athena:GetDataCatalog"},
			"*": {"lakeformation:GetDataAccess"},
			"arn:aws:s3:::" + bucket + "/" + prefix + "*": {"s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"},
			"arn:aws:s3:::" + bucket:                      {"s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"},
		}
		if ctx, ok := prm["QueryExecutionContext"].(map[string]any); ok {
			db := ctx["Database"].(string)
			m[arn("glue", "database/"+db)] = []string{"glue:GetDatabase", "glue:GetTable", "glue:GetPartitions"}
			m[arn("glue", "catalog")] = []string{"glue:GetDatabase", "glue:GetTable", "glue:GetPartitions"}
		}
		return m
	},
	ResourceGlueJobSync: func(prm map[string]any) map[string][]string {
		return map[string][]string{arn("glue", "job/"+prm["JobName"].(string)): {"glue:StartJobRun", "glue:GetJobRun", "glue:GetJobRuns", "glue:BatchStopJobRun"}}
	},
	ResourceStartCrawler: func(prm map[string]any) map[string][]string {
		return map[string][]string{arn("glue", "crawler/"+prm["Name"].(string)): {"glue:StartCrawler"}}
	},
	ResourceGetCrawler: func(prm map[string]any) map[string][]string {
		return map[string][]string{arn("glue", "crawler/"+prm["Name"].(string)): {"glue:GetCrawler"}}
	},
}

func ecsRun(prm map[string]any) map[string][]string {
	td := prm["TaskDefinition"].(string)
	if !strings.Contains(td, ":") {
		td += ":*"
	}
	return map[string][]string{
		arn("ecs", "task-definition/"+td): {"ecs:RunTask"},
		policyRoles.ECSTaskRole:           {"iam:PassRole"},
		policyRoles.ECSExecutionRole:      {"iam:PassRole"},
	}
}

// tasks walks a compiled definition (its own walk, not the policy's) and
// returns every Task state's name, Resource and Parameters.
func tasks(t *testing.T, states map[string]any, out map[string]map[string]any) {
	t.Helper()
	for name, v := range states {
		st := v.(map[string]any)
		switch st["Type"] {
		case "Task":
			out[name] = st
		case "Map":
			tasks(t, st["ItemProcessor"].(map[string]any)["States"].(map[string]any), out)
		case "Parallel":
			for _, b := range st["Branches"].([]any) {
				tasks(t, b.(map[string]any)["States"].(map[string]any), out)
			}
		}
	}
}

func TestPolicyCoversCompiledTasks(t *testing.T) {
	type tc struct {
		name string
		p    *Pipeline
		opts *CompileOptions
	}
	cases := []tc{{"all kinds", allKinds(), allOpts}}
	for _, o := range []*CompileOptions{ecsTokenOpts, {Lambda: &LambdaOptions{FunctionName: "lakekit-worker"}}} {
		o := *o
		o.AthenaOutputLocation = "s3://acme-results/"
		cases = append(cases, tc{"all kinds " + fmt.Sprint(o.ECS != nil), allKinds(), &o})
	}
	for _, c := range aslCases() {
		o := CompileOptions{AthenaOutputLocation: "s3://acme-results/x"}
		if c.opts != nil {
			o = *c.opts
			o.AthenaOutputLocation = firstNonEmpty(o.AthenaOutputLocation, "s3://acme-results/x")
		}
		if o.Lambda != nil {
			o.Lambda = &LambdaOptions{FunctionName: "lakekit-worker"} // a name in policyAcct
		}
		cases = append(cases, tc{c.name, c.p, &o})
	}
	seen := map[string]bool{}
	for _, c := range cases {
		def, err := Compile(c.p, c.opts)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var d struct{ States map[string]any }
		if err := json.Unmarshal(def, &d); err != nil {
			t.Fatal(err)
		}
		ts := map[string]map[string]any{}
		tasks(t, d.States, ts)
		pol, err := StateMachinePolicy(c.p, c.opts, policyAcct, policyRoles)
		if len(ts) == 0 {
			if !errors.Is(err, iam.ErrInvalid) {
				t.Errorf("%s: no Task states, yet policy error %v", c.name, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		got := grants(t, pol)
		for name, st := range ts {
			res := st["Resource"].(string)
			seen[res] = true
			want, ok := integrationActions[res]
			if !ok {
				t.Errorf("%s: state %q uses %s, which this test (and maybe StateMachinePolicy) does not know the IAM actions of", c.name, name, res)
				continue
			}
			prm, _ := st["Parameters"].(map[string]any)
			for r, acts := range want(prm) {
				for _, a := range acts {
					if !slices.Contains(got[r], a) {
						t.Errorf("%s: state %q (%s) needs %s on %s; the policy grants %v", c.name, name, res, a, r, got[r])
					}
				}
			}
		}
	}
	for res := range integrationActions {
		if !seen[res] {
			t.Errorf("no compiled pipeline used %s: the consistency check missed it", res)
		}
	}
}

func TestDeployPolicyBadInput(t *testing.T) {
	role := "arn:aws:iam::111122223333:role/orders-sfn"
	if _, err := DeployPolicy(allKinds(), policyAcct, "orders-sfn"); !errors.Is(err, iam.ErrInvalid) || !strings.Contains(err.Error(), `"orders-sfn"`) {
		t.Errorf("a role name instead of an ARN: %v, want iam.ErrInvalid naming it", err)
	}
	if _, err := DeployPolicy(New("p", GoStep("a", nop).After("ghost")), policyAcct, role); !errors.Is(err, ErrInvalidPipeline) {
		t.Errorf("an invalid pipeline: %v, want ErrInvalidPipeline", err)
	}
	if _, err := DeployPolicy(allKinds(), iam.Account{Region: "eu-west-1", ID: "42"}, role); !errors.Is(err, iam.ErrInvalid) {
		t.Errorf("a bad account: %v, want iam.ErrInvalid", err)
	}
}
