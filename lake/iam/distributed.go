package iam

import "fmt"

// DistributedMap grants what a state machine with a Distributed Map state
// needs besides the work of its child executions (the AWS Step Functions
// guide, "IAM policies for using Distributed Map states"
// (docs.aws.amazon.com/step-functions/latest/dg/iam-policies-eg-dist-map.html)):
//
//   - states:StartExecution on the state machine itself: each batch runs
//     as a child execution of it;
//   - states:DescribeExecution and states:StopExecution on its child
//     executions and its own: "execution:<state machine>*:*" (the child
//     executions' ARNs carry the Map Run's label after the state machine
//     name; the pattern also covers state machines whose names start
//     with this one's);
//   - s3:GetObject under manifests, the s3:// prefix the ItemReader reads
//     the item file from (arn:aws:states:::s3:getObject);
//   - s3:PutObject, s3:GetObject, s3:ListMultipartUploadParts and
//     s3:AbortMultipartUpload under results, the ResultWriter's prefix
//     (the guide's ResultWriter page lists them).
func (p *Policy) DistributedMap(stateMachine, manifests, results string) *Policy {
	if !sfnNameRE.MatchString(stateMachine) {
		p.errs = append(p.errs, fmt.Errorf("iam: state machine name %q is not valid: %w", stateMachine, ErrInvalid))
		return p
	}
	part := p.acct.Partition
	objects := func(loc string) (string, bool) {
		bucket, prefix, err := parseS3(loc)
		if err != nil {
			p.errs = append(p.errs, err)
			return "", false
		}
		return fmt.Sprintf("arn:%s:s3:::%s/%s*", part, bucket, prefix), true
	}
	man, ok1 := objects(manifests)
	res, ok2 := objects(results)
	if !ok1 || !ok2 {
		return p
	}
	p.add("StatesMapRun", []string{"states:StartExecution"}, []string{p.arn("states", "stateMachine:"+stateMachine)}, "")
	p.add("StatesMapRunWatch", []string{"states:DescribeExecution", "states:StopExecution"},
		[]string{p.arn("states", "execution:"+stateMachine+"*:*")}, "")
	p.add("MapItemReader", []string{"s3:GetObject"}, []string{man}, "")
	p.add("MapResultWriter", []string{"s3:PutObject", "s3:GetObject", "s3:ListMultipartUploadParts", "s3:AbortMultipartUpload"}, []string{res}, "")
	return p
}
