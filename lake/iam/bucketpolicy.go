package iam

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

// ZoneAccess is what a bucket policy enforces for one zone of the lake:
// its location, the KMS key its objects must be written with, and the
// roles lakekit derived policies for.
type ZoneAccess struct {
	// Zone names the zone ("raw", "cleaned", "curated"); it names the
	// zone's statements, so it is letters, digits, '-' or '.'.
	Zone string
	// Location is the zone's s3://bucket/prefix/ (lake.Store.Location).
	Location string
	// KMSKey is the key ARN every PutObject into the zone must name
	// (header x-amz-server-side-encryption-aws-kms-key-id). The condition
	// compares the header as sent, so the lake's zone key must be
	// configured as this ARN too: a put naming an alias or a key id is
	// denied.
	KMSKey string
	// Readers may get and list objects; Writers may also put, delete and
	// abort multipart uploads. Role ARNs.
	Readers, Writers []string
	// Deleters, when ProtectDeletes is set, are the only principals that
	// may delete objects in the zone (the roles that vacuum it); every
	// other principal, writers included, is denied s3:DeleteObject.
	Deleters       []string
	ProtectDeletes bool
}

// BucketPolicy renders and applies the policy of one lake bucket: one
// document for every zone located in the bucket, each zone's statements
// scoped to its prefix:
//
//   - LakekitDenyInsecureTransport: Deny s3:* on the bucket and its objects
//     to anyone when aws:SecureTransport is false;
//   - Lakekit<Zone>DenyNotSSEKMS: Deny s3:PutObject under the prefix when
//     s3:x-amz-server-side-encryption is not aws:kms (absent included);
//   - Lakekit<Zone>DenyOtherKey: Deny s3:PutObject under the prefix when
//     s3:x-amz-server-side-encryption-aws-kms-key-id is not the zone's key
//     (absent included: S3 would then use the aws/s3 key);
//   - Lakekit<Zone>DenyDelete (ProtectDeletes): Deny s3:DeleteObject under
//     the prefix to every principal but the Deleters (aws:PrincipalArn);
//   - Lakekit<Zone>Read, Lakekit<Zone>List, Lakekit<Zone>Write: Allow the
//     zone's roles what lake/iam's ReadPrefix and WritePrefix grant them.
type BucketPolicy struct {
	acct   Account
	bucket string
	zones  []ZoneAccess
	errs   []error
}

// BucketPolicies groups zones by bucket and returns one BucketPolicy per
// bucket, sorted by bucket name. The error joins every invalid input.
func BucketPolicies(acct Account, zones ...ZoneAccess) ([]*BucketPolicy, error) {
	if acct.Partition == "" {
		acct.Partition = "aws"
	}
	by := map[string]*BucketPolicy{}
	var errs []error
	seen := map[string]bool{}
	for _, z := range zones {
		bucket, _, err := parseS3(z.Location)
		if err != nil {
			errs = append(errs, fmt.Errorf("zone %q: %w", z.Zone, err))
			continue
		}
		if seen[camel(z.Zone)] {
			errs = append(errs, fmt.Errorf("iam: zone %q is given twice: %w", z.Zone, ErrInvalid))
			continue
		}
		seen[camel(z.Zone)] = true
		bp := by[bucket]
		if bp == nil {
			bp = &BucketPolicy{acct: acct, bucket: bucket}
			by[bucket] = bp
		}
		bp.zones = append(bp.zones, z)
	}
	if len(zones) == 0 {
		errs = append(errs, fmt.Errorf("iam: no zones given: %w", ErrInvalid))
	}
	var out []*BucketPolicy
	for _, bp := range by {
		if _, err := bp.Statements(); err != nil {
			errs = append(errs, err)
		}
		out = append(out, bp)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].bucket < out[j].bucket })
	return out, nil
}

// Bucket returns the bucket the policy is for.
func (b *BucketPolicy) Bucket() string { return b.bucket }

// Statements returns lakekit's statements of the bucket policy.
func (b *BucketPolicy) Statements() ([]ResourceStatement, error) {
	var errs []error
	part := b.acct.Partition
	bucketARN := fmt.Sprintf("arn:%s:s3:::%s", part, b.bucket)
	sts := []ResourceStatement{{
		Sid: OwnedSidPrefix + "DenyInsecureTransport", Effect: "Deny", Principal: Principal{Anyone: true},
		Action: []string{"s3:*"}, Resource: []string{bucketARN, bucketARN + "/*"},
		Condition: map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}},
	}}
	for _, z := range b.zones {
		if !regexpZone.MatchString(z.Zone) {
			errs = append(errs, fmt.Errorf("iam: zone name %q must be letters, digits, '-' or '.': %w", z.Zone, ErrInvalid))
			continue
		}
		_, prefix, err := parseS3(z.Location)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := checkKMS(z.KMSKey); err != nil {
			errs = append(errs, fmt.Errorf("zone %q: %w", z.Zone, err))
			continue
		}
		for _, r := range append(append(append([]string{}, z.Readers...), z.Writers...), z.Deleters...) {
			if err := checkRole("zone "+z.Zone+" principal", r); err != nil {
				errs = append(errs, err)
			}
		}
		if z.ProtectDeletes && len(z.Deleters) == 0 {
			errs = append(errs, fmt.Errorf("iam: zone %q protects deletes but names no Deleters (the roles that vacuum it): %w", z.Zone, ErrInvalid))
		}
		name := OwnedSidPrefix + camel(z.Zone)
		objs := fmt.Sprintf("%s/%s*", bucketARN, prefix)
		sts = append(sts,
			ResourceStatement{Sid: name + "DenyNotSSEKMS", Effect: "Deny", Principal: Principal{Anyone: true},
				Action: []string{"s3:PutObject"}, Resource: []string{objs},
				Condition: map[string]any{"StringNotEquals": map[string]any{"s3:x-amz-server-side-encryption": "aws:kms"}}},
			ResourceStatement{Sid: name + "DenyOtherKey", Effect: "Deny", Principal: Principal{Anyone: true},
				Action: []string{"s3:PutObject"}, Resource: []string{objs},
				Condition: map[string]any{"StringNotEquals": map[string]any{"s3:x-amz-server-side-encryption-aws-kms-key-id": z.KMSKey}}})
		if z.ProtectDeletes {
			sts = append(sts, ResourceStatement{Sid: name + "DenyDelete", Effect: "Deny", Principal: Principal{Anyone: true},
				Action: []string{"s3:DeleteObject"}, Resource: []string{objs},
				Condition: map[string]any{"ArnNotEquals": map[string]any{"aws:PrincipalArn": uniq(z.Deleters)}}})
		}
		readers := uniq(append(append([]string{}, z.Readers...), z.Writers...))
		if len(readers) > 0 {
			sts = append(sts,
				ResourceStatement{Sid: name + "Read", Effect: "Allow", Principal: Principal{AWS: readers},
					Action: []string{"s3:GetObject"}, Resource: []string{objs}},
				ResourceStatement{Sid: name + "List", Effect: "Allow", Principal: Principal{AWS: readers},
					Action: []string{"s3:ListBucket"}, Resource: []string{bucketARN},
					Condition: map[string]any{"StringLike": map[string]any{"s3:prefix": []string{prefix + "*"}}}})
		}
		if w := uniq(z.Writers); len(w) > 0 {
			sts = append(sts, ResourceStatement{Sid: name + "Write", Effect: "Allow", Principal: Principal{AWS: w},
				Action: []string{"s3:AbortMultipartUpload", "s3:DeleteObject", "s3:PutObject"}, Resource: []string{objs}})
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("bucket %s: %w", b.bucket, err)
	}
	return sts, nil
}

// Document returns lakekit's statements as a policy document.
func (b *BucketPolicy) Document() (*ResourceDocument, error) {
	sts, err := b.Statements()
	if err != nil {
		return nil, err
	}
	return &ResourceDocument{Version: "2012-10-17", Statement: sts}, nil
}

// Render returns the bucket policy lakekit renders, as JSON (for
// CloudFormation's AWS::S3::BucketPolicy or Terraform's
// aws_s3_bucket_policy, where no other statement is kept).
func (b *BucketPolicy) Render() ([]byte, error) {
	doc, err := b.Document()
	if err != nil {
		return nil, err
	}
	return json.MarshalIndent(doc, "", "  ")
}

// BucketPolicyGetter reads a bucket's policy (*s3.Client implements it).
type BucketPolicyGetter interface {
	GetBucketPolicy(ctx context.Context, in *s3.GetBucketPolicyInput, optFns ...func(*s3.Options)) (*s3.GetBucketPolicyOutput, error)
}

// BucketPolicyPutter writes a bucket's policy (*s3.Client implements it).
type BucketPolicyPutter interface {
	PutBucketPolicy(ctx context.Context, in *s3.PutBucketPolicyInput, optFns ...func(*s3.Options)) (*s3.PutBucketPolicyOutput, error)
}

// BucketPolicyAPI is the S3 calls Apply makes.
type BucketPolicyAPI interface {
	BucketPolicyGetter
	BucketPolicyPutter
}

// Apply reads the bucket's current policy (none is fine), merges
// lakekit's statements into it by Sid (MergeStatements: foreign
// statements are kept) and writes it only when it changed. It returns
// whether it wrote the policy.
func (b *BucketPolicy) Apply(ctx context.Context, api BucketPolicyAPI) (bool, error) {
	sts, err := b.Statements()
	if err != nil {
		return false, err
	}
	var current []byte
	out, err := api.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String(b.bucket)})
	switch {
	case err == nil:
		current = []byte(aws.ToString(out.Policy))
	case noBucketPolicy(err):
	default:
		return false, fmt.Errorf("iam: reading the policy of bucket %s: %w", b.bucket, err)
	}
	merged, changed, err := MergeStatements(current, sts)
	if err != nil {
		return false, fmt.Errorf("iam: bucket %s: %w", b.bucket, err)
	}
	if !changed {
		return false, nil
	}
	if _, err := api.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(b.bucket), Policy: aws.String(string(merged))}); err != nil {
		return false, fmt.Errorf("iam: writing the policy of bucket %s: %w", b.bucket, err)
	}
	return true, nil
}

// noBucketPolicy reports the error S3 answers GetBucketPolicy with when
// the bucket has no policy.
func noBucketPolicy(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == "NoSuchBucketPolicy"
}

func uniq(in []string) []string {
	m := map[string]bool{}
	for _, s := range in {
		m[s] = true
	}
	return sorted(m)
}
