package iam_test

import (
	"strings"
	"testing"

	"github.com/lakekit/lakekit/lake/iam"
	"github.com/lakekit/lakekit/lake/iam/iamtest"
)

const testKey = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"

// zonePolicies are the policies lake/iam renders on its own, one per kind
// of principal a lakekit program runs as.
func zonePolicies() map[string]*iam.Policy {
	return map[string]*iam.Policy{
		"ingestion": iam.NewPolicy(acct).
			WritePrefix("s3://acme-lake/prod/raw/web/").
			Catalog(iam.ReadWrite, "raw_web").
			SearchCatalog().
			KMS(iam.ReadWrite, testKey),
		"transform": iam.NewPolicy(acct).
			ReadPrefix("s3://acme-lake/prod/raw/web/").
			WritePrefix("s3://acme-lake/prod/cleaned/web").
			Catalog(iam.Read, "raw_web", "clicks").
			Catalog(iam.ReadWrite, "cleaned_web", "clicks", "clicks_daily").
			KMS(iam.Read, testKey),
		"consumer": iam.NewPolicy(acct).
			ReadPrefix("s3://acme-lake/prod/curated/").
			Catalog(iam.Read, "curated").
			Athena("analytics").
			AthenaResults("s3://acme-results/athena/").
			BucketLocation("s3://acme-lake/prod/curated/"),
		"operator": iam.NewPolicy(acct).
			StepFunctions("clicks-pipeline").
			DeployStateMachine("clicks-pipeline", "arn:aws:iam::111122223333:role/clicks-sfn").
			GlueJob("legacy_etl"),
		"state machine": iam.NewPolicy(acct).
			LambdaInvoke("lakekit-worker:live").
			ECSTask("lake", "lakekit-worker:3", true).
			PassRole("ecs-tasks.amazonaws.com", "arn:aws:iam::111122223333:role/lakekit-worker").
			AthenaSync("primary").
			AthenaResults("s3://acme-results/").
			GlueJobSync("legacy_etl").
			Crawler("curated-crawler"),
		"catalog admin": iam.NewPolicy(acct).
			Catalog(iam.Manage, "raw_web").
			LakeFormationPermissions().
			RegisterLocation("arn:aws:iam::111122223333:role/lakeformation-lake"),
		"redshift": iam.NewPolicy(acct).
			RedshiftData("arn:aws:redshift:eu-west-1:111122223333:cluster:warehouse").
			RedshiftData("arn:aws:redshift-serverless:eu-west-1:111122223333:workgroup/0e9f1c3a-5b2d-4c1e-9f3a-7b6d5c4e3f2a"),
		"worker": iam.NewPolicy(acct).
			WritePrefix("s3://acme-lake/prod/cleaned/").
			TaskResponse(),
	}
}

// TestPolicyFidelitySAR checks every statement of the policies lake/iam
// renders against the Service Authorization Reference table.
func TestPolicyFidelitySAR(t *testing.T) {
	sar := iamtest.SAR()
	for name, p := range zonePolicies() {
		raw, err := p.JSON()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, err := range sar.Check(raw) {
			t.Errorf("%s policy: %v", name, err)
		}
	}
}

// TestPolicyFidelityCheckerFails proves the check can fail: each document
// breaks the SAR in one way real IAM would not forgive.
func TestPolicyFidelityCheckerFails(t *testing.T) {
	sar := iamtest.SAR()
	for name, c := range map[string]struct{ doc, want string }{
		"no resource types on an ARN": {`{"Statement":[{"Effect":"Allow","Action":["states:SendTaskSuccess"],"Resource":["arn:aws:states:eu-west-1:111122223333:stateMachine:p"]}]}`,
			`must be "*"`},
		"resource types on *": {`{"Statement":[{"Effect":"Allow","Action":["s3:GetObject"],"Resource":["*"]}]}`, "every resource"},
		"alias ARN": {`{"Statement":[{"Effect":"Allow","Action":["kms:Decrypt"],"Resource":["arn:aws:kms:eu-west-1:111122223333:alias/lake"]}]}`,
			"alias/lake"},
		"unknown action": {`{"Statement":[{"Effect":"Allow","Action":["s3:GetObjects"],"Resource":["arn:aws:s3:::b/*"]}]}`, "s3:GetObjects"},
		"object ARN for a bucket action": {`{"Statement":[{"Effect":"Allow","Action":["s3:ListBucket"],"Resource":["arn:aws:s3:::b/p/*"]}]}`,
			"arn:aws:s3:::b/p/*"},
		"required type missing": {`{"Statement":[{"Effect":"Allow","Action":["glue:GetTable"],"Resource":["arn:aws:glue:eu-west-1:111122223333:table/db/t"]}]}`,
			"requires"},
		"condition key": {`{"Statement":[{"Effect":"Allow","Action":["s3:GetObject"],"Resource":["arn:aws:s3:::b/*"],"Condition":{"StringLike":{"s3:prefix":["p/*"]}}}]}`,
			"s3:prefix"},
		"dependent action": {`{"Statement":[{"Effect":"Allow","Action":["states:CreateStateMachine"],"Resource":["arn:aws:states:eu-west-1:111122223333:stateMachine:p"]}]}`,
			"iam:PassRole"},
		"PassRole to another service": {`{"Statement":[{"Effect":"Allow","Action":["ecs:RunTask"],"Resource":["arn:aws:ecs:eu-west-1:111122223333:task-definition/w:1"]},
			{"Effect":"Allow","Action":["iam:PassRole"],"Resource":["arn:aws:iam::111122223333:role/r"],"Condition":{"StringEquals":{"iam:PassedToService":"states.amazonaws.com"}}}]}`,
			"ecs-tasks.amazonaws.com"},
	} {
		errs := sar.Check([]byte(c.doc))
		var all []string
		for _, e := range errs {
			all = append(all, e.Error())
		}
		if !strings.Contains(strings.Join(all, "\n"), c.want) {
			t.Errorf("%s: violations %q do not mention %s", name, all, c.want)
		}
	}
	// and a policy that follows the SAR passes
	ok := `{"Statement":[{"Effect":"Allow","Action":["s3:ListBucket"],"Resource":["arn:aws:s3:::b"],"Condition":{"StringLike":{"s3:prefix":["p/*"]}}},
		{"Effect":"Allow","Action":["kms:ReEncrypt*"],"Resource":["arn:aws:kms:eu-west-1:111122223333:key/k"]}]}`
	if errs := sar.Check([]byte(ok)); len(errs) > 0 {
		t.Errorf("a valid policy: %v", errs)
	}
}
