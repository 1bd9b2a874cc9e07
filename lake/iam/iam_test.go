package iam_test

import (
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/lakekit/lakekit/lake/iam"
)

var acct = iam.Account{Region: "eu-west-1", ID: "111122223333"}

// checkGrammar validates the IAM policy grammar basics.
func checkGrammar(t *testing.T, raw []byte) map[string]any {
	t.Helper()
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
			if !arn.MatchString(r.(string)) {
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
		StepFunctions("clicks-pipeline", true).
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
		"state machine": iam.NewPolicy(acct).StepFunctions("has space", false),
		"empty":         iam.NewPolicy(acct),
	}
	for name, p := range cases {
		if _, err := p.JSON(); !errors.Is(err, iam.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
}
