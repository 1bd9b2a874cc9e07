package iamtest

import (
	"strings"
	"testing"
)

// TestPolicyFidelityTable checks the table is whole: every action's
// resource types are defined with an ARN format of their service, every
// service names its SAR page, and the exemptions name real rows.
func TestPolicyFidelityTable(t *testing.T) {
	sar := SAR()
	if len(sar) < 10 {
		t.Fatalf("the table has %d services", len(sar))
	}
	for prefix, svc := range sar {
		if !strings.HasPrefix(svc.Page, "https://docs.aws.amazon.com/service-authorization/latest/reference/list_") {
			t.Errorf("%s: page %q is not a Service Authorization Reference page", prefix, svc.Page)
		}
		for name, a := range svc.Actions {
			for _, rt := range a.ResourceTypes {
				r, ok := svc.ResourceTypes[strings.TrimSuffix(rt, "*")]
				if !ok || !strings.HasPrefix(r.ARN, "arn:${Partition}:") {
					t.Errorf("%s:%s: resource type %q has no ARN format", prefix, name, rt)
				}
			}
		}
	}
	for a, deps := range NotNeeded {
		_, row, ok := sar.Lookup(a)
		if !ok {
			t.Errorf("NotNeeded names %s, which is not in the table", a)
		}
		for d := range deps {
			if !strings.Contains(strings.Join(row.DependentActions, " "), d) {
				t.Errorf("NotNeeded exempts %s from %s, which the SAR does not list as dependent", a, d)
			}
		}
	}
	for a := range OneOf {
		if _, _, ok := sar.Lookup(a); !ok {
			t.Errorf("OneOf names %s, which is not in the table", a)
		}
	}
}

// The ARN formats match lakekit's ARNs and tell resource types apart.
func TestPolicyFidelityARNFormats(t *testing.T) {
	sar := SAR()
	for _, c := range []struct {
		action, rt, arn string
		want            bool
	}{
		{"s3:GetObject", "object", "arn:aws:s3:::b/p/q/*", true},
		{"s3:ListBucket", "bucket", "arn:aws:s3:::b/p/*", false},
		{"s3:ListBucket", "bucket", "arn:aws:s3:::b", true},
		{"glue:GetTable", "rootcatalog", "arn:aws:glue:eu-west-1:111122223333:catalog", true},
		{"glue:GetTable", "catalog", "arn:aws:glue:eu-west-1:111122223333:catalog", false},
		{"glue:GetTable", "table", "arn:aws:glue:eu-west-1:111122223333:table/db/*", true},
		{"iam:PassRole", "role", "arn:aws:iam::111122223333:role/path/r", true},
		{"kms:Decrypt", "key", "arn:aws:kms:eu-west-1:111122223333:alias/k", false},
		{"lambda:InvokeFunction", "function", "arn:aws:lambda:eu-west-1:111122223333:function:w:live", true},
		{"ecs:RunTask", "task-definition", "arn:aws:ecs:eu-west-1:111122223333:task-definition/w:*", true},
		{"states:StartExecution", "statemachine", "arn:aws:states:eu-west-1:111122223333:execution:p:*", false},
	} {
		if got := sar.matchesType(c.action, c.rt, c.arn); got != c.want {
			t.Errorf("%s %s matches %s: %v, want %v", c.action, c.rt, c.arn, got, c.want)
		}
	}
}
