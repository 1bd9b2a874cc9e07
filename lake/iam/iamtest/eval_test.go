package iamtest_test

import (
	"testing"

	"github.com/lakekit/lakekit/lake/iam/iamtest"
)

// The cases below are the AWS documentation's own examples, each with the
// page it comes from; the policies are written here in the page's shape
// with the page's keys and operators.
func TestEvaluatorAWSExamples(t *testing.T) {
	const (
		// IAM User Guide, "Policy evaluation logic" and "Explicit and
		// implicit denies":
		// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
		// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_AccessPolicyLanguage_Interplay.html
		allowS3 = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`
		denyDel = `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:DeleteObject","Resource":"arn:aws:s3:::amzn-s3-demo-bucket/*"}]}`
		// Amazon S3 User Guide, "Security best practices" / bucket policy
		// examples: deny every request not sent over TLS.
		// https://docs.aws.amazon.com/AmazonS3/latest/userguide/security-best-practices.html
		denyHTTP = `{"Version":"2012-10-17","Statement":[{"Sid":"RestrictToTLSRequestsOnly","Effect":"Deny","Principal":"*","Action":"s3:*",
			"Resource":["arn:aws:s3:::amzn-s3-demo-bucket","arn:aws:s3:::amzn-s3-demo-bucket/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}`
		// Amazon S3 User Guide, "Requiring SSE-KMS for all objects written
		// to a bucket":
		// https://docs.aws.amazon.com/AmazonS3/latest/userguide/specifying-kms-encryption.html
		requireKMS = `{"Version":"2012-10-17","Id":"PutObjPolicy","Statement":[{"Sid":"DenyObjectsThatAreNotSSEKMS","Principal":"*","Effect":"Deny","Action":"s3:PutObject",
			"Resource":"arn:aws:s3:::amzn-s3-demo-bucket/*","Condition":{"Null":{"s3:x-amz-server-side-encryption-aws-kms-key-id":"true"}}}]}`
		// IAM User Guide, "Condition operators" (IfExists):
		// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
		ifExists = `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ec2:*","Resource":"*",
			"Condition":{"StringLikeIfExists":{"ec2:InstanceType":["t1.*","t2.*","m3.*"]}}}}`
		// IAM User Guide, "Condition operators" (ARN): a topic may send to
		// the queue.
		arnLike = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"123456789012"},"Action":"SQS:SendMessage",
			"Resource":"arn:aws:sqs:REGION:123456789012:QUEUE-ID","Condition":{"ArnEquals":{"aws:SourceArn":"arn:aws:sns:REGION:123456789012:TOPIC-ID"}}}]}`
		// IAM User Guide, "Create a condition with multiple context keys or
		// values": values of one key are ORed, keys are ANDed.
		// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-logic-multiple-context-keys-or-values.html
		multi = `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"iam:*","Resource":"*",
			"Condition":{"StringNotEquals":{"aws:PrincipalTag/department":["finance","hr","legal"],"aws:PrincipalTag/role":["audit","security"]}}}]}`
		// IAM User Guide, "NotAction": allow everything but IAM.
		// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notaction.html
		notAction = `{"Version":"2012-10-17","Statement":{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}}`
		// IAM User Guide, "NotResource": deny every resource but one bucket.
		// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notresource.html
		notResource = `{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"s3:*",
			"NotResource":["arn:aws:s3:::HRBucket/Payroll","arn:aws:s3:::HRBucket/Payroll/*"]}}`
		// IAM User Guide, "NotPrincipal": deny everyone but the named role.
		// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html
		notPrincipal = `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","NotPrincipal":{"AWS":["arn:aws:iam::444455556666:role/cross-account-read-only-role"]},
			"Action":"s3:*","Resource":["arn:aws:s3:::amzn-s3-demo-bucket","arn:aws:s3:::amzn-s3-demo-bucket/*"]}]}`
	)
	const role = "arn:aws:iam::123456789012:role/app"
	obj := "arn:aws:s3:::amzn-s3-demo-bucket/report.csv"
	cases := []struct {
		name string
		docs []string
		req  iamtest.Request
		want iamtest.Decision
	}{
		{"no statement applies: implicit deny", []string{denyDel}, iamtest.Request{Principal: role, Action: "s3:GetObject", Resource: obj}, iamtest.ImplicitDeny},
		{"allow", []string{allowS3}, iamtest.Request{Principal: role, Action: "s3:GetObject", Resource: obj}, iamtest.Allow},
		{"explicit deny overrides allow", []string{allowS3, denyDel}, iamtest.Request{Principal: role, Action: "s3:DeleteObject", Resource: obj}, iamtest.ExplicitDeny},
		{"action match is case-insensitive", []string{denyDel}, iamtest.Request{Principal: role, Action: "S3:deleteobject", Resource: obj}, iamtest.ExplicitDeny},
		{"TLS deny on plain HTTP", []string{allowS3, denyHTTP}, iamtest.Request{Principal: role, Action: "s3:GetObject", Resource: obj, Context: map[string]string{"aws:SecureTransport": "false"}}, iamtest.ExplicitDeny},
		{"TLS deny lets TLS through", []string{allowS3, denyHTTP}, iamtest.Request{Principal: role, Action: "s3:GetObject", Resource: obj, Context: map[string]string{"aws:SecureTransport": "true"}}, iamtest.Allow},
		{"Null true denies a put without the key id", []string{allowS3, requireKMS}, iamtest.Request{Principal: role, Action: "s3:PutObject", Resource: obj}, iamtest.ExplicitDeny},
		{"Null true lets a put with the key id", []string{allowS3, requireKMS}, iamtest.Request{Principal: role, Action: "s3:PutObject", Resource: obj, Context: map[string]string{"s3:x-amz-server-side-encryption-aws-kms-key-id": "arn:aws:kms:us-east-1:123456789012:key/k"}}, iamtest.Allow},
		{"IfExists: key absent matches", []string{ifExists}, iamtest.Request{Principal: role, Action: "ec2:RunInstances", Resource: "arn:aws:ec2:us-east-1:123456789012:instance/*"}, iamtest.Allow},
		{"IfExists: key present must match", []string{ifExists}, iamtest.Request{Principal: role, Action: "ec2:RunInstances", Resource: "x", Context: map[string]string{"ec2:InstanceType": "c5.large"}}, iamtest.ImplicitDeny},
		{"StringLike wildcard", []string{ifExists}, iamtest.Request{Principal: role, Action: "ec2:RunInstances", Resource: "x", Context: map[string]string{"ec2:InstanceType": "t2.micro"}}, iamtest.Allow},
		{"ArnEquals and an account principal", []string{arnLike}, iamtest.Request{Principal: "arn:aws:iam::123456789012:role/sns", Action: "sqs:SendMessage", Resource: "arn:aws:sqs:REGION:123456789012:QUEUE-ID", Context: map[string]string{"aws:SourceArn": "arn:aws:sns:REGION:123456789012:TOPIC-ID"}}, iamtest.Allow},
		{"ArnEquals other topic", []string{arnLike}, iamtest.Request{Principal: "arn:aws:iam::123456789012:role/sns", Action: "sqs:SendMessage", Resource: "arn:aws:sqs:REGION:123456789012:QUEUE-ID", Context: map[string]string{"aws:SourceArn": "arn:aws:sns:REGION:123456789012:OTHER"}}, iamtest.ImplicitDeny},
		{"account principal does not match another account", []string{arnLike}, iamtest.Request{Principal: "arn:aws:iam::999999999999:role/sns", Action: "sqs:SendMessage", Resource: "arn:aws:sqs:REGION:123456789012:QUEUE-ID", Context: map[string]string{"aws:SourceArn": "arn:aws:sns:REGION:123456789012:TOPIC-ID"}}, iamtest.ImplicitDeny},
		{"keys ANDed: one key matching is not enough", []string{multi}, iamtest.Request{Principal: role, Action: "iam:ListRoles", Resource: "*", Context: map[string]string{"aws:PrincipalTag/department": "finance", "aws:PrincipalTag/role": "dev"}}, iamtest.ImplicitDeny},
		{"keys ANDed: both outside the lists deny", []string{multi}, iamtest.Request{Principal: role, Action: "iam:ListRoles", Resource: "*", Context: map[string]string{"aws:PrincipalTag/department": "sales", "aws:PrincipalTag/role": "dev"}}, iamtest.ExplicitDeny},
		{"negated operator, key missing: true", []string{multi}, iamtest.Request{Principal: role, Action: "iam:ListRoles", Resource: "*"}, iamtest.ExplicitDeny},
		{"NotAction allows others", []string{notAction}, iamtest.Request{Principal: role, Action: "s3:GetObject", Resource: obj}, iamtest.Allow},
		{"NotAction excludes IAM", []string{notAction}, iamtest.Request{Principal: role, Action: "iam:CreateUser", Resource: "*"}, iamtest.ImplicitDeny},
		{"NotResource denies others", []string{allowS3, notResource}, iamtest.Request{Principal: role, Action: "s3:GetObject", Resource: obj}, iamtest.ExplicitDeny},
		{"NotResource spares the listed", []string{allowS3, notResource}, iamtest.Request{Principal: role, Action: "s3:GetObject", Resource: "arn:aws:s3:::HRBucket/Payroll/jan.csv"}, iamtest.Allow},
		{"NotPrincipal denies others", []string{allowS3, notPrincipal}, iamtest.Request{Principal: role, Action: "s3:GetObject", Resource: obj}, iamtest.ExplicitDeny},
		{"NotPrincipal spares the named", []string{allowS3, notPrincipal}, iamtest.Request{Principal: "arn:aws:iam::444455556666:role/cross-account-read-only-role", Action: "s3:GetObject", Resource: obj}, iamtest.Allow},
	}
	for _, c := range cases {
		docs := make([][]byte, len(c.docs))
		for i, d := range c.docs {
			docs[i] = []byte(d)
		}
		got, err := iamtest.Evaluate(c.req, docs...)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
	if _, err := iamtest.Evaluate(iamtest.Request{Action: "s3:GetObject", Resource: obj},
		[]byte(`{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}]}`)); err == nil {
		t.Error("an operator the evaluator does not know evaluated without error")
	}
}
