// Package iam renders least-privilege AWS IAM policies for what a lakekit
// program does: which zone prefixes it reads or writes, which Glue databases
// and tables it uses, which KMS keys, which Athena workgroup, which Step
// Functions state machines. Give each pipeline, service or role only what it
// needs:
//
//	p := iam.NewPolicy(iam.Account{Partition: "aws", Region: "eu-west-1", ID: "111122223333"})
//	p.ReadPrefix("s3://lake/prod/raw/web/")
//	p.WritePrefix("s3://lake/prod/cleaned/web/")
//	p.Catalog(iam.ReadWrite, "web", "clicks")
//	p.KMS(iam.ReadWrite, "arn:aws:kms:eu-west-1:111122223333:key/1234")
//	doc, err := p.JSON()
//
// Prefix locations come from lake.Store.Location (or Zone.Store().Location),
// so the policy follows the lake's real layout.
//
// The grants Step Functions' service integrations need (LambdaInvoke,
// ECSTask, PassRole, EventsRule, AthenaSync, AthenaResults, GlueJobSync,
// Crawler), those a worker reporting task tokens needs (TaskResponse)
// and those of deploying and running a state machine (DeployStateMachine,
// StepFunctions) are here too; orchestrate.StateMachinePolicy,
// orchestrate.WorkerPolicy and orchestrate.DeployPolicy assemble them for
// a pipeline. RedshiftData, SearchCatalog and Catalog(Manage, ...) cover
// the query engines and the catalog's other calls. Validate checks any
// identity policy document against the IAM policy grammar.
//
// # Resources
//
// Every grant names the resources the Service Authorization Reference
// lets its actions be limited to, and "*" only for actions it lists
// without resource types (states:SendTaskSuccess, states:ListStateMachines,
// lakeformation:GetDataAccess, ...), where any ARN would be denied. KMS
// keys are given by key ARN: an alias ARN cannot identify a key in a
// policy statement, so KMS and CheckKMSKey refuse it, naming the alias.
// The tests check every policy lakekit renders against the reference
// (see lake/iam/iamtest).
//
// # Lake Formation
//
// When Lake Formation governs a lake location (the location is registered
// with it), IAM permissions are not enough:
//
//   - Athena, Spectrum and Glue read the data with credentials Lake
//     Formation vends, which needs lakeformation:GetDataAccess in the
//     caller's policy (Athena and AthenaSync grant it, LakeFormationData
//     on its own) and SELECT (INSERT, DELETE) Lake Formation permissions
//     on the tables.
//   - Creating or altering a Glue table or partition whose location lies
//     in a registered location (every lakekit commit that registers a
//     table or partition) needs, besides Catalog's Glue permissions,
//     CREATE_TABLE or ALTER on the database or table and the data location
//     permission DATA_LOCATION_ACCESS on the location, which a data lake
//     administrator grants.
//   - Registering a location (RegisterLocation) passes the role Lake
//     Formation assumes to reach it; that role needs WritePrefix on the
//     location (and KMS on its key).
//
// The data location grant, with DataLocationARN giving the ResourceArn of
// a lake location (the catalog's Glue implementation makes the same
// GrantPermissions call; LakeFormationPermissions grants making it):
//
//	aws lakeformation grant-permissions \
//	  --principal DataLakePrincipalIdentifier=arn:aws:iam::111122223333:role/ingest \
//	  --permissions DATA_LOCATION_ACCESS \
//	  --resource '{"DataLocation":{"ResourceArn":"arn:aws:s3:::acme-lake/prod/cleaned"}}'
package iam

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// ErrInvalid reports a location, name or ARN the policy cannot use.
var ErrInvalid = errors.New("iam: invalid input")

// Account locates ARNs.
type Account struct {
	Partition string // "aws" when empty
	Region    string
	ID        string // 12 digits
}

// Access is read-only or read-write.
type Access int

// The access levels.
const (
	Read Access = iota
	ReadWrite
	// Manage is ReadWrite plus dropping tables and databases (the
	// catalog's DropTable and DropDatabase). For KMS it is ReadWrite.
	Manage
)

// Statement is one IAM policy statement.
type Statement struct {
	Sid       string         `json:"Sid"`
	Effect    string         `json:"Effect"`
	Action    []string       `json:"Action"`
	Resource  []string       `json:"Resource"`
	Condition map[string]any `json:"Condition,omitempty"`
}

// Document is an IAM policy document.
type Document struct {
	Version   string      `json:"Version"`
	Statement []Statement `json:"Statement"`
}

// Policy collects grants; JSON renders them merged and sorted, so the same
// grants always give the same document.
type Policy struct {
	acct  Account
	errs  []error
	sets  map[string]*grant // by Sid
	order []string
	lists map[string]string // bucket → Sid of its s3:ListBucket statement
}

// listSid names the s3:ListBucket statement of a bucket: one per bucket,
// so the prefixes listed in one bucket are not listable in another.
func (p *Policy) listSid(bucket string) string {
	if sid, ok := p.lists[bucket]; ok {
		return sid
	}
	if p.lists == nil {
		p.lists = map[string]string{}
	}
	base := "ListBucket" + camel(bucket)
	sid := base
	for n := 2; p.sets[sid] != nil; n++ { // "a-b" and "a.b" both camel-case to "AB"
		sid = fmt.Sprintf("%s%d", base, n)
	}
	p.lists[bucket] = sid
	return sid
}

type grant struct {
	actions   map[string]bool
	resources map[string]bool
	prefixes  map[string]bool // for s3:ListBucket conditions
	// conds are further conditions: operator → key → values.
	conds map[string]map[string]map[string]bool
}

// NewPolicy starts a policy for an account.
func NewPolicy(acct Account) *Policy {
	if acct.Partition == "" {
		acct.Partition = "aws"
	}
	p := &Policy{acct: acct, sets: map[string]*grant{}}
	if acct.Region == "" || !regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d$`).MatchString(acct.Region) {
		p.errs = append(p.errs, fmt.Errorf("iam: region %q is not an AWS region name: %w", acct.Region, ErrInvalid))
	}
	if !regexp.MustCompile(`^\d{12}$`).MatchString(acct.ID) {
		p.errs = append(p.errs, fmt.Errorf("iam: account id %q must be 12 digits: %w", acct.ID, ErrInvalid))
	}
	return p
}

func (p *Policy) add(sid string, actions, resources []string, prefix string) {
	g, ok := p.sets[sid]
	if !ok {
		g = &grant{actions: map[string]bool{}, resources: map[string]bool{}, prefixes: map[string]bool{},
			conds: map[string]map[string]map[string]bool{}}
		p.sets[sid] = g
		p.order = append(p.order, sid)
	}
	for _, a := range actions {
		g.actions[a] = true
	}
	for _, r := range resources {
		g.resources[r] = true
	}
	if prefix != "" {
		g.prefixes[prefix] = true
	}
}

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

var sfnNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,80}$`)

// StepFunctions grants starting and watching a state machine's
// executions. DeployStateMachine grants deploying it.
func (p *Policy) StepFunctions(stateMachine string) *Policy {
	if !sfnNameRE.MatchString(stateMachine) {
		p.errs = append(p.errs, fmt.Errorf("iam: state machine name %q is not valid: %w", stateMachine, ErrInvalid))
		return p
	}
	base := fmt.Sprintf("arn:%s:states:%s:%s", p.acct.Partition, p.acct.Region, p.acct.ID)
	sm := base + ":stateMachine:" + stateMachine
	ex := base + ":execution:" + stateMachine + ":*"
	p.add("StatesRun", []string{"states:StartExecution", "states:DescribeStateMachine"}, []string{sm}, "")
	p.add("StatesWatch", []string{"states:DescribeExecution", "states:GetExecutionHistory", "states:StopExecution"}, []string{ex}, "")
	return p
}

// StatesPrincipal is the service state machine roles are passed to.
const StatesPrincipal = "states.amazonaws.com"

// DeployStateMachine grants what orchestrate's SFN.Deploy calls to create
// or update a state machine that runs as roleARN:
// states:CreateStateMachine and states:UpdateStateMachine on it,
// iam:PassRole on the role to Step Functions only (the Service
// Authorization Reference lists it as a dependent action of both), and
// states:ListStateMachines, which has no resource types and so is
// granted on "*" (the update path looks the state machine's ARN up).
func (p *Policy) DeployStateMachine(stateMachine, roleARN string) *Policy {
	if !sfnNameRE.MatchString(stateMachine) {
		p.errs = append(p.errs, fmt.Errorf("iam: state machine name %q is not valid: %w", stateMachine, ErrInvalid))
		return p
	}
	p.add("StatesDeploy", []string{"states:CreateStateMachine", "states:UpdateStateMachine"}, []string{p.arn("states", "stateMachine:"+stateMachine)}, "")
	p.add("StatesList", []string{"states:ListStateMachines"}, []string{"*"}, "")
	return p.PassRole(StatesPrincipal, roleARN)
}

// GlueJob grants starting and watching a Glue job's runs.
func (p *Policy) GlueJob(job string) *Policy {
	if !regexp.MustCompile(`^[A-Za-z0-9_.-]{1,255}$`).MatchString(job) {
		p.errs = append(p.errs, fmt.Errorf("iam: Glue job %q is not a valid name: %w", job, ErrInvalid))
		return p
	}
	p.add("GlueJobs", []string{"glue:StartJobRun", "glue:GetJobRun", "glue:GetJobRuns"},
		[]string{fmt.Sprintf("arn:%s:glue:%s:%s:job/%s", p.acct.Partition, p.acct.Region, p.acct.ID, job)}, "")
	return p
}

// Document returns the policy, or every error collected while building it.
func (p *Policy) Document() (*Document, error) {
	if len(p.errs) > 0 {
		return nil, errors.Join(p.errs...)
	}
	if len(p.sets) == 0 {
		return nil, fmt.Errorf("iam: the policy grants nothing: %w", ErrInvalid)
	}
	sids := append([]string(nil), p.order...)
	sort.Strings(sids)
	doc := &Document{Version: "2012-10-17"}
	for _, sid := range sids {
		g := p.sets[sid]
		st := Statement{Sid: sid, Effect: "Allow", Action: sorted(g.actions), Resource: sorted(g.resources)}
		if len(g.prefixes) > 0 {
			st.Condition = map[string]any{"StringLike": map[string]any{"s3:prefix": sorted(g.prefixes)}}
		}
		for op, keys := range g.conds {
			if st.Condition == nil {
				st.Condition = map[string]any{}
			}
			m := map[string]any{}
			for k, vals := range keys {
				m[k] = sorted(vals)
			}
			st.Condition[op] = m
		}
		doc.Statement = append(doc.Statement, st)
	}
	return doc, nil
}

// JSON renders the policy document, indented.
func (p *Policy) JSON() ([]byte, error) {
	doc, err := p.Document()
	if err != nil {
		return nil, err
	}
	return json.MarshalIndent(doc, "", "  ")
}

func sorted(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// addCond adds a condition value to a statement (creating it if needed).
func (p *Policy) addCond(sid, op, key, value string) {
	p.add(sid, nil, nil, "")
	g := p.sets[sid]
	if g.conds[op] == nil {
		g.conds[op] = map[string]map[string]bool{}
	}
	if g.conds[op][key] == nil {
		g.conds[op][key] = map[string]bool{}
	}
	g.conds[op][key][value] = true
}

func (p *Policy) arn(service, resource string) string {
	return fmt.Sprintf("arn:%s:%s:%s:%s:%s", p.acct.Partition, service, p.acct.Region, p.acct.ID, resource)
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

// GlueJobSync grants what Step Functions' glue:startJobRun.sync integration
// calls: GlueJob's start and watch actions, and glue:BatchStopJobRun to
// stop the run when the execution stops.
func (p *Policy) GlueJobSync(job string) *Policy {
	if !glueJobRE.MatchString(job) {
		p.errs = append(p.errs, fmt.Errorf("iam: Glue job %q is not a valid name: %w", job, ErrInvalid))
		return p
	}
	p.GlueJob(job)
	p.add("GlueJobStop", []string{"glue:BatchStopJobRun"}, []string{p.arn("glue", "job/"+job)}, "")
	return p
}

var glueJobRE = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,255}$`)

// Crawler grants starting a Glue crawler and reading its state.
func (p *Policy) Crawler(name string) *Policy {
	if !glueJobRE.MatchString(name) {
		p.errs = append(p.errs, fmt.Errorf("iam: Glue crawler %q is not a valid name: %w", name, ErrInvalid))
		return p
	}
	p.add("GlueCrawlers", []string{"glue:StartCrawler", "glue:GetCrawler"}, []string{p.arn("glue", "crawler/"+name)}, "")
	return p
}

var (
	lambdaNameRE = regexp.MustCompile(`^([A-Za-z0-9_-]{1,64})(:(\$LATEST|[A-Za-z0-9_-]{1,128}))?$`)
	lambdaARNRE  = regexp.MustCompile(`^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]{1,64}(:(\$LATEST|[A-Za-z0-9_-]{1,128}))?$`)
)

// LambdaInvoke grants invoking a Lambda function, given by name (with an
// optional ":version" or ":alias" qualifier) in the policy's account and
// region, or by full ARN.
func (p *Policy) LambdaInvoke(function string) *Policy {
	res := function
	switch {
	case lambdaARNRE.MatchString(function):
	case lambdaNameRE.MatchString(function):
		res = p.arn("lambda", "function:"+function)
	default:
		p.errs = append(p.errs, fmt.Errorf("iam: %q is not a Lambda function name (name[:qualifier]) or ARN: %w", function, ErrInvalid))
		return p
	}
	p.add("LambdaInvoke", []string{"lambda:InvokeFunction"}, []string{res}, "")
	return p
}

var (
	ecsNameRE       = regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}$`)
	ecsClusterARNRE = regexp.MustCompile(`^(arn:aws[a-z-]*:ecs:[a-z0-9-]+:\d{12}:)cluster/([A-Za-z0-9_-]{1,255})$`)
	ecsTaskDefRE    = regexp.MustCompile(`^([A-Za-z0-9_-]{1,255})(:[1-9][0-9]*)?$`)
	ecsTaskDefARNRE = regexp.MustCompile(`^arn:aws[a-z-]*:ecs:[a-z0-9-]+:\d{12}:task-definition/[A-Za-z0-9_-]{1,255}:[1-9][0-9]*$`)
	roleARNRE       = regexp.MustCompile(`^arn:aws[a-z-]*:iam::\d{12}:role/[A-Za-z0-9+=,.@_/-]{1,512}$`)
)

// ECSStepFunctionsRule is the EventBridge rule Step Functions manages to
// learn that the ECS tasks of ecs:runTask.sync states stopped.
const ECSStepFunctionsRule = "StepFunctionsGetEventsForECSTaskRule"

// ECSTask grants running tasks of a task definition ("family",
// "family:revision" or an ARN; every revision of a family without one) on
// a cluster (name or ARN). With sync, it also grants what Step Functions'
// ecs:runTask.sync integration needs to watch and stop the task: describing
// and stopping the cluster's tasks, and the managed EventBridge rule
// ECSStepFunctionsRule. The task's roles need PassRole.
func (p *Policy) ECSTask(cluster, taskDefinition string, sync bool) *Policy {
	tasks := p.arn("ecs", "task/"+cluster+"/*")
	if m := ecsClusterARNRE.FindStringSubmatch(cluster); m != nil {
		tasks = m[1] + "task/" + m[2] + "/*" // the cluster's region and account
	} else if !ecsNameRE.MatchString(cluster) {
		p.errs = append(p.errs, fmt.Errorf("iam: ECS cluster %q is not a cluster name or ARN: %w", cluster, ErrInvalid))
		return p
	}
	td := taskDefinition
	switch m := ecsTaskDefRE.FindStringSubmatch(taskDefinition); {
	case ecsTaskDefARNRE.MatchString(taskDefinition):
	case m != nil && m[2] == "":
		td = p.arn("ecs", "task-definition/"+m[1]+":*")
	case m != nil:
		td = p.arn("ecs", "task-definition/"+taskDefinition)
	default:
		p.errs = append(p.errs, fmt.Errorf("iam: ECS task definition %q is not family[:revision] or a task definition ARN: %w", taskDefinition, ErrInvalid))
		return p
	}
	p.add("ECSRunTask", []string{"ecs:RunTask"}, []string{td}, "")
	if sync {
		p.add("ECSWatchTasks", []string{"ecs:DescribeTasks", "ecs:StopTask"}, []string{tasks}, "")
		p.EventsRule(ECSStepFunctionsRule)
	}
	return p
}

var eventsRuleRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// EventsRule grants creating and describing an EventBridge rule and
// setting its targets, as Step Functions does with the rules it manages
// for .sync integrations.
func (p *Policy) EventsRule(rule string) *Policy {
	if !eventsRuleRE.MatchString(rule) {
		p.errs = append(p.errs, fmt.Errorf("iam: EventBridge rule name %q is not valid: %w", rule, ErrInvalid))
		return p
	}
	p.add("EventsRules", []string{"events:PutRule", "events:PutTargets", "events:DescribeRule"}, []string{p.arn("events", "rule/"+rule)}, "")
	return p
}

// PassRole grants passing roles (ARNs) to an AWS service
// ("ecs-tasks.amazonaws.com" for ECS task roles), and to no other: the
// statement carries an iam:PassedToService condition.
func (p *Policy) PassRole(service string, roleARNs ...string) *Policy {
	if !regexp.MustCompile(`^[a-z0-9.-]+\.amazonaws\.com$`).MatchString(service) {
		p.errs = append(p.errs, fmt.Errorf("iam: %q is not an AWS service principal (like ecs-tasks.amazonaws.com): %w", service, ErrInvalid))
		return p
	}
	if len(roleARNs) == 0 {
		p.errs = append(p.errs, fmt.Errorf("iam: PassRole to %s names no role: %w", service, ErrInvalid))
		return p
	}
	sid := "PassRole" + camel(strings.TrimSuffix(service, ".amazonaws.com"))
	for _, r := range roleARNs {
		if !roleARNRE.MatchString(r) {
			p.errs = append(p.errs, fmt.Errorf("iam: %q is not an IAM role ARN (arn:aws:iam::account:role/name): %w", r, ErrInvalid))
			continue
		}
		p.add(sid, []string{"iam:PassRole"}, []string{r}, "")
		p.addCond(sid, "StringEquals", "iam:PassedToService", service)
	}
	return p
}

// camel turns "ecs-tasks" into "EcsTasks", for Sids.
func camel(s string) string {
	var b strings.Builder
	for _, w := range strings.FieldsFunc(s, func(r rune) bool { return r == '-' || r == '.' }) {
		b.WriteString(strings.ToUpper(w[:1]) + w[1:])
	}
	return b.String()
}

// TaskResponse grants reporting the results of .waitForTaskToken tasks:
// states:SendTaskSuccess and states:SendTaskFailure, which is what
// orchestrate.Worker calls, and states:SendTaskHeartbeat. These actions
// have no resource types in the Service Authorization Reference (the
// task token, not an ARN, names the task), so they are granted on "*":
// on a state machine ARN they would be denied and the execution would
// wait for its task until it times out.
func (p *Policy) TaskResponse() *Policy {
	p.add("StatesTaskResponse", []string{"states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat"}, []string{"*"}, "")
	return p
}

// ErrMalformed reports a policy document that breaks the IAM policy
// grammar.
var ErrMalformed = errors.New("iam: malformed policy document")

var (
	actionRE = regexp.MustCompile(`^[a-z0-9-]+:[A-Za-z0-9*?]+$`)
	// arn:partition:service:region:account:resource; region and account
	// may be empty (S3, IAM) or wildcards.
	arnRE = regexp.MustCompile(`^arn:(aws|aws-cn|aws-us-gov|aws-iso|aws-iso-b|\*):[a-z0-9-]+:([a-z0-9-]*|\*):(\d{12}|\*)?:[^\s]+$`)
	sidRE = regexp.MustCompile(`^[A-Za-z0-9]*$`)
)

// Validate checks an identity-based policy document (for a user, group or
// role) against the basics of the IAM policy grammar: a JSON object with
// Version "2012-10-17" (or the old "2008-10-17") and a non-empty
// Statement (an object or a list); each statement with an optional unique
// alphanumeric Sid, Effect Allow or Deny, exactly one of Action and
// NotAction (strings "service:Action", wildcards allowed, or "*"), exactly
// one of Resource and NotResource ("*" or well-formed ARNs), an optional
// Condition mapping operators to keys to a value or list of values, and
// no other element (an identity policy has no Principal). The error joins
// every problem found, each naming the statement and the bad value, and
// wraps ErrMalformed.
func Validate(doc []byte) error {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(doc, &top); err != nil {
		return fmt.Errorf("%w: not a JSON object: %v", ErrMalformed, err)
	}
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...)))
	}
	for k := range top {
		if k != "Version" && k != "Id" && k != "Statement" {
			bad("unknown top-level element %q", k)
		}
	}
	var version string
	if err := json.Unmarshal(top["Version"], &version); err != nil || (version != "2012-10-17" && version != "2008-10-17") {
		bad("Version is %s, want \"2012-10-17\"", orMissing(top["Version"]))
	}
	raw, ok := top["Statement"]
	if !ok {
		bad("no Statement")
		return errors.Join(errs...)
	}
	var sts []map[string]json.RawMessage
	if err := json.Unmarshal(raw, &sts); err != nil {
		var one map[string]json.RawMessage
		if err1 := json.Unmarshal(raw, &one); err1 != nil {
			bad("Statement is neither a statement nor a list of statements")
			return errors.Join(errs...)
		}
		sts = []map[string]json.RawMessage{one}
	}
	if len(sts) == 0 {
		bad("Statement is empty")
	}
	sids := map[string]bool{}
	for i, st := range sts {
		name := fmt.Sprintf("statement %d", i)
		if v, ok := st["Sid"]; ok {
			var sid string
			if err := json.Unmarshal(v, &sid); err != nil || !sidRE.MatchString(sid) {
				bad("%s: Sid %s is not an alphanumeric string", name, v)
			} else {
				if sid != "" && sids[sid] {
					bad("%s: Sid %q is used twice", name, sid)
				}
				sids[sid] = true
				name = fmt.Sprintf("statement %d (%s)", i, sid)
			}
		}
		for k := range st {
			switch k {
			case "Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition":
			default:
				bad("%s: unknown element %q (identity policies have no Principal)", name, k)
			}
		}
		var effect string
		if err := json.Unmarshal(st["Effect"], &effect); err != nil || (effect != "Allow" && effect != "Deny") {
			bad("%s: Effect is %s, want \"Allow\" or \"Deny\"", name, orMissing(st["Effect"]))
		}
		checkList := func(want, not string, ok func(string) bool, what string) {
			v, has := st[want]
			nv, hasNot := st[not]
			switch {
			case has && hasNot:
				bad("%s: both %s and %s", name, want, not)
				return
			case !has && !hasNot:
				bad("%s: no %s", name, want)
				return
			case hasNot:
				v, want = nv, not
			}
			items, err := stringList(v)
			if err != nil || len(items) == 0 {
				bad("%s: %s is %s, want a string or a non-empty list of strings", name, want, v)
				return
			}
			for _, it := range items {
				if it != "*" && !ok(it) {
					bad("%s: %s %q is not %s", name, want, it, what)
				}
			}
		}
		checkList("Action", "NotAction", actionRE.MatchString, `"service:Action"`)
		checkList("Resource", "NotResource", arnRE.MatchString, "a well-formed ARN (arn:partition:service:region:account:resource)")
		if v, ok := st["Condition"]; ok {
			var cond map[string]map[string]json.RawMessage
			if err := json.Unmarshal(v, &cond); err != nil || len(cond) == 0 {
				bad("%s: Condition is %s, want {operator: {key: value or values}}", name, v)
				continue
			}
			for op, keys := range cond {
				if len(keys) == 0 {
					bad("%s: Condition operator %q has no keys", name, op)
				}
				for k, val := range keys {
					if !conditionValue(val) {
						bad("%s: Condition %s %s is %s, want a value or a list of values", name, op, k, val)
					}
				}
			}
		}
	}
	return errors.Join(errs...)
}

func orMissing(v json.RawMessage) string {
	if v == nil {
		return "missing"
	}
	return string(v)
}

func stringList(v json.RawMessage) ([]string, error) {
	var one string
	if err := json.Unmarshal(v, &one); err == nil {
		return []string{one}, nil
	}
	var many []string
	err := json.Unmarshal(v, &many)
	return many, err
}

func conditionValue(v json.RawMessage) bool {
	var scalar any
	if err := json.Unmarshal(v, &scalar); err != nil {
		return false
	}
	switch x := scalar.(type) {
	case string, bool, float64:
		return true
	case []any:
		if len(x) == 0 {
			return false
		}
		for _, e := range x {
			switch e.(type) {
			case string, bool, float64:
			default:
				return false
			}
		}
		return true
	}
	return false
}
