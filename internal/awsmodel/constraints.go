package awsmodel

// This file is the check's data, written by hand. Nothing here is
// generated: each limit was read on the AWS API Reference page named beside
// it (docs.aws.amazon.com), for a member lakekit sets in an operation it
// calls. A member whose limit could not be read there has no entry (see
// README, Development, for what is not covered).

// operations lists, by SDK service id, the operations lakekit calls: the
// ones the check covers (TestModelCoversLakekitCalls keeps it complete).
var operations = map[string][]string{
	"Athena": {"StartQueryExecution", "GetQueryExecution", "GetQueryResults", "StopQueryExecution"},
	"Glue": {"BatchCreatePartition", "BatchDeletePartition", "BatchGetPartition", "BatchUpdatePartition",
		"CreateDatabase", "CreatePartitionIndex", "CreateTable", "DeleteDatabase", "DeleteTable", "GetCrawler",
		"GetDatabase", "GetDatabases", "GetJobRun", "GetPartitions", "GetTable", "GetTableVersions", "GetTables",
		"SearchTables", "StartCrawler", "StartJobRun", "UpdateTable"},
	"LakeFormation": {"GrantPermissions", "ListPermissions", "RevokePermissions"},
	"Redshift Data": {"ExecuteStatement", "BatchExecuteStatement", "DescribeStatement", "GetStatementResult", "CancelStatement"},
	"S3": {"PutObject", "GetObject", "HeadObject", "DeleteObject", "DeleteObjects", "ListObjectsV2", "CopyObject",
		"CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload", "AbortMultipartUpload", "HeadBucket",
		"GetBucketPolicy", "PutBucketPolicy", "GetBucketLifecycleConfiguration", "PutBucketLifecycleConfiguration",
		"CreateBucket"}, // CreateBucket: the s3_write benchmark makes its bucket on moto
	"SFN": {"CreateStateMachine", "UpdateStateMachine", "ListStateMachines", "StartExecution", "DescribeExecution",
		"GetExecutionHistory", "SendTaskSuccess", "SendTaskFailure", "SendTaskHeartbeat"},
	"STS": {"GetCallerIdentity"},
}

// Limit bounds one member: a string's length in characters (in UTF-8
// bytes with Bytes), a blob's length in bytes, a list's or map's number of
// entries, or a number's value. Max 0 means no maximum.
type Limit struct {
	Min, Max int64
	Bytes    bool
	// Doc is the API Reference page the limit was read on.
	Doc string
}

// Constraints returns a copy of the table, by key (see constraints).
func Constraints() map[string]Limit {
	out := make(map[string]Limit, len(constraints))
	for k, v := range constraints {
		out[k] = v
	}
	return out
}

const (
	athenaRef   = "https://docs.aws.amazon.com/athena/latest/APIReference/"
	redshiftRef = "https://docs.aws.amazon.com/redshift-data/latest/APIReference/"
	glueRef     = "https://docs.aws.amazon.com/glue/latest/webapi/"
	lfRef       = "https://docs.aws.amazon.com/lake-formation/latest/APIReference/"
	sfnRef      = "https://docs.aws.amazon.com/step-functions/latest/apireference/"
	s3Ref       = "https://docs.aws.amazon.com/AmazonS3/latest/API/"
)

// constraints is keyed by "<service>.<Go type>.<Field>": the SDK package
// (athena, glue, lakeformation, redshiftdata, s3, sfn), the Go type that
// holds the member (an operation's input type, or a type of the types
// package) and the field. A suffix "[]" bounds each element of a list,
// "{key}" and "{value}" each key and value of a map; without one the
// entry bounds the member itself (a list's or map's size).
var constraints = map[string]Limit{
	// Athena
	"athena.StartQueryExecutionInput.QueryString":           {Min: 1, Max: 262144, Doc: athenaRef + "API_StartQueryExecution.html"},
	"athena.StartQueryExecutionInput.ClientRequestToken":    {Min: 32, Max: 128, Doc: athenaRef + "API_StartQueryExecution.html"},
	"athena.StartQueryExecutionInput.ExecutionParameters":   {Min: 1, Doc: athenaRef + "API_StartQueryExecution.html"},
	"athena.StartQueryExecutionInput.ExecutionParameters[]": {Min: 1, Max: 1024, Doc: athenaRef + "API_StartQueryExecution.html"},
	"athena.QueryExecutionContext.Catalog":                  {Min: 1, Max: 256, Doc: athenaRef + "API_QueryExecutionContext.html"},
	"athena.QueryExecutionContext.Database":                 {Min: 1, Max: 255, Doc: athenaRef + "API_QueryExecutionContext.html"},
	"athena.ResultReuseByAgeConfiguration.MaxAgeInMinutes":  {Min: 0, Max: 10080, Doc: athenaRef + "API_ResultReuseByAgeConfiguration.html"},
	"athena.GetQueryExecutionInput.QueryExecutionId":        {Min: 1, Max: 128, Doc: athenaRef + "API_GetQueryExecution.html"},
	"athena.StopQueryExecutionInput.QueryExecutionId":       {Min: 1, Max: 128, Doc: athenaRef + "API_StopQueryExecution.html"},
	"athena.GetQueryResultsInput.MaxResults":                {Min: 1, Max: 1000, Doc: athenaRef + "API_GetQueryResults.html"},

	// Redshift Data API
	"redshiftdata.ExecuteStatementInput.Parameters": {Min: 1, Doc: redshiftRef + "API_ExecuteStatement.html"},
	"redshiftdata.SqlParameter.Value":               {Min: 1, Doc: redshiftRef + "API_SqlParameter.html"},
	"redshiftdata.BatchExecuteStatementInput.Sqls":  {Min: 1, Max: 40, Doc: redshiftRef + "API_BatchExecuteStatement.html"},

	// Glue: the data types lakekit fills in
	"glue.Column.Name":                                           {Min: 1, Max: 255, Doc: glueRef + "API_Column.html"},
	"glue.Column.Comment":                                        {Min: 0, Max: 255, Doc: glueRef + "API_Column.html"},
	"glue.Column.Type":                                           {Min: 0, Max: 131072, Doc: glueRef + "API_Column.html"},
	"glue.Column.Parameters{key}":                                {Min: 1, Max: 255, Doc: glueRef + "API_Column.html"},
	"glue.Column.Parameters{value}":                              {Min: 0, Max: 512000, Doc: glueRef + "API_Column.html"},
	"glue.SerDeInfo.SerializationLibrary":                        {Min: 1, Max: 255, Doc: glueRef + "API_SerDeInfo.html"},
	"glue.SerDeInfo.Parameters{key}":                             {Min: 1, Max: 255, Doc: glueRef + "API_SerDeInfo.html"},
	"glue.SerDeInfo.Parameters{value}":                           {Min: 0, Max: 512000, Doc: glueRef + "API_SerDeInfo.html"},
	"glue.StorageDescriptor.Location":                            {Min: 0, Max: 2056, Doc: glueRef + "API_StorageDescriptor.html"},
	"glue.StorageDescriptor.InputFormat":                         {Min: 0, Max: 128, Doc: glueRef + "API_StorageDescriptor.html"},
	"glue.PartitionInput.Values[]":                               {Min: 1, Max: 1024, Doc: glueRef + "API_PartitionInput.html"},
	"glue.PartitionInput.Parameters{key}":                        {Min: 1, Max: 255, Doc: glueRef + "API_PartitionInput.html"},
	"glue.PartitionInput.Parameters{value}":                      {Min: 0, Max: 512000, Doc: glueRef + "API_PartitionInput.html"},
	"glue.PartitionValueList.Values[]":                           {Min: 1, Max: 1024, Doc: glueRef + "API_PartitionValueList.html"},
	"glue.TableInput.Name":                                       {Min: 1, Max: 255, Doc: glueRef + "API_TableInput.html"},
	"glue.TableInput.Description":                                {Min: 0, Max: 2048, Doc: glueRef + "API_TableInput.html"},
	"glue.TableInput.Owner":                                      {Min: 1, Max: 255, Doc: glueRef + "API_TableInput.html"},
	"glue.TableInput.Parameters{key}":                            {Min: 1, Max: 255, Doc: glueRef + "API_TableInput.html"},
	"glue.TableInput.Parameters{value}":                          {Min: 0, Max: 512000, Doc: glueRef + "API_TableInput.html"},
	"glue.DatabaseInput.Name":                                    {Min: 1, Max: 255, Doc: glueRef + "API_DatabaseInput.html"},
	"glue.DatabaseInput.Description":                             {Min: 0, Max: 2048, Doc: glueRef + "API_DatabaseInput.html"},
	"glue.DatabaseInput.LocationUri":                             {Min: 1, Max: 1024, Doc: glueRef + "API_DatabaseInput.html"},
	"glue.DatabaseInput.Parameters{key}":                         {Min: 1, Max: 255, Doc: glueRef + "API_DatabaseInput.html"},
	"glue.Segment.SegmentNumber":                                 {Min: 0, Doc: glueRef + "API_Segment.html"},
	"glue.Segment.TotalSegments":                                 {Min: 1, Max: 10, Doc: glueRef + "API_Segment.html"},
	"glue.PartitionIndex.IndexName":                              {Min: 1, Max: 255, Doc: glueRef + "API_PartitionIndex.html"},
	"glue.PartitionIndex.Keys":                                   {Min: 1, Doc: glueRef + "API_PartitionIndex.html"},
	"glue.PartitionIndex.Keys[]":                                 {Min: 1, Max: 255, Doc: glueRef + "API_PartitionIndex.html"},
	"glue.BatchUpdatePartitionRequestEntry.PartitionValueList":   {Min: 0, Max: 100, Doc: glueRef + "API_BatchUpdatePartitionRequestEntry.html"},
	"glue.BatchUpdatePartitionRequestEntry.PartitionValueList[]": {Min: 1, Max: 1024, Doc: glueRef + "API_BatchUpdatePartitionRequestEntry.html"},
	// the Glue developer guide's common data types
	"glue.PropertyPredicate.Key":   {Min: 0, Max: 1024, Doc: "https://docs.aws.amazon.com/glue/latest/dg/aws-glue-api-common.html"},
	"glue.PropertyPredicate.Value": {Min: 0, Max: 1024, Doc: "https://docs.aws.amazon.com/glue/latest/dg/aws-glue-api-common.html"},

	// Glue: operation members
	"glue.BatchDeletePartitionInput.CatalogId":          {Min: 1, Max: 255, Doc: glueRef + "API_BatchDeletePartition.html"},
	"glue.BatchDeletePartitionInput.DatabaseName":       {Min: 1, Max: 255, Doc: glueRef + "API_BatchDeletePartition.html"},
	"glue.BatchDeletePartitionInput.TableName":          {Min: 1, Max: 255, Doc: glueRef + "API_BatchDeletePartition.html"},
	"glue.BatchDeletePartitionInput.PartitionsToDelete": {Min: 0, Max: 25, Doc: glueRef + "API_BatchDeletePartition.html"},
	"glue.BatchGetPartitionInput.CatalogId":             {Min: 1, Max: 255, Doc: glueRef + "API_BatchGetPartition.html"},
	"glue.BatchGetPartitionInput.DatabaseName":          {Min: 1, Max: 255, Doc: glueRef + "API_BatchGetPartition.html"},
	"glue.BatchGetPartitionInput.TableName":             {Min: 1, Max: 255, Doc: glueRef + "API_BatchGetPartition.html"},
	"glue.BatchGetPartitionInput.PartitionsToGet":       {Min: 0, Max: 1000, Doc: glueRef + "API_BatchGetPartition.html"},
	"glue.GetTableInput.CatalogId":                      {Min: 1, Max: 255, Doc: glueRef + "API_GetTable.html"},
	"glue.GetTableInput.DatabaseName":                   {Min: 1, Max: 255, Doc: glueRef + "API_GetTable.html"},
	"glue.GetTableInput.Name":                           {Min: 1, Max: 255, Doc: glueRef + "API_GetTable.html"},
	"glue.GetTablesInput.CatalogId":                     {Min: 1, Max: 255, Doc: glueRef + "API_GetTables.html"},
	"glue.GetTablesInput.DatabaseName":                  {Min: 1, Max: 255, Doc: glueRef + "API_GetTables.html"},
	"glue.GetTablesInput.MaxResults":                    {Min: 1, Max: 100, Doc: glueRef + "API_GetTables.html"},
	"glue.GetPartitionsInput.CatalogId":                 {Min: 1, Max: 255, Doc: glueRef + "API_GetPartitions.html"},
	"glue.GetPartitionsInput.DatabaseName":              {Min: 1, Max: 255, Doc: glueRef + "API_GetPartitions.html"},
	"glue.GetPartitionsInput.TableName":                 {Min: 1, Max: 255, Doc: glueRef + "API_GetPartitions.html"},
	"glue.GetPartitionsInput.Expression":                {Min: 0, Max: 2048, Doc: glueRef + "API_GetPartitions.html"},
	"glue.StartCrawlerInput.Name":                       {Min: 1, Max: 255, Doc: glueRef + "API_StartCrawler.html"},

	// Lake Formation
	"lakeformation.DataLakePrincipal.DataLakePrincipalIdentifier": {Min: 1, Max: 255, Doc: lfRef + "API_DataLakePrincipal.html"},
	"lakeformation.TableResource.CatalogId":                       {Min: 1, Max: 255, Doc: lfRef + "API_TableResource.html"},
	"lakeformation.TableResource.DatabaseName":                    {Min: 1, Max: 255, Doc: lfRef + "API_TableResource.html"},
	"lakeformation.TableResource.Name":                            {Min: 1, Max: 255, Doc: lfRef + "API_TableResource.html"},

	// Step Functions
	"sfn.CreateStateMachineInput.Definition": {Min: 1, Max: 1048576, Doc: sfnRef + "API_CreateStateMachine.html"},
	"sfn.CreateStateMachineInput.Name":       {Min: 1, Max: 80, Doc: sfnRef + "API_CreateStateMachine.html"},
	"sfn.SendTaskSuccessInput.Output":        {Min: 0, Max: 262144, Bytes: true, Doc: sfnRef + "API_SendTaskSuccess.html"},
	"sfn.SendTaskSuccessInput.TaskToken":     {Min: 1, Max: 2048, Doc: sfnRef + "API_SendTaskSuccess.html"},
	"sfn.SendTaskFailureInput.Cause":         {Min: 0, Max: 32768, Doc: sfnRef + "API_SendTaskFailure.html"},
	"sfn.SendTaskFailureInput.Error":         {Min: 0, Max: 256, Doc: sfnRef + "API_SendTaskFailure.html"},
	"sfn.SendTaskFailureInput.TaskToken":     {Min: 1, Max: 2048, Doc: sfnRef + "API_SendTaskFailure.html"},

	// S3
	"s3.ObjectIdentifier.Key": {Min: 1, Doc: s3Ref + "API_ObjectIdentifier.html"},
	"s3.LifecycleRule.ID":     {Max: 255, Doc: s3Ref + "API_LifecycleRule.html"},
}
