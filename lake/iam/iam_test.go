package iam_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lakekit/lakekit/lake/iam"
)

var acct = iam.Account{Region: "eu-west-1", ID: "111122223333"}

// checkGrammar validates the IAM policy grammar basics.
func checkGrammar(t *testing.T, raw []byte) map[string]any {
	t.Helper()
	if err := iam.Validate(raw); err != nil {
		t.Fatalf("iam.Validate: %v", err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	if doc["Version"] != "2012-10-17" {
		t.Fatalf("Version %v", doc["Version"])
	}
	sts, ok := doc["Statement"].([]any)
	if !ok || len(sts) == 0 {
		t.Fatal("no Statement list")
	}
	action := regexp.MustCompile(`^[a-z0-9-]+:[A-Za-z*]+$`)
	arn := regexp.MustCompile(`^arn:aws(-[a-z]+)*:[a-z0-9-]+:([a-z0-9-]*):(\d{12})?:.+$`)
	sids := map[string]bool{}
	for _, s := range sts {
		st := s.(map[string]any)
		sid, _ := st["Sid"].(string)
		if !regexp.MustCompile(`^[A-Za-z0-9]+$`).MatchString(sid) || sids[sid] {
			t.Errorf("Sid %q invalid or repeated", sid)
		}
		sids[sid] = true
		if e := st["Effect"]; e != "Allow" && e != "Deny" {
			t.Errorf("Effect %v", e)
		}
		for _, a := range st["Action"].([]any) {
			if !action.MatchString(a.(string)) {
				t.Errorf("action %q malformed", a)
			}
		}
		for _, r := range st["Resource"].([]any) {
			if r != "*" && !arn.MatchString(r.(string)) {
				t.Errorf("resource %q is not a well-formed ARN", r)
			}
		}
		for k := range st {
			switch k {
			case "Sid", "Effect", "Action", "Resource", "Condition":
			default:
				t.Errorf("unknown statement element %q", k)
			}
		}
	}
	return doc
}

func TestPipelinePolicy(t *testing.T) {
	p := iam.NewPolicy(acct).
		ReadPrefix("s3://acme-lake/prod/raw/web/").
		WritePrefix("s3://acme-lake/prod/cleaned/web/").
		WritePrefix("s3://acme-lake/prod/curated/web").
		Catalog(iam.ReadWrite, "web", "clicks", "clicks_daily").
		KMS(iam.ReadWrite, "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab").
		Athena("analytics").
		StepFunctions("clicks-pipeline").
		DeployStateMachine("clicks-pipeline", "arn:aws:iam::111122223333:role/clicks-sfn").
		GlueJob("legacy_etl")
	raw, err := p.JSON()
	if err != nil {
		t.Fatal(err)
	}
	checkGrammar(t, raw)
	s := string(raw)
	for _, want := range []string{
		`"arn:aws:s3:::acme-lake/prod/raw/web/*"`,
		`"arn:aws:s3:::acme-lake/prod/curated/web/*"`,
		`"s3:PutObject"`, `"glue:BatchCreatePartition"`,
		`"arn:aws:glue:eu-west-1:111122223333:table/web/clicks_daily"`,
		`"arn:aws:athena:eu-west-1:111122223333:workgroup/analytics"`,
		`"arn:aws:states:eu-west-1:111122223333:execution:clicks-pipeline:*"`,
		`"prod/raw/web/*"`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("policy lacks %s", want)
		}
	}
	// least privilege: the read-only raw prefix is never writable
	doc, _ := p.Document()
	for _, st := range doc.Statement {
		if st.Sid == "WriteObjects" {
			for _, r := range st.Resource {
				if strings.Contains(r, "/raw/") {
					t.Errorf("write access to the read-only prefix %s", r)
				}
			}
		}
	}
	again, _ := p.JSON()
	if string(again) != s {
		t.Error("rendering is not deterministic")
	}
}

func TestReadOnlyPolicy(t *testing.T) {
	raw, err := iam.NewPolicy(acct).ReadPrefix("s3://acme-lake/curated/").Catalog(iam.Read, "web").JSON()
	if err != nil {
		t.Fatal(err)
	}
	checkGrammar(t, raw)
	for _, bad := range []string{"s3:PutObject", "s3:DeleteObject", "glue:UpdateTable", "kms:"} {
		if strings.Contains(string(raw), bad) {
			t.Errorf("read-only policy grants %s", bad)
		}
	}
}

func TestBadInput(t *testing.T) {
	cases := map[string]*iam.Policy{
		"file location": iam.NewPolicy(acct).ReadPrefix("file:///tmp/lake"),
		"bucket":        iam.NewPolicy(acct).ReadPrefix("s3://Bad_Bucket/x"),
		"wildcard":      iam.NewPolicy(acct).ReadPrefix("s3://bucket/a*"),
		"database":      iam.NewPolicy(acct).Catalog(iam.Read, "Web-DB"),
		"kms":           iam.NewPolicy(acct).KMS(iam.Read, "alias/lake"),
		"account":       iam.NewPolicy(iam.Account{Region: "eu-west-1", ID: "12"}).ReadPrefix("s3://bucket/x/"),
		"region":        iam.NewPolicy(iam.Account{Region: "Europe", ID: "111122223333"}).ReadPrefix("s3://bucket/x/"),
		"state machine": iam.NewPolicy(acct).StepFunctions("has space"),
		"empty":         iam.NewPolicy(acct),
	}
	for name, p := range cases {
		if _, err := p.JSON(); !errors.Is(err, iam.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
}

func TestValidate(t *testing.T) {
	good := map[string]string{
		"list":                      `{"Version":"2012-10-17","Statement":[{"Sid":"A1","Effect":"Allow","Action":["s3:GetObject"],"Resource":["arn:aws:s3:::b/p/*"]}]}`,
		"single statement, strings": `{"Version":"2012-10-17","Statement":{"Effect":"Deny","NotAction":"iam:*","Resource":"*"}}`,
		"condition": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:PassRole","Resource":"arn:aws:iam::111122223333:role/r",
			"Condition":{"StringEquals":{"iam:PassedToService":"ecs-tasks.amazonaws.com"},"Bool":{"aws:SecureTransport":true}}}]}`,
		"wildcard ARN": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"glue:GetTable","Resource":"arn:aws:glue:*:*:table/db/*"}]}`,
		"china":        `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:ReEncrypt*","Resource":"arn:aws-cn:kms:cn-north-1:111122223333:key/k"}]}`,
	}
	for name, doc := range good {
		if err := iam.Validate([]byte(doc)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	bad := map[string]struct{ doc, mention string }{
		"not JSON":        {`{"Version":`, "not a JSON object"},
		"version":         {`{"Version":"2020-01-01","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`, `"2020-01-01"`},
		"no version":      {`{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`, "Version is missing"},
		"no statement":    {`{"Version":"2012-10-17"}`, "no Statement"},
		"empty statement": {`{"Version":"2012-10-17","Statement":[]}`, "Statement is empty"},
		"effect":          {`{"Version":"2012-10-17","Statement":[{"Effect":"allow","Action":"s3:GetObject","Resource":"*"}]}`, `"allow"`},
		"action":          {`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"GetObject","Resource":"*"}]}`, `"GetObject"`},
		"empty actions":   {`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":[],"Resource":"*"}]}`, "non-empty list"},
		"no action":       {`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Resource":"*"}]}`, "no Action"},
		"both actions":    {`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:A","NotAction":"s3:B","Resource":"*"}]}`, "both Action and NotAction"},
		"resource":        {`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"bucket/key"}]}`, `"bucket/key"`},
		"short ARN":       {`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::"}]}`, `"arn:aws:s3:::"`},
		"account":         {`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"glue:GetTable","Resource":"arn:aws:glue:eu-west-1:1234:table/a/b"}]}`, "1234"},
		"no resource":     {`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject"}]}`, "no Resource"},
		"principal":       {`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*"}]}`, `"Principal"`},
		"sid":             {`{"Version":"2012-10-17","Statement":[{"Sid":"a b","Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`, `"a b"`},
		"repeated sid": {`{"Version":"2012-10-17","Statement":[{"Sid":"A","Effect":"Allow","Action":"s3:GetObject","Resource":"*"},
			{"Sid":"A","Effect":"Allow","Action":"s3:PutObject","Resource":"*"}]}`, "used twice"},
		"condition":   {`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*","Condition":{"StringLike":"x"}}]}`, "Condition"},
		"cond values": {`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*","Condition":{"StringLike":{"s3:prefix":[]}}}]}`, "s3:prefix"},
		"top element": {`{"Version":"2012-10-17","Statment":[]}`, `"Statment"`},
	}
	for name, c := range bad {
		err := iam.Validate([]byte(c.doc))
		if !errors.Is(err, iam.ErrMalformed) {
			t.Errorf("%s: %v, want ErrMalformed", name, err)
			continue
		}
		if !strings.Contains(err.Error(), c.mention) {
			t.Errorf("%s: error %q does not mention %s", name, err, c.mention)
		}
	}
}

// actionsByResource flattens a document to resource → sorted actions.
func actionsByResource(t *testing.T, p *iam.Policy) map[string][]string {
	t.Helper()
	raw, err := p.JSON()
	if err != nil {
		t.Fatal(err)
	}
	checkGrammar(t, raw)
	doc, _ := p.Document()
	out := map[string][]string{}
	for _, st := range doc.Statement {
		for _, r := range st.Resource {
			out[r] = append(out[r], st.Action...)
		}
	}
	for r := range out {
		sort.Strings(out[r])
	}
	return out
}

func TestServiceIntegrationGrants(t *testing.T) {
	p := iam.NewPolicy(acct).
		LambdaInvoke("worker").
		LambdaInvoke("arn:aws:lambda:us-east-1:444455556666:function:other:live").
		ECSTask("arn:aws:ecs:eu-west-1:111122223333:cluster/lake", "lakekit-worker", true).
		ECSTask("batch", "lakekit-worker:7", false).
		ECSTask("arn:aws:ecs:us-east-1:444455556666:cluster/far", "arn:aws:ecs:us-east-1:444455556666:task-definition/w:2", true).
		PassRole("ecs-tasks.amazonaws.com", "arn:aws:iam::111122223333:role/worker-task", "arn:aws:iam::111122223333:role/worker-exec").
		GlueJobSync("clean_orders").
		Crawler("raw-crawler").
		AthenaSync("analytics").
		AthenaResults("s3://acme-results/athena").
		BucketLocation("s3://acme-lake/raw/").
		TaskResponse()
	got := actionsByResource(t, p)
	const a = "arn:aws:%s:eu-west-1:111122223333:%s"
	f := func(svc, res string) string { return fmt.Sprintf(a, svc, res) }
	want := map[string][]string{
		f("lambda", "function:worker"):                              {"lambda:InvokeFunction"},
		"arn:aws:lambda:us-east-1:444455556666:function:other:live": {"lambda:InvokeFunction"},
		f("ecs", "task-definition/lakekit-worker:*"):                {"ecs:RunTask"},
		f("ecs", "task-definition/lakekit-worker:7"):                {"ecs:RunTask"},
		f("ecs", "task/lake/*"):                                     {"ecs:DescribeTasks", "ecs:StopTask"},
		"arn:aws:ecs:us-east-1:444455556666:task/far/*":             {"ecs:DescribeTasks", "ecs:StopTask"},
		"arn:aws:ecs:us-east-1:444455556666:task-definition/w:2":    {"ecs:RunTask"},
		f("events", "rule/StepFunctionsGetEventsForECSTaskRule"):    {"events:DescribeRule", "events:PutRule", "events:PutTargets"},
		"arn:aws:iam::111122223333:role/worker-task":                {"iam:PassRole"},
		"arn:aws:iam::111122223333:role/worker-exec":                {"iam:PassRole"},
		f("glue", "job/clean_orders"):                               {"glue:BatchStopJobRun", "glue:GetJobRun", "glue:GetJobRuns", "glue:StartJobRun"},
		f("glue", "crawler/raw-crawler"):                            {"glue:GetCrawler", "glue:StartCrawler"},
		f("athena", "workgroup/analytics"):                          {"athena:GetQueryExecution", "athena:StartQueryExecution", "athena:StopQueryExecution"},
		f("athena", "datacatalog/AwsDataCatalog"):                   {"athena:GetDataCatalog"},
		"arn:aws:s3:::acme-results/athena/*":                        {"s3:AbortMultipartUpload", "s3:GetObject", "s3:ListMultipartUploadParts", "s3:PutObject"},
		"arn:aws:s3:::acme-results":                                 {"s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"},
		"arn:aws:s3:::acme-lake":                                    {"s3:GetBucketLocation"},
		"*":                                                         {"lakeformation:GetDataAccess", "states:SendTaskFailure", "states:SendTaskHeartbeat", "states:SendTaskSuccess"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("grants (-want +got):\n%s", diff)
	}
	doc, _ := p.Document()
	for _, st := range doc.Statement {
		switch st.Sid {
		case "PassRoleEcsTasks":
			want := map[string]any{"StringEquals": map[string]any{"iam:PassedToService": []string{"ecs-tasks.amazonaws.com"}}}
			if diff := cmp.Diff(want, st.Condition); diff != "" {
				t.Errorf("PassRole condition (-want +got):\n%s", diff)
			}
		case "ListBucketAcmeResults":
			want := map[string]any{"StringLike": map[string]any{"s3:prefix": []string{"athena/*"}}}
			if diff := cmp.Diff(want, st.Condition); diff != "" {
				t.Errorf("listing the results bucket (-want +got):\n%s", diff)
			}
		default:
			if st.Condition != nil {
				t.Errorf("%s has a condition %v", st.Sid, st.Condition)
			}
		}
	}
}

func TestServiceIntegrationBadInput(t *testing.T) {
	cases := map[string]struct {
		p       *iam.Policy
		mention string
	}{
		"lambda partial ARN": {iam.NewPolicy(acct).LambdaInvoke("111122223333:function:f"), `"111122223333:function:f"`},
		"cluster":            {iam.NewPolicy(acct).ECSTask("my cluster", "td", true), `"my cluster"`},
		"task definition":    {iam.NewPolicy(acct).ECSTask("c", "td:latest", true), `"td:latest"`},
		"role":               {iam.NewPolicy(acct).PassRole("ecs-tasks.amazonaws.com", "worker-task"), `"worker-task"`},
		"no role":            {iam.NewPolicy(acct).PassRole("ecs-tasks.amazonaws.com"), "names no role"},
		"service":            {iam.NewPolicy(acct).PassRole("ecs", "arn:aws:iam::111122223333:role/r"), `"ecs"`},
		"crawler":            {iam.NewPolicy(acct).Crawler("a/b"), `"a/b"`},
		"job":                {iam.NewPolicy(acct).GlueJobSync("a b"), `"a b"`},
		"workgroup":          {iam.NewPolicy(acct).AthenaSync("wg!"), `"wg!"`},
		"results":            {iam.NewPolicy(acct).AthenaResults("/tmp/results"), `"/tmp/results"`},
		"rule":               {iam.NewPolicy(acct).EventsRule("a:b"), `"a:b"`},
		"state machine":      {iam.NewPolicy(acct).DeployStateMachine("a:b", "arn:aws:iam::111122223333:role/r"), `"a:b"`},
		"deploy role":        {iam.NewPolicy(acct).DeployStateMachine("p", "sfn-role"), `"sfn-role"`},
		"redshift":           {iam.NewPolicy(acct).RedshiftData("arn:aws:redshift:eu-west-1:111122223333:cluster/x"), "cluster/x"},
	}
	for name, c := range cases {
		_, err := c.p.JSON()
		if !errors.Is(err, iam.ErrInvalid) || !strings.Contains(fmt.Sprint(err), c.mention) {
			t.Errorf("%s: %v, want ErrInvalid naming %s", name, err, c.mention)
		}
	}
	for _, bad := range []string{"s3://Bad_Bucket/x", "gs://b/x", "s3://b/x*"} {
		if _, _, err := iam.ParseS3(bad); !errors.Is(err, iam.ErrInvalid) {
			t.Errorf("ParseS3(%q): %v", bad, err)
		}
	}
	if b, p, err := iam.ParseS3("s3://acme-lake/raw/web"); err != nil || b != "acme-lake" || p != "raw/web/" {
		t.Errorf("ParseS3: %q %q %v", b, p, err)
	}
	if err := iam.CheckGlueName("table", "Clicks"); !errors.Is(err, iam.ErrInvalid) {
		t.Errorf("CheckGlueName(Clicks): %v", err)
	}
	if err := iam.CheckKMSKey("alias/lake"); !errors.Is(err, iam.ErrInvalid) {
		t.Errorf("CheckKMSKey(alias/lake): %v", err)
	}
}

// Each bucket gets its own listing statement: a prefix listable in one
// bucket is not listable in another.
func TestListingPerBucket(t *testing.T) {
	p := iam.NewPolicy(acct).ReadPrefix("s3://acme-lake/raw/").WritePrefix("s3://acme-lake/cleaned").
		ReadPrefix("s3://acme.lake/other/").ReadPrefix("s3://acme-lake-2/x/").AthenaResults("s3://acme-results/q/")
	raw, err := p.JSON()
	if err != nil {
		t.Fatal(err)
	}
	checkGrammar(t, raw)
	doc, _ := p.Document()
	got := map[string][2]any{}
	for _, st := range doc.Statement {
		if slices.Contains(st.Action, "s3:ListBucket") {
			got[st.Sid] = [2]any{st.Resource, st.Condition["StringLike"]}
		}
	}
	want := map[string][2]any{
		"ListBucketAcmeLake":    {[]string{"arn:aws:s3:::acme-lake"}, map[string]any{"s3:prefix": []string{"cleaned/*", "raw/*"}}},
		"ListBucketAcmeLake2":   {[]string{"arn:aws:s3:::acme.lake"}, map[string]any{"s3:prefix": []string{"other/*"}}},
		"ListBucketAcmeLake22":  {[]string{"arn:aws:s3:::acme-lake-2"}, map[string]any{"s3:prefix": []string{"x/*"}}},
		"ListBucketAcmeResults": {[]string{"arn:aws:s3:::acme-results"}, map[string]any{"s3:prefix": []string{"q/*"}}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("listing statements (-want +got):\n%s", diff)
	}
}
