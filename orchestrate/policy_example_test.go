package orchestrate_test

import (
	"context"
	"fmt"

	"github.com/lakekit/lakekit/lake/iam"
	"github.com/lakekit/lakekit/orchestrate"
)

// Steps declare the lake data they touch; the policies of the state
// machine's role and of the worker's role follow from the pipeline.
func ExampleStateMachinePolicy() {
	nop := func(ctx context.Context, in orchestrate.Input) (orchestrate.Output, error) { return nil, nil }
	p := orchestrate.New("clicks",
		orchestrate.GoStep("clean", nop).
			Reads("s3://acme-lake/prod/raw/web/").
			Writes("s3://acme-lake/prod/cleaned/web/"),
		orchestrate.SQLStep("daily", "INSERT INTO clicks_daily SELECT day, count(*) FROM clicks GROUP BY day").After("clean").
			Reads("s3://acme-lake/prod/cleaned/web/", "glue://web/clicks").
			Writes("s3://acme-lake/prod/curated/web/", "glue://web/clicks_daily"),
	)
	opts := &orchestrate.CompileOptions{
		Lambda:         &orchestrate.LambdaOptions{FunctionName: "lakekit-worker"},
		AthenaDatabase: "web", AthenaWorkGroup: "etl", AthenaOutputLocation: "s3://acme-results/athena/",
	}
	acct := iam.Account{Region: "eu-west-1", ID: "111122223333"}

	sm, err := orchestrate.StateMachinePolicy(p, opts, acct, nil)
	if err != nil {
		panic(err)
	}
	doc, _ := sm.Document()
	fmt.Println("state machine role:")
	for _, st := range doc.Statement {
		fmt.Println(" ", st.Sid, st.Action, st.Resource)
	}

	worker, err := orchestrate.WorkerPolicy(p, opts, acct)
	if err != nil {
		panic(err)
	}
	raw, _ := worker.JSON()
	fmt.Println("worker role:")
	fmt.Println(string(raw))
	fmt.Println("valid:", iam.Validate(raw) == nil)
	// Output:
	// state machine role:
	//   AthenaDataCatalog [athena:GetDataCatalog] [arn:aws:athena:eu-west-1:111122223333:datacatalog/AwsDataCatalog]
	//   AthenaQueries [athena:GetQueryExecution athena:StartQueryExecution athena:StopQueryExecution] [arn:aws:athena:eu-west-1:111122223333:workgroup/etl]
	//   AthenaResultBucket [s3:GetBucketLocation s3:ListBucketMultipartUploads] [arn:aws:s3:::acme-results]
	//   AthenaResultObjects [s3:AbortMultipartUpload s3:GetObject s3:ListMultipartUploadParts s3:PutObject] [arn:aws:s3:::acme-results/athena/*]
	//   BucketLocation [s3:GetBucketLocation] [arn:aws:s3:::acme-lake]
	//   GlueRead [glue:BatchGetPartition glue:GetDatabase glue:GetPartition glue:GetPartitions glue:GetTable glue:GetTableVersions glue:GetTables] [arn:aws:glue:eu-west-1:111122223333:catalog arn:aws:glue:eu-west-1:111122223333:database/web arn:aws:glue:eu-west-1:111122223333:table/web/clicks arn:aws:glue:eu-west-1:111122223333:table/web/clicks_daily]
	//   GlueWrite [glue:BatchCreatePartition glue:BatchDeletePartition glue:BatchUpdatePartition glue:CreateDatabase glue:CreatePartition glue:CreatePartitionIndex glue:CreateTable glue:UpdatePartition glue:UpdateTable] [arn:aws:glue:eu-west-1:111122223333:catalog arn:aws:glue:eu-west-1:111122223333:database/web arn:aws:glue:eu-west-1:111122223333:table/web/clicks_daily]
	//   LakeFormationDataAccess [lakeformation:GetDataAccess] [*]
	//   LambdaInvoke [lambda:InvokeFunction] [arn:aws:lambda:eu-west-1:111122223333:function:lakekit-worker]
	//   ListBucketAcmeLake [s3:ListBucket] [arn:aws:s3:::acme-lake]
	//   ListBucketAcmeResults [s3:ListBucket] [arn:aws:s3:::acme-results]
	//   ReadObjects [s3:GetObject] [arn:aws:s3:::acme-lake/prod/cleaned/web/* arn:aws:s3:::acme-lake/prod/curated/web/*]
	//   WriteObjects [s3:AbortMultipartUpload s3:DeleteObject s3:PutObject] [arn:aws:s3:::acme-lake/prod/curated/web/*]
	// worker role:
	// {
	//   "Version": "2012-10-17",
	//   "Statement": [
	//     {
	//       "Sid": "ListBucketAcmeLake",
	//       "Effect": "Allow",
	//       "Action": [
	//         "s3:ListBucket"
	//       ],
	//       "Resource": [
	//         "arn:aws:s3:::acme-lake"
	//       ],
	//       "Condition": {
	//         "StringLike": {
	//           "s3:prefix": [
	//             "prod/cleaned/web/*",
	//             "prod/raw/web/*"
	//           ]
	//         }
	//       }
	//     },
	//     {
	//       "Sid": "ReadObjects",
	//       "Effect": "Allow",
	//       "Action": [
	//         "s3:GetObject"
	//       ],
	//       "Resource": [
	//         "arn:aws:s3:::acme-lake/prod/cleaned/web/*",
	//         "arn:aws:s3:::acme-lake/prod/raw/web/*"
	//       ]
	//     },
	//     {
	//       "Sid": "WriteObjects",
	//       "Effect": "Allow",
	//       "Action": [
	//         "s3:AbortMultipartUpload",
	//         "s3:DeleteObject",
	//         "s3:PutObject"
	//       ],
	//       "Resource": [
	//         "arn:aws:s3:::acme-lake/prod/cleaned/web/*"
	//       ]
	//     }
	//   ]
	// }
	// valid: true
}

// Whoever deploys and starts the pipeline's state machine (a CI role)
// passes the state machine's role to Step Functions, and only to it.
func ExampleDeployPolicy() {
	nop := func(ctx context.Context, in orchestrate.Input) (orchestrate.Output, error) { return nil, nil }
	p := orchestrate.New("clicks", orchestrate.GoStep("clean", nop))
	acct := iam.Account{Region: "eu-west-1", ID: "111122223333"}
	pol, err := orchestrate.DeployPolicy(p, acct, "arn:aws:iam::111122223333:role/clicks-sfn")
	if err != nil {
		panic(err)
	}
	doc, _ := pol.Document()
	for _, st := range doc.Statement {
		fmt.Println(st.Sid, st.Action, st.Resource, st.Condition)
	}
	// Output:
	// PassRoleStates [iam:PassRole] [arn:aws:iam::111122223333:role/clicks-sfn] map[StringEquals:map[iam:PassedToService:[states.amazonaws.com]]]
	// StatesDeploy [states:CreateStateMachine states:UpdateStateMachine] [arn:aws:states:eu-west-1:111122223333:stateMachine:clicks] map[]
	// StatesList [states:ListStateMachines] [*] map[]
	// StatesRun [states:DescribeStateMachine states:StartExecution] [arn:aws:states:eu-west-1:111122223333:stateMachine:clicks] map[]
	// StatesWatch [states:DescribeExecution states:GetExecutionHistory states:StopExecution] [arn:aws:states:eu-west-1:111122223333:execution:clicks:*] map[]
}
