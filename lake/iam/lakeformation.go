package iam

import "fmt"

// LakeFormationPrincipal is the service roles registered with Lake
// Formation are passed to.
const LakeFormationPrincipal = "lakeformation.amazonaws.com"

// LakeFormationData grants lakeformation:GetDataAccess, with which Athena,
// Redshift Spectrum and Glue get temporary credentials for the locations
// Lake Formation governs. It has no resource types, so it is granted on
// "*"; what the principal may read is decided by its Lake Formation
// permissions. Athena and AthenaSync grant it.
func (p *Policy) LakeFormationData() *Policy {
	p.add("LakeFormationDataAccess", []string{"lakeformation:GetDataAccess"}, []string{"*"}, "")
	return p
}

// LakeFormationPermissions grants granting, revoking and listing Lake
// Formation permissions (what the Glue catalog's Grant, Revoke and
// Permissions call). The actions have no resource types, so they are
// granted on "*": Lake Formation itself only lets a data lake
// administrator, or a principal holding the permission with the grant
// option, grant it.
func (p *Policy) LakeFormationPermissions() *Policy {
	p.add("LakeFormationPermissions", []string{"lakeformation:GrantPermissions", "lakeformation:RevokePermissions",
		"lakeformation:ListPermissions"}, []string{"*"}, "")
	return p
}

// RegisterLocation grants registering (and deregistering) S3 locations
// with Lake Formation with roleARN, the role Lake Formation assumes to
// read and write them: lakeformation:RegisterResource and
// DeregisterResource (no resource types, so on "*"), and iam:PassRole on
// the role to Lake Formation only. The role itself needs a policy with
// WritePrefix on the location (and KMS for its key). Whoever calls this
// must also be a data lake administrator.
func (p *Policy) RegisterLocation(roleARN string) *Policy {
	p.add("LakeFormationRegister", []string{"lakeformation:RegisterResource", "lakeformation:DeregisterResource"}, []string{"*"}, "")
	return p.PassRole(LakeFormationPrincipal, roleARN)
}

// DataLocationARN returns the ARN Lake Formation names an s3:// location
// by ("arn:aws:s3:::bucket/prefix", without the trailing slash): the
// DataLocation.ResourceArn of a DATA_LOCATION_ACCESS grant and the
// ResourceArn of RegisterResource.
func DataLocationARN(partition, location string) (string, error) {
	bucket, prefix, err := parseS3(location)
	if err != nil {
		return "", err
	}
	if partition == "" {
		partition = "aws"
	}
	arn := fmt.Sprintf("arn:%s:s3:::%s", partition, bucket)
	if prefix != "" {
		arn += "/" + prefix[:len(prefix)-1]
	}
	return arn, nil
}
