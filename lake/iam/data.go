package iam

import (
	"fmt"
	"regexp"
	"strings"
)

// parseS3 splits "s3://bucket/prefix/" into bucket and prefix.
func parseS3(loc string) (bucket, prefix string, err error) {
	rest, ok := strings.CutPrefix(loc, "s3://")
	if !ok {
		return "", "", fmt.Errorf("iam: location %q is not an s3:// location: %w", loc, ErrInvalid)
	}
	bucket, prefix, _ = strings.Cut(rest, "/")
	if !regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`).MatchString(bucket) {
		return "", "", fmt.Errorf("iam: bucket %q in %q is not a valid S3 bucket name: %w", bucket, loc, ErrInvalid)
	}
	if strings.ContainsAny(prefix, "*?") {
		return "", "", fmt.Errorf("iam: prefix %q must not contain wildcards: %w", prefix, ErrInvalid)
	}
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	return bucket, prefix, nil
}

func (p *Policy) s3(loc string, write bool) {
	bucket, prefix, err := parseS3(loc)
	if err != nil {
		p.errs = append(p.errs, err)
		return
	}
	part := p.acct.Partition
	obj := fmt.Sprintf("arn:%s:s3:::%s/%s*", part, bucket, prefix)
	p.add("ReadObjects", []string{"s3:GetObject"}, []string{obj}, "")
	p.add(p.listSid(bucket), []string{"s3:ListBucket"}, []string{fmt.Sprintf("arn:%s:s3:::%s", part, bucket)}, prefix+"*")
	if write {
		p.add("WriteObjects", []string{"s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"}, []string{obj}, "")
	}
}

// ReadPrefix grants reading and listing objects under an s3:// location.
func (p *Policy) ReadPrefix(location string) *Policy { p.s3(location, false); return p }

// WritePrefix grants reading, listing, writing and deleting objects under an
// s3:// location (commits, vacuum and multipart uploads need all of them).
func (p *Policy) WritePrefix(location string) *Policy { p.s3(location, true); return p }

var nameRE = regexp.MustCompile(`^[a-z0-9_]{1,255}$`)

// Catalog grants Glue access to tables of a database ("*" for every
// table): Read to read tables, partitions and schema versions; ReadWrite
// also to create the database (the first commit into a new database does),
// tables, partitions and partition indexes and to update them; Manage
// also to drop tables and the database.
func (p *Policy) Catalog(a Access, database string, tables ...string) *Policy {
	if !nameRE.MatchString(database) {
		p.errs = append(p.errs, fmt.Errorf("iam: Glue database %q is not a valid name: %w", database, ErrInvalid))
		return p
	}
	base := fmt.Sprintf("arn:%s:glue:%s:%s", p.acct.Partition, p.acct.Region, p.acct.ID)
	res := []string{base + ":catalog", base + ":database/" + database}
	if len(tables) == 0 {
		tables = []string{"*"}
	}
	for _, t := range tables {
		if t != "*" && !nameRE.MatchString(t) {
			p.errs = append(p.errs, fmt.Errorf("iam: Glue table %q is not a valid name: %w", t, ErrInvalid))
			continue
		}
		res = append(res, base+":table/"+database+"/"+t)
	}
	p.add("GlueRead", []string{"glue:GetDatabase", "glue:GetTable", "glue:GetTables", "glue:GetTableVersions",
		"glue:GetPartition", "glue:GetPartitions", "glue:BatchGetPartition"}, res, "")
	if a >= ReadWrite {
		// The first commit into a new database creates it; a table
		// created with partition indexes creates them.
		p.add("GlueWrite", []string{"glue:CreateDatabase", "glue:CreateTable", "glue:UpdateTable", "glue:BatchCreatePartition",
			"glue:BatchUpdatePartition", "glue:BatchDeletePartition", "glue:CreatePartition", "glue:UpdatePartition",
			"glue:CreatePartitionIndex"}, res, "")
	}
	if a >= Manage {
		// Deleting a database deletes its tables and functions too.
		p.add("GlueDrop", []string{"glue:DeleteTable", "glue:DeleteDatabase"},
			append(res, base+":userDefinedFunction/"+database+"/*"), "")
	}
	return p
}

// SearchCatalog grants listing the catalog's databases and searching its
// tables (the catalog's Databases and Search), on every database and
// table of the account's catalog: the calls name no database, so no
// narrower grant lets them answer.
func (p *Policy) SearchCatalog() *Policy {
	base := p.arn("glue", "")
	p.add("GlueSearch", []string{"glue:GetDatabases", "glue:SearchTables"},
		[]string{base + "catalog", base + "database/*", base + "table/*/*"}, "")
	return p
}

var (
	kmsRE      = regexp.MustCompile(`^arn:[a-z-]+:kms:[a-z0-9-]+:\d{12}:key/[A-Za-z0-9/_+=.@-]+$`)
	kmsAliasRE = regexp.MustCompile(`^arn:[a-z-]+:kms:[a-z0-9-]+:\d{12}:alias/`)
)

// checkKMS refuses anything but a key ARN. An alias ARN gets its own
// error: the KMS developer guide says an alias cannot identify a key in
// the Resource of an IAM policy statement, so a grant on it never
// matches.
func checkKMS(arn string) error {
	if kmsAliasRE.MatchString(arn) {
		return fmt.Errorf("iam: %q is a KMS alias ARN, which cannot identify a key in an IAM policy statement: give the key ARN (arn:aws:kms:region:account:key/id) the alias points to: %w", arn, ErrInvalid)
	}
	if !kmsRE.MatchString(arn) {
		return fmt.Errorf("iam: %q is not a KMS key ARN (arn:aws:kms:region:account:key/id): %w", arn, ErrInvalid)
	}
	return nil
}

// KMS grants use of a key, given by its key ARN (an alias ARN is
// refused): decrypt to read; encrypt and data keys to write.
func (p *Policy) KMS(a Access, keyARN string) *Policy {
	if err := checkKMS(keyARN); err != nil {
		p.errs = append(p.errs, err)
		return p
	}
	p.add("KMSDecrypt", []string{"kms:Decrypt", "kms:DescribeKey"}, []string{keyARN}, "")
	if a >= ReadWrite {
		p.add("KMSEncrypt", []string{"kms:Encrypt", "kms:GenerateDataKey", "kms:ReEncrypt*"}, []string{keyARN}, "")
	}
	return p
}

// ParseS3 splits an s3://bucket/prefix location into its bucket and its
// prefix (ending in "/" unless empty), the way ReadPrefix and WritePrefix
// read it. The error, wrapping ErrInvalid, names what is wrong.
func ParseS3(location string) (bucket, prefix string, err error) { return parseS3(location) }

// CheckGlueName reports whether name is a Glue database or table name a
// policy can use: lower-case letters, digits and '_', 1 to 255 characters.
func CheckGlueName(kind, name string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("iam: Glue %s %q is not a valid name (lower-case letters, digits and '_'): %w", kind, name, ErrInvalid)
	}
	return nil
}

// CheckKMSKey reports whether arn is a KMS key ARN a policy can grant
// use of. An alias ARN is refused with an error naming it: an alias
// cannot identify a key in an IAM policy statement.
func CheckKMSKey(arn string) error { return checkKMS(arn) }

// BucketLocation grants s3:GetBucketLocation on the bucket of an s3://
// location (Athena asks it for every bucket it reads or writes).
func (p *Policy) BucketLocation(location string) *Policy {
	bucket, _, err := parseS3(location)
	if err != nil {
		p.errs = append(p.errs, err)
		return p
	}
	p.add("BucketLocation", []string{"s3:GetBucketLocation"}, []string{fmt.Sprintf("arn:%s:s3:::%s", p.acct.Partition, bucket)}, "")
	return p
}
