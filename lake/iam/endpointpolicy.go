package iam

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
)

// EndpointScope is what the lake's VPC endpoints may reach: its buckets,
// its Glue databases, its Athena workgroups and the roles its tasks
// assume. EndpointPolicies renders one endpoint policy per service from
// it; a request through an endpoint that its policy does not allow is
// refused, whatever the caller's own policies say (the endpoint policy
// does not grant anything by itself).
type EndpointScope struct {
	Account Account
	// Buckets are s3:// locations of the lake's buckets (zones, Athena
	// results, manifests); only the bucket part is used.
	Buckets []string
	// Databases are the Glue databases the lake's catalog holds.
	Databases []string
	// CatalogWide also allows the calls that name no database
	// (glue:GetDatabases, glue:SearchTables: catalog.Databases and
	// Search), on every database of the account's catalog.
	CatalogWide bool
	// WorkGroups are the Athena workgroups the lake queries in.
	WorkGroups []string
	// Roles are the role ARNs the lake's tasks assume through STS.
	Roles []string
}

var workGroupRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,128}$`)

// EndpointPolicies renders the endpoint policies, by service: "s3" for
// the S3 gateway endpoint, "glue", "athena" and "sts" for the interface
// endpoints (a service whose scope is empty gets none). Every statement
// is limited to the lake's account with aws:ResourceAccount (a bucket of
// the same name in another account is not reached) and names the lake's
// resources:
//
//   - s3, LakekitS3Lake: object and bucket calls lakekit makes on the
//     lake's buckets;
//   - glue, LakekitGlueLake: the catalog calls of lake/iam's Catalog(Manage)
//     on the lake's databases and their tables (LakekitGlueSearch with
//     CatalogWide);
//   - athena, LakekitAthenaLake: running queries in the lake's workgroups
//     and reading the default data catalog;
//   - sts, LakekitSTSAssume: assuming the lake's roles; LakekitSTSWhoAmI:
//     GetCallerIdentity.
//
// Other uses of the same endpoints (ECR image layers through the S3
// gateway endpoint, for example) need their own statements, which the
// VPC's owner adds next to these.
func EndpointPolicies(scope EndpointScope) (map[string][]byte, error) {
	acct := scope.Account
	if acct.Partition == "" {
		acct.Partition = "aws"
	}
	var errs []error
	if !regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d$`).MatchString(acct.Region) {
		errs = append(errs, fmt.Errorf("iam: region %q is not an AWS region name: %w", acct.Region, ErrInvalid))
	}
	if !accountIDRE.MatchString(acct.ID) {
		errs = append(errs, fmt.Errorf("iam: account id %q must be 12 digits: %w", acct.ID, ErrInvalid))
	}
	inAccount := map[string]any{"StringEquals": map[string]any{"aws:ResourceAccount": acct.ID}}
	docs := map[string][]ResourceStatement{}
	for svc, build := range map[string]func(Account, EndpointScope, map[string]any) ([]ResourceStatement, []error){
		"s3": s3EndpointStatements, "glue": glueEndpointStatements, "athena": athenaEndpointStatements, "sts": stsEndpointStatements,
	} {
		sts, e := build(acct, scope, inAccount)
		errs = append(errs, e...)
		if len(sts) > 0 {
			docs[svc] = sts
		}
	}
	if len(docs) == 0 {
		errs = append(errs, fmt.Errorf("iam: the endpoint scope names no bucket, database, workgroup or role: %w", ErrInvalid))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	for svc, sts := range docs {
		b, err := json.MarshalIndent(ResourceDocument{Version: "2012-10-17", Statement: sts}, "", "  ")
		if err != nil {
			return nil, err
		}
		out[svc] = b
	}
	return out, nil
}

// s3EndpointStatements limits the S3 gateway endpoint to the lake's buckets.
func s3EndpointStatements(acct Account, scope EndpointScope, inAccount map[string]any) ([]ResourceStatement, []error) {
	var errs []error
	buckets := map[string]bool{}
	for _, loc := range scope.Buckets {
		b, _, err := parseS3(loc)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		buckets[fmt.Sprintf("arn:%s:s3:::%s", acct.Partition, b)] = true
		buckets[fmt.Sprintf("arn:%s:s3:::%s/*", acct.Partition, b)] = true
	}
	if len(buckets) == 0 {
		return nil, errs
	}
	return []ResourceStatement{{Sid: OwnedSidPrefix + "S3Lake", Effect: "Allow", Principal: Principal{Anyone: true},
		Action: []string{"s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetBucketLocation", "s3:GetObject", "s3:ListBucket",
			"s3:ListBucketMultipartUploads", "s3:ListMultipartUploadParts", "s3:PutObject"},
		Resource: sorted(buckets), Condition: inAccount}}, errs
}

// glueEndpointStatements limits the Glue interface endpoint to the lake's
// databases (and, CatalogWide, to listing and search).
func glueEndpointStatements(acct Account, scope EndpointScope, inAccount map[string]any) ([]ResourceStatement, []error) {
	var errs []error
	var out []ResourceStatement
	glueBase := fmt.Sprintf("arn:%s:glue:%s:%s:", acct.Partition, acct.Region, acct.ID)
	glue := map[string]bool{}
	for _, db := range scope.Databases {
		if err := CheckGlueName("database", db); err != nil {
			errs = append(errs, err)
			continue
		}
		glue[glueBase+"catalog"] = true
		glue[glueBase+"database/"+db] = true
		glue[glueBase+"table/"+db+"/*"] = true
		glue[glueBase+"userDefinedFunction/"+db+"/*"] = true
	}
	if len(glue) > 0 {
		out = append(out, ResourceStatement{Sid: OwnedSidPrefix + "GlueLake", Effect: "Allow", Principal: Principal{Anyone: true},
			Action: []string{"glue:BatchCreatePartition", "glue:BatchDeletePartition", "glue:BatchGetPartition", "glue:BatchUpdatePartition",
				"glue:CreateDatabase", "glue:CreatePartition", "glue:CreatePartitionIndex", "glue:CreateTable", "glue:DeleteDatabase",
				"glue:DeleteTable", "glue:GetDatabase", "glue:GetPartition", "glue:GetPartitions", "glue:GetTable", "glue:GetTableVersion",
				"glue:GetTableVersions", "glue:GetTables", "glue:UpdatePartition", "glue:UpdateTable"},
			Resource: sorted(glue), Condition: inAccount})
	}
	if scope.CatalogWide {
		out = append(out, ResourceStatement{Sid: OwnedSidPrefix + "GlueSearch", Effect: "Allow", Principal: Principal{Anyone: true},
			Action:    []string{"glue:GetDatabases", "glue:SearchTables"},
			Resource:  []string{glueBase + "catalog", glueBase + "database/*", glueBase + "table/*/*"},
			Condition: inAccount})
	}
	return out, errs
}

// athenaEndpointStatements limits the Athena interface endpoint to the
// lake's workgroups.
func athenaEndpointStatements(acct Account, scope EndpointScope, inAccount map[string]any) ([]ResourceStatement, []error) {
	var errs []error
	wgs := map[string]bool{}
	for _, wg := range scope.WorkGroups {
		if !workGroupRE.MatchString(wg) {
			errs = append(errs, fmt.Errorf("iam: Athena workgroup %q is not a valid name: %w", wg, ErrInvalid))
			continue
		}
		wgs[fmt.Sprintf("arn:%s:athena:%s:%s:workgroup/%s", acct.Partition, acct.Region, acct.ID, wg)] = true
	}
	if len(wgs) == 0 {
		return nil, errs
	}
	return []ResourceStatement{
		{Sid: OwnedSidPrefix + "AthenaLake", Effect: "Allow", Principal: Principal{Anyone: true},
			Action: []string{"athena:GetQueryExecution", "athena:GetQueryResults", "athena:GetWorkGroup",
				"athena:StartQueryExecution", "athena:StopQueryExecution"},
			Resource: sorted(wgs), Condition: inAccount},
		{Sid: OwnedSidPrefix + "AthenaCatalog", Effect: "Allow", Principal: Principal{Anyone: true},
			Action:    []string{"athena:GetDataCatalog"},
			Resource:  []string{fmt.Sprintf("arn:%s:athena:%s:%s:datacatalog/AwsDataCatalog", acct.Partition, acct.Region, acct.ID)},
			Condition: inAccount},
	}, errs
}

// stsEndpointStatements limits the STS interface endpoint to the lake's
// roles.
func stsEndpointStatements(_ Account, scope EndpointScope, inAccount map[string]any) ([]ResourceStatement, []error) {
	var errs []error
	roles := map[string]bool{}
	for _, r := range scope.Roles {
		if err := checkRole("role", r); err != nil {
			errs = append(errs, err)
			continue
		}
		roles[r] = true
	}
	if len(roles) == 0 {
		return nil, errs
	}
	return []ResourceStatement{
		{Sid: OwnedSidPrefix + "STSAssume", Effect: "Allow", Principal: Principal{Anyone: true},
			Action: []string{"sts:AssumeRole"}, Resource: sorted(roles), Condition: inAccount},
		{Sid: OwnedSidPrefix + "STSWhoAmI", Effect: "Allow", Principal: Principal{Anyone: true},
			Action: []string{"sts:GetCallerIdentity"}, Resource: []string{"*"}},
	}, errs
}
