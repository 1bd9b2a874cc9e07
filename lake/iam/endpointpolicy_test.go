package iam_test

import (
	"testing"

	"github.com/lakekit/lakekit/lake/iam"
	"github.com/lakekit/lakekit/lake/iam/iamtest"
)

func lakeEndpoints(t *testing.T) map[string][]byte {
	t.Helper()
	docs, err := iam.EndpointPolicies(iam.EndpointScope{Account: acct,
		Buckets:     []string{"s3://acme-lake/prod/", "s3://acme-results/athena/"},
		Databases:   []string{"raw_web", "cleaned_web"},
		CatalogWide: true,
		WorkGroups:  []string{"analytics"},
		Roles:       []string{xformRole}})
	if err != nil {
		t.Fatal(err)
	}
	return docs
}

func TestEndpointPolicyRenderValid(t *testing.T) {
	docs := lakeEndpoints(t)
	for _, svc := range []string{"s3", "glue", "athena", "sts"} {
		doc, ok := docs[svc]
		if !ok {
			t.Errorf("no %s endpoint policy", svc)
			continue
		}
		checkResourceDoc(t, svc+" endpoint policy", doc, "")
	}
}

func TestEndpointPolicyEnforcement(t *testing.T) {
	docs := lakeEndpoints(t)
	in := func(acctID string) map[string]string { return map[string]string{"aws:ResourceAccount": acctID} }
	cases := []struct {
		name, svc string
		req       iamtest.Request
		want      iamtest.Decision
	}{
		{"lake object", "s3", iamtest.Request{Principal: xformRole, Action: "s3:GetObject", Resource: "arn:aws:s3:::acme-lake/prod/raw/a.json", Context: in("111122223333")}, iamtest.Allow},
		{"results bucket put", "s3", iamtest.Request{Principal: xformRole, Action: "s3:PutObject", Resource: "arn:aws:s3:::acme-results/athena/q.csv", Context: in("111122223333")}, iamtest.Allow},
		{"another bucket", "s3", iamtest.Request{Principal: xformRole, Action: "s3:GetObject", Resource: "arn:aws:s3:::exfil-bucket/x", Context: in("111122223333")}, iamtest.ImplicitDeny},
		{"same bucket name in another account", "s3", iamtest.Request{Principal: xformRole, Action: "s3:PutObject", Resource: "arn:aws:s3:::acme-lake/prod/x", Context: in("999988887777")}, iamtest.ImplicitDeny},
		{"bucket deletion", "s3", iamtest.Request{Principal: xformRole, Action: "s3:DeleteBucket", Resource: "arn:aws:s3:::acme-lake", Context: in("111122223333")}, iamtest.ImplicitDeny},
		{"lake table", "glue", iamtest.Request{Principal: xformRole, Action: "glue:GetTable", Resource: "arn:aws:glue:eu-west-1:111122223333:table/raw_web/clicks", Context: in("111122223333")}, iamtest.Allow},
		{"other database", "glue", iamtest.Request{Principal: xformRole, Action: "glue:GetTable", Resource: "arn:aws:glue:eu-west-1:111122223333:table/hr/salaries", Context: in("111122223333")}, iamtest.ImplicitDeny},
		{"lake workgroup", "athena", iamtest.Request{Principal: xformRole, Action: "athena:StartQueryExecution", Resource: "arn:aws:athena:eu-west-1:111122223333:workgroup/analytics", Context: in("111122223333")}, iamtest.Allow},
		{"other workgroup", "athena", iamtest.Request{Principal: xformRole, Action: "athena:StartQueryExecution", Resource: "arn:aws:athena:eu-west-1:111122223333:workgroup/primary", Context: in("111122223333")}, iamtest.ImplicitDeny},
		{"assume the lake's role", "sts", iamtest.Request{Principal: ingestRole, Action: "sts:AssumeRole", Resource: xformRole, Context: in("111122223333")}, iamtest.Allow},
		{"assume another role", "sts", iamtest.Request{Principal: ingestRole, Action: "sts:AssumeRole", Resource: otherRole, Context: in("111122223333")}, iamtest.ImplicitDeny},
	}
	for _, c := range cases {
		got, err := iamtest.Evaluate(c.req, docs[c.svc])
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

func TestEndpointPolicyRejectsBadInput(t *testing.T) {
	bad := []iam.EndpointScope{
		{Account: acct},
		{Account: acct, Buckets: []string{"acme-lake"}},
		{Account: acct, Databases: []string{"Raw-Web"}},
		{Account: acct, WorkGroups: []string{"a b"}},
		{Account: acct, Roles: []string{"role/x"}},
		{Account: iam.Account{Region: "eu-west-1", ID: "12"}, Buckets: []string{"s3://acme-lake/"}},
	}
	for i, s := range bad {
		if _, err := iam.EndpointPolicies(s); err == nil {
			t.Errorf("case %d: no error", i)
		}
	}
}
