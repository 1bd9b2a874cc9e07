package iam_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/lakekit/lakekit/lake/iam"
	"github.com/lakekit/lakekit/lake/iam/iamtest"
)

func zoneKeyPolicy() *iam.KeyPolicy {
	return &iam.KeyPolicy{Account: acct, KeyARN: rawKey, Writers: []string{ingestRole}, Readers: []string{xformRole},
		Services: []iam.ServiceUse{
			{Role: "arn:aws:iam::111122223333:role/athena-analyst", Access: iam.Read, Services: []string{"s3", "athena"}},
			{Role: "arn:aws:iam::111122223333:role/firehose-delivery", Access: iam.ReadWrite, Services: []string{"s3", "firehose"}},
			{Role: "arn:aws:iam::111122223333:role/dms-s3-target", Access: iam.ReadWrite, Services: []string{"s3"}},
			{Role: "arn:aws:iam::111122223333:role/redshift-copy", Access: iam.Read, Services: []string{"s3", "redshift"}},
		}}
}

func TestKeyPolicyRenderValid(t *testing.T) {
	doc, err := zoneKeyPolicy().Render()
	if err != nil {
		t.Fatal(err)
	}
	checkResourceDoc(t, "key policy", doc, rawKey)
	if !strings.Contains(string(doc), "firehose.eu-west-1.amazonaws.com") {
		t.Errorf("no kms:ViaService for firehose in\n%s", doc)
	}
}

func TestKeyPolicyEnforcement(t *testing.T) {
	doc, err := zoneKeyPolicy().Render()
	if err != nil {
		t.Fatal(err)
	}
	req := func(principal, action, via string) iamtest.Request {
		ctx := map[string]string{"kms:CallerAccount": "111122223333"}
		if via != "" {
			ctx["kms:ViaService"] = via
		}
		return iamtest.Request{Principal: principal, Action: action, Resource: rawKey, Context: ctx}
	}
	cases := []struct {
		name string
		req  iamtest.Request
		want iamtest.Decision
	}{
		{"writer generates a data key", req(ingestRole, "kms:GenerateDataKey", ""), iamtest.Allow},
		{"reader decrypts", req(xformRole, "kms:Decrypt", ""), iamtest.Allow},
		{"reader may not generate data keys", req(xformRole, "kms:GenerateDataKey", ""), iamtest.ImplicitDeny},
		{"another role", req(otherRole, "kms:Decrypt", ""), iamtest.ImplicitDeny},
		{"athena role through S3", req("arn:aws:iam::111122223333:role/athena-analyst", "kms:Decrypt", "s3.eu-west-1.amazonaws.com"), iamtest.Allow},
		{"athena role directly", req("arn:aws:iam::111122223333:role/athena-analyst", "kms:Decrypt", ""), iamtest.ImplicitDeny},
		{"athena role through another service", req("arn:aws:iam::111122223333:role/athena-analyst", "kms:Decrypt", "ec2.eu-west-1.amazonaws.com"), iamtest.ImplicitDeny},
		{"athena role may not write", req("arn:aws:iam::111122223333:role/athena-analyst", "kms:GenerateDataKey", "s3.eu-west-1.amazonaws.com"), iamtest.ImplicitDeny},
		{"firehose role writes through S3", req("arn:aws:iam::111122223333:role/firehose-delivery", "kms:GenerateDataKey", "s3.eu-west-1.amazonaws.com"), iamtest.Allow},
		{"DMS role through S3 in another region", req("arn:aws:iam::111122223333:role/dms-s3-target", "kms:GenerateDataKey", "s3.us-east-1.amazonaws.com"), iamtest.ImplicitDeny},
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

func TestKeyPolicyMergeKeepsAdmins(t *testing.T) {
	current := `{"Version":"2012-10-17","Id":"key-default-1","Statement":[{"Sid":"Enable IAM User Permissions","Effect":"Allow",
		"Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"}]}`
	merged, changed, err := zoneKeyPolicy().Merge([]byte(current))
	if err != nil || !changed {
		t.Fatalf("changed=%v err=%v", changed, err)
	}
	var got struct {
		ID        string `json:"Id"`
		Statement []map[string]any
	}
	if err := json.Unmarshal(merged, &got); err != nil {
		t.Fatal(err)
	}
	if got.ID != "key-default-1" || got.Statement[0]["Sid"] != "Enable IAM User Permissions" || len(got.Statement) != 7 {
		t.Errorf("the key's own statement or Id was not kept: %s", merged)
	}
	if _, changed, _ := zoneKeyPolicy().Merge(merged); changed {
		t.Error("merging twice changed the policy")
	}
}

func TestKeyPolicyRejectsBadInput(t *testing.T) {
	bad := []*iam.KeyPolicy{
		{Account: acct, KeyARN: "arn:aws:kms:eu-west-1:111122223333:alias/lake", Readers: []string{xformRole}},
		{Account: acct, KeyARN: rawKey},
		{Account: acct, KeyARN: rawKey, Readers: []string{"xform"}},
		{Account: acct, KeyARN: rawKey, Services: []iam.ServiceUse{{Role: xformRole}}},
		{Account: acct, KeyARN: rawKey, Services: []iam.ServiceUse{{Role: xformRole, Services: []string{"s3.eu-west-1.amazonaws.com"}}}},
	}
	for i, k := range bad {
		if _, err := k.Render(); err == nil {
			t.Errorf("case %d: no error", i)
		}
	}
}
