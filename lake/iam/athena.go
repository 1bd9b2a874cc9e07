package iam

import (
	"fmt"
	"regexp"
)

// Athena grants running queries in a workgroup (the caller also needs read
// access to the tables' prefixes and write access to the results prefix),
// and lakeformation:GetDataAccess (see LakeFormationData) for tables whose
// locations Lake Formation governs.
func (p *Policy) Athena(workgroup string) *Policy {
	if !regexp.MustCompile(`^[a-zA-Z0-9._-]{1,128}$`).MatchString(workgroup) {
		p.errs = append(p.errs, fmt.Errorf("iam: Athena workgroup %q is not a valid name: %w", workgroup, ErrInvalid))
		return p
	}
	p.add("Athena", []string{"athena:StartQueryExecution", "athena:GetQueryExecution", "athena:GetQueryResults",
		"athena:StopQueryExecution", "athena:GetWorkGroup"},
		[]string{fmt.Sprintf("arn:%s:athena:%s:%s:workgroup/%s", p.acct.Partition, p.acct.Region, p.acct.ID, workgroup)}, "")
	p.LakeFormationData()
	return p
}

// AthenaResults grants what Athena does, with the caller's credentials, to
// a query results location: list the prefix, locate the bucket, write,
// read back and clean up (multipart) result objects.
func (p *Policy) AthenaResults(location string) *Policy {
	bucket, prefix, err := parseS3(location)
	if err != nil {
		p.errs = append(p.errs, err)
		return p
	}
	part := p.acct.Partition
	b := fmt.Sprintf("arn:%s:s3:::%s", part, bucket)
	p.add("AthenaResultObjects", []string{"s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"},
		[]string{fmt.Sprintf("arn:%s:s3:::%s/%s*", part, bucket, prefix)}, "")
	p.add("AthenaResultBucket", []string{"s3:GetBucketLocation", "s3:ListBucketMultipartUploads"}, []string{b}, "")
	p.add(p.listSid(bucket), []string{"s3:ListBucket"}, []string{b}, prefix+"*")
	return p
}

// AthenaCatalog is the name of Athena's default data catalog (Glue).
const AthenaCatalog = "AwsDataCatalog"

// AthenaSync grants what Step Functions' athena:startQueryExecution.sync
// integration calls: starting, polling and (when the execution stops)
// stopping query executions in the workgroup, reading the default data
// catalog's description, and lakeformation:GetDataAccess (see
// LakeFormationData; Step Functions' own policy template for the
// integration has it). The queried tables need Catalog and ReadPrefix
// grants, the results location AthenaResults.
func (p *Policy) AthenaSync(workgroup string) *Policy {
	if !workgroupRE.MatchString(workgroup) {
		p.errs = append(p.errs, fmt.Errorf("iam: Athena workgroup %q is not a valid name: %w", workgroup, ErrInvalid))
		return p
	}
	p.add("AthenaQueries", []string{"athena:StartQueryExecution", "athena:GetQueryExecution", "athena:StopQueryExecution"},
		[]string{p.arn("athena", "workgroup/"+workgroup)}, "")
	p.add("AthenaDataCatalog", []string{"athena:GetDataCatalog"}, []string{p.arn("athena", "datacatalog/"+AthenaCatalog)}, "")
	p.LakeFormationData()
	return p
}

var workgroupRE = regexp.MustCompile(`^[a-zA-Z0-9._-]{1,128}$`)
