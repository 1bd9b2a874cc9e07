package iam_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/lakekit/lakekit/internal/testaws"
	"github.com/lakekit/lakekit/lake/iam"
	"github.com/lakekit/lakekit/lake/iam/iamtest"
)

const (
	rawKey     = "arn:aws:kms:eu-west-1:111122223333:key/1111aaaa-11aa-11aa-11aa-111111111111"
	cleanedKey = "arn:aws:kms:eu-west-1:111122223333:key/2222bbbb-22bb-22bb-22bb-222222222222"
	ingestRole = "arn:aws:iam::111122223333:role/lakekit-ingest"
	xformRole  = "arn:aws:iam::111122223333:role/lakekit-transform"
	vacuumRole = "arn:aws:iam::111122223333:role/lakekit-vacuum"
	otherRole  = "arn:aws:iam::111122223333:role/someone-else"
)

func lakeZones(bucket string) []iam.ZoneAccess {
	return []iam.ZoneAccess{
		{Zone: "raw", Location: "s3://" + bucket + "/prod/raw/", KMSKey: rawKey, Writers: []string{ingestRole}, Readers: []string{xformRole}},
		{Zone: "cleaned", Location: "s3://" + bucket + "/prod/cleaned/", KMSKey: cleanedKey, Writers: []string{xformRole, vacuumRole},
			ProtectDeletes: true, Deleters: []string{vacuumRole}},
	}
}

func renderBucketPolicy(t *testing.T, bucket string) (*iam.BucketPolicy, []byte) {
	t.Helper()
	bps, err := iam.BucketPolicies(acct, lakeZones(bucket)...)
	if err != nil {
		t.Fatal(err)
	}
	if len(bps) != 1 || bps[0].Bucket() != bucket {
		t.Fatalf("BucketPolicies gave %d policies, want one for %s", len(bps), bucket)
	}
	doc, err := bps[0].Render()
	if err != nil {
		t.Fatal(err)
	}
	return bps[0], doc
}

func checkResourceDoc(t *testing.T, what string, doc []byte, self string) {
	t.Helper()
	if err := iam.ValidateResourcePolicy(doc); err != nil {
		t.Errorf("%s: %v\n%s", what, err, doc)
	}
	for _, err := range iamtest.SAR().CheckResourcePolicy(doc, self) {
		t.Errorf("%s: SAR: %v", what, err)
	}
}

func TestBucketPolicyRenderValid(t *testing.T) {
	_, doc := renderBucketPolicy(t, "acme-lake")
	checkResourceDoc(t, "bucket policy", doc, "")
	for _, sid := range []string{"LakekitDenyInsecureTransport", "LakekitRawDenyNotSSEKMS", "LakekitRawDenyOtherKey",
		"LakekitCleanedDenyDelete", "LakekitRawWrite", "LakekitCleanedList"} {
		if !strings.Contains(string(doc), `"`+sid+`"`) {
			t.Errorf("no statement %s in\n%s", sid, doc)
		}
	}
	if strings.Contains(string(doc), "LakekitRawDenyDelete") {
		t.Error("the raw zone, which does not protect deletes, got a delete deny")
	}
}

func TestBucketPolicyRejectsBadInput(t *testing.T) {
	cases := map[string]iam.ZoneAccess{
		"alias key":       {Zone: "raw", Location: "s3://acme-lake/raw/", KMSKey: "arn:aws:kms:eu-west-1:111122223333:alias/lake"},
		"not s3":          {Zone: "raw", Location: "/tmp/lake/raw", KMSKey: rawKey},
		"bad role":        {Zone: "raw", Location: "s3://acme-lake/raw/", KMSKey: rawKey, Writers: []string{"lakekit-ingest"}},
		"no deleters":     {Zone: "cleaned", Location: "s3://acme-lake/cleaned/", KMSKey: rawKey, ProtectDeletes: true},
		"bad zone name":   {Zone: "raw zone", Location: "s3://acme-lake/raw/", KMSKey: rawKey},
		"wildcard prefix": {Zone: "raw", Location: "s3://acme-lake/raw*/", KMSKey: rawKey},
	}
	for name, z := range cases {
		if _, err := iam.BucketPolicies(acct, z); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := iam.BucketPolicies(acct); err == nil {
		t.Error("no zones: no error")
	}
}

// TestBucketPolicyEnforcement evaluates the rendered policy (with the
// roles' identity policies out of the picture: the bucket policy's own
// Allow grants same-account access) against request contexts.
func TestBucketPolicyEnforcement(t *testing.T) {
	_, doc := renderBucketPolicy(t, "acme-lake")
	rawObj := "arn:aws:s3:::acme-lake/prod/raw/web/2026/12/06/a.json"
	cleanedObj := "arn:aws:s3:::acme-lake/prod/cleaned/web/part-0.parquet"
	put := func(principal, obj string, tls bool, sse, key string) iamtest.Request {
		ctx := map[string]string{"aws:SecureTransport": map[bool]string{true: "true", false: "false"}[tls]}
		if sse != "" {
			ctx["s3:x-amz-server-side-encryption"] = sse
		}
		if key != "" {
			ctx["s3:x-amz-server-side-encryption-aws-kms-key-id"] = key
		}
		return iamtest.Request{Principal: principal, Action: "s3:PutObject", Resource: obj, Context: ctx}
	}
	tlsReq := func(principal, action, res string, tls bool) iamtest.Request {
		return iamtest.Request{Principal: principal, Action: action, Resource: res,
			Context: map[string]string{"aws:SecureTransport": map[bool]string{true: "true", false: "false"}[tls]}}
	}
	cases := []struct {
		name string
		req  iamtest.Request
		want iamtest.Decision
	}{
		{"writer, TLS, SSE-KMS with the zone key", put(ingestRole, rawObj, true, "aws:kms", rawKey), iamtest.Allow},
		{"writer without TLS", put(ingestRole, rawObj, false, "aws:kms", rawKey), iamtest.ExplicitDeny},
		{"writer without SSE header", put(ingestRole, rawObj, true, "", ""), iamtest.ExplicitDeny},
		{"writer with SSE-S3", put(ingestRole, rawObj, true, "AES256", ""), iamtest.ExplicitDeny},
		{"writer with aws:kms but no key id (aws/s3 key)", put(ingestRole, rawObj, true, "aws:kms", ""), iamtest.ExplicitDeny},
		{"writer with another zone's key", put(ingestRole, rawObj, true, "aws:kms", cleanedKey), iamtest.ExplicitDeny},
		{"raw writer into cleaned, right key: not allowed", put(ingestRole, cleanedObj, true, "aws:kms", cleanedKey), iamtest.ImplicitDeny},
		{"another role, right key: not allowed by the bucket", put(otherRole, rawObj, true, "aws:kms", rawKey), iamtest.ImplicitDeny},
		{"another role, no SSE: denied outright", put(otherRole, rawObj, true, "", ""), iamtest.ExplicitDeny},
		{"reader reads raw over TLS", tlsReq(xformRole, "s3:GetObject", rawObj, true), iamtest.Allow},
		{"reader reads raw over HTTP", tlsReq(xformRole, "s3:GetObject", rawObj, false), iamtest.ExplicitDeny},
		{"other role reads raw", tlsReq(otherRole, "s3:GetObject", rawObj, true), iamtest.ImplicitDeny},
		{"cleaned writer deletes: protected", tlsReq(xformRole, "s3:DeleteObject", cleanedObj, true), iamtest.ExplicitDeny},
		{"vacuum role deletes cleaned", tlsReq(vacuumRole, "s3:DeleteObject", cleanedObj, true), iamtest.Allow},
		{"raw writer deletes raw (not protected)", tlsReq(ingestRole, "s3:DeleteObject", rawObj, true), iamtest.Allow},
		{"listing the raw prefix", iamtest.Request{Principal: xformRole, Action: "s3:ListBucket", Resource: "arn:aws:s3:::acme-lake",
			Context: map[string]string{"aws:SecureTransport": "true", "s3:prefix": "prod/raw/web/"}}, iamtest.Allow},
		{"listing the curated prefix", iamtest.Request{Principal: xformRole, Action: "s3:ListBucket", Resource: "arn:aws:s3:::acme-lake",
			Context: map[string]string{"aws:SecureTransport": "true", "s3:prefix": "prod/curated/"}}, iamtest.ImplicitDeny},
	}
	for _, c := range cases {
		got, err := iamtest.Evaluate(c.req, doc)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

func TestBucketPolicyMergeKeepsForeign(t *testing.T) {
	bp, _ := renderBucketPolicy(t, "acme-lake")
	sts, err := bp.Statements()
	if err != nil {
		t.Fatal(err)
	}
	current := `{"Version":"2012-10-17","Statement":[
		{"Sid":"CloudTrailRead","Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},"Action":"s3:GetBucketAcl","Resource":"arn:aws:s3:::acme-lake"},
		{"Sid":"LakekitOldZoneRead","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/gone"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::acme-lake/old/*"},
		{"Effect":"Deny","Principal":"*","Action":"s3:DeleteBucket","Resource":"arn:aws:s3:::acme-lake"}]}`
	merged, changed, err := iam.MergeStatements([]byte(current), sts)
	if err != nil || !changed {
		t.Fatalf("merge: changed=%v err=%v", changed, err)
	}
	var got struct{ Statement []map[string]any }
	if err := json.Unmarshal(merged, &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Statement) != len(sts)+2 {
		t.Errorf("merged has %d statements, want lakekit's %d and the 2 foreign ones", len(got.Statement), len(sts))
	}
	if got.Statement[0]["Sid"] != "CloudTrailRead" || got.Statement[1]["Action"] != "s3:DeleteBucket" {
		t.Errorf("foreign statements not kept in place: %v", got.Statement[:2])
	}
	if strings.Contains(string(merged), "LakekitOldZoneRead") {
		t.Error("a lakekit statement no longer rendered was kept")
	}
	again, changed, err := iam.MergeStatements(merged, sts)
	if err != nil || changed {
		t.Errorf("merging again: changed=%v err=%v", changed, err)
	}
	if string(again) != string(merged) {
		t.Error("merging again changed the document")
	}
}

// TestBucketPolicyApplyMoto applies the policy to a bucket holding a
// foreign statement. moto enforces bucket policies crudely (a TLS Deny
// makes every plain-HTTP call 403, issue 28), so the bucket is used for
// nothing else.
func TestBucketPolicyApplyMoto(t *testing.T) {
	m := testaws.StartMoto(t)
	cfg := testaws.Config(t, m.Endpoint)
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	ctx := context.Background()
	const bucket = "acme-lake-policy"
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	bp, _ := renderBucketPolicy(t, bucket)
	// No policy yet: Apply writes one.
	wrote, err := bp.Apply(ctx, s3c)
	if err != nil || !wrote {
		t.Fatalf("first Apply on a bucket without policy: wrote=%v err=%v", wrote, err)
	}
	foreign := `{"Sid":"AuditorRead","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/auditor"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::` + bucket + `/audit/*"}`
	if _, err := s3c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(bucket),
		Policy: aws.String(`{"Version":"2012-10-17","Statement":[` + foreign + `]}`)}); err != nil {
		t.Fatal(err)
	}
	wrote, err = bp.Apply(ctx, s3c)
	if err != nil || !wrote {
		t.Fatalf("Apply over a foreign policy: wrote=%v err=%v", wrote, err)
	}
	out, err := s3c.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatal(err)
	}
	var got struct{ Statement []struct{ Sid string } }
	if err := json.Unmarshal([]byte(aws.ToString(out.Policy)), &got); err != nil {
		t.Fatal(err)
	}
	sids := map[string]bool{}
	for _, st := range got.Statement {
		sids[st.Sid] = true
	}
	sts, _ := bp.Statements()
	for _, st := range sts {
		if !sids[st.Sid] {
			t.Errorf("GetBucketPolicy lacks lakekit's %s", st.Sid)
		}
	}
	if !sids["AuditorRead"] {
		t.Errorf("the foreign statement did not survive: %s", aws.ToString(out.Policy))
	}
	checkResourceDoc(t, "applied policy", []byte(aws.ToString(out.Policy)), "")
	wrote, err = bp.Apply(ctx, s3c)
	if err != nil || wrote {
		t.Errorf("second Apply: wrote=%v err=%v, want no write", wrote, err)
	}
	again, err := s3c.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String(bucket)})
	if err != nil || aws.ToString(again.Policy) != aws.ToString(out.Policy) {
		t.Errorf("the policy changed after the second Apply (err %v)", err)
	}
}
