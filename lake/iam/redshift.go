package iam

import (
	"fmt"
	"regexp"
)

var (
	redshiftClusterRE   = regexp.MustCompile(`^arn:aws[a-z-]*:redshift:[a-z0-9-]+:\d{12}:cluster:[a-z][a-z0-9-]{0,62}$`)
	redshiftWorkgroupRE = regexp.MustCompile(`^arn:aws[a-z-]*:redshift-serverless:[a-z0-9-]+:\d{12}:workgroup/[a-z0-9-]{1,64}$`)
)

// RedshiftData grants what query's Redshift engine calls through the
// Redshift Data API on a provisioned cluster or a serverless workgroup,
// given by ARN: redshift-data:ExecuteStatement and BatchExecuteStatement
// on it, and DescribeStatement, GetStatementResult and CancelStatement,
// which have no resource types, on "*" but only for the caller's own
// statements (redshift-data:statement-owner-iam-userid = ${aws:userid}).
// The database credentials need their own grant, which depends on how
// the engine signs in: redshift:GetClusterCredentials (DbUser),
// redshift-serverless:GetCredentials, or secretsmanager:GetSecretValue
// on the SecretArn.
func (p *Policy) RedshiftData(clusterOrWorkgroupARN string) *Policy {
	if !redshiftClusterRE.MatchString(clusterOrWorkgroupARN) && !redshiftWorkgroupRE.MatchString(clusterOrWorkgroupARN) {
		p.errs = append(p.errs, fmt.Errorf("iam: %q is not a Redshift cluster ARN (arn:aws:redshift:region:account:cluster:name) or serverless workgroup ARN (arn:aws:redshift-serverless:region:account:workgroup/id): %w",
			clusterOrWorkgroupARN, ErrInvalid))
		return p
	}
	p.add("RedshiftDataRun", []string{"redshift-data:ExecuteStatement", "redshift-data:BatchExecuteStatement"}, []string{clusterOrWorkgroupARN}, "")
	p.add("RedshiftDataOwnStatements", []string{"redshift-data:DescribeStatement", "redshift-data:GetStatementResult",
		"redshift-data:CancelStatement"}, []string{"*"}, "")
	p.addCond("RedshiftDataOwnStatements", "StringEquals", "redshift-data:statement-owner-iam-userid", "${aws:userid}")
	return p
}
