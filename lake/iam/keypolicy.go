package iam

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
)

// ServiceUse lets a role use a zone key only through AWS services
// (kms:ViaService): the role Athena, Redshift (COPY, UNLOAD, Spectrum),
// Firehose or DMS runs as reaches the key through S3 or the service
// itself, never directly.
type ServiceUse struct {
	// Role is the role ARN (Athena's caller, a Redshift cluster role, a
	// Firehose delivery role, a DMS S3 target role).
	Role string
	// Access is Read (Decrypt) or ReadWrite (also GenerateDataKey).
	Access Access
	// Services are the service endpoint names the calls come through:
	// "s3", "athena", "redshift", "firehose", "dms", "glue". The key
	// policy names them as <service>.<region>.amazonaws.com.
	Services []string
}

// KeyPolicy renders the statements of a zone key's policy that let the
// lake use the key; they are to be merged into the key policy (which
// keeps its administrators' statements: MergeStatements):
//
//   - LakekitKeyRead: kms:Decrypt and kms:DescribeKey to the Readers and
//     Writers (reading objects, and multipart uploads, decrypt);
//   - LakekitKeyWrite: kms:GenerateDataKey to the Writers (PutObject with
//     SSE-KMS asks for a data key);
//   - LakekitKeyViaService<N>: Decrypt (and GenerateDataKey) to a service
//     role, when kms:ViaService is one of its services and
//     kms:CallerAccount is the lake's account.
//
// In a key policy, Resource "*" means the key the policy is attached to.
type KeyPolicy struct {
	Account Account
	// KeyARN is the zone key.
	KeyARN           string
	Readers, Writers []string
	Services         []ServiceUse
}

var serviceNameRE = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)

// Statements returns the key policy statements, or every invalid input.
func (k *KeyPolicy) Statements() ([]ResourceStatement, error) {
	var errs []error
	acct := k.Account
	if acct.Partition == "" {
		acct.Partition = "aws"
	}
	if err := checkKMS(k.KeyARN); err != nil {
		errs = append(errs, err)
	}
	if !regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d$`).MatchString(acct.Region) {
		errs = append(errs, fmt.Errorf("iam: region %q is not an AWS region name: %w", acct.Region, ErrInvalid))
	}
	if !accountIDRE.MatchString(acct.ID) {
		errs = append(errs, fmt.Errorf("iam: account id %q must be 12 digits: %w", acct.ID, ErrInvalid))
	}
	for _, r := range append(append([]string{}, k.Readers...), k.Writers...) {
		if err := checkRole("key user", r); err != nil {
			errs = append(errs, err)
		}
	}
	var sts []ResourceStatement
	if users := uniq(append(append([]string{}, k.Readers...), k.Writers...)); len(users) > 0 {
		sts = append(sts, ResourceStatement{Sid: OwnedSidPrefix + "KeyRead", Effect: "Allow", Principal: Principal{AWS: users},
			Action: []string{"kms:Decrypt", "kms:DescribeKey"}, Resource: []string{"*"}})
	}
	if w := uniq(k.Writers); len(w) > 0 {
		sts = append(sts, ResourceStatement{Sid: OwnedSidPrefix + "KeyWrite", Effect: "Allow", Principal: Principal{AWS: w},
			Action: []string{"kms:GenerateDataKey"}, Resource: []string{"*"}})
	}
	for i, s := range k.Services {
		if err := checkRole("service role", s.Role); err != nil {
			errs = append(errs, err)
		}
		if len(s.Services) == 0 {
			errs = append(errs, fmt.Errorf("iam: service use %d (%s) names no service: %w", i, s.Role, ErrInvalid))
		}
		via := map[string]bool{}
		for _, svc := range s.Services {
			if !serviceNameRE.MatchString(svc) {
				errs = append(errs, fmt.Errorf("iam: service %q is not a service endpoint name (s3, athena, ...): %w", svc, ErrInvalid))
				continue
			}
			via[fmt.Sprintf("%s.%s.amazonaws.com", svc, acct.Region)] = true
		}
		actions := []string{"kms:Decrypt", "kms:DescribeKey"}
		if s.Access >= ReadWrite {
			actions = append(actions, "kms:GenerateDataKey")
		}
		sts = append(sts, ResourceStatement{Sid: fmt.Sprintf("%sKeyViaService%d", OwnedSidPrefix, i+1), Effect: "Allow",
			Principal: Principal{AWS: []string{s.Role}}, Action: actions, Resource: []string{"*"},
			Condition: map[string]any{"StringEquals": map[string]any{"kms:ViaService": sorted(via), "kms:CallerAccount": acct.ID}}})
	}
	if len(sts) == 0 {
		errs = append(errs, fmt.Errorf("iam: the key policy names no reader, writer or service role: %w", ErrInvalid))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return sts, nil
}

// Render returns the statements as a policy document, to merge into the
// key policy (MergeStatements, or by hand in CloudFormation/Terraform
// next to the key administrators' statements).
func (k *KeyPolicy) Render() ([]byte, error) {
	sts, err := k.Statements()
	if err != nil {
		return nil, err
	}
	return json.MarshalIndent(ResourceDocument{Version: "2012-10-17", Statement: sts}, "", "  ")
}

// Merge merges the statements into a key policy (kms GetKeyPolicy's
// Policy), keeping every other statement; changed reports whether a
// PutKeyPolicy is needed.
func (k *KeyPolicy) Merge(current []byte) (merged []byte, changed bool, err error) {
	sts, err := k.Statements()
	if err != nil {
		return nil, false, err
	}
	return MergeStatements(current, sts)
}
