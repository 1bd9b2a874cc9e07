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
}

type grant struct {
	actions   map[string]bool
	resources map[string]bool
	prefixes  map[string]bool // for s3:ListBucket conditions
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
		g = &grant{actions: map[string]bool{}, resources: map[string]bool{}, prefixes: map[string]bool{}}
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
	p.add("ListPrefixes", []string{"s3:ListBucket"}, []string{fmt.Sprintf("arn:%s:s3:::%s", part, bucket)}, prefix+"*")
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

// Catalog grants Glue access to tables of a database ("*" for every table).
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
	if a == ReadWrite {
		p.add("GlueWrite", []string{"glue:CreateTable", "glue:UpdateTable", "glue:BatchCreatePartition",
			"glue:BatchUpdatePartition", "glue:BatchDeletePartition", "glue:CreatePartition", "glue:UpdatePartition"}, res, "")
	}
	return p
}

var kmsRE = regexp.MustCompile(`^arn:[a-z-]+:kms:[a-z0-9-]+:\d{12}:(key|alias)/[A-Za-z0-9/_+=.@-]+$`)

// KMS grants use of a key: decrypt to read; encrypt and data keys to write.
func (p *Policy) KMS(a Access, keyARN string) *Policy {
	if !kmsRE.MatchString(keyARN) {
		p.errs = append(p.errs, fmt.Errorf("iam: %q is not a KMS key ARN (arn:aws:kms:region:account:key/id): %w", keyARN, ErrInvalid))
		return p
	}
	p.add("KMSDecrypt", []string{"kms:Decrypt", "kms:DescribeKey"}, []string{keyARN}, "")
	if a == ReadWrite {
		p.add("KMSEncrypt", []string{"kms:Encrypt", "kms:GenerateDataKey", "kms:ReEncrypt*"}, []string{keyARN}, "")
	}
	return p
}

// Athena grants running queries in a workgroup (the caller also needs read
// access to the tables' prefixes and write access to the results prefix).
func (p *Policy) Athena(workgroup string) *Policy {
	if !regexp.MustCompile(`^[a-zA-Z0-9._-]{1,128}$`).MatchString(workgroup) {
		p.errs = append(p.errs, fmt.Errorf("iam: Athena workgroup %q is not a valid name: %w", workgroup, ErrInvalid))
		return p
	}
	p.add("Athena", []string{"athena:StartQueryExecution", "athena:GetQueryExecution", "athena:GetQueryResults",
		"athena:StopQueryExecution", "athena:GetWorkGroup"},
		[]string{fmt.Sprintf("arn:%s:athena:%s:%s:workgroup/%s", p.acct.Partition, p.acct.Region, p.acct.ID, workgroup)}, "")
	return p
}

var sfnNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,80}$`)

// StepFunctions grants deploying, starting and watching a state machine.
func (p *Policy) StepFunctions(stateMachine string, deploy bool) *Policy {
	if !sfnNameRE.MatchString(stateMachine) {
		p.errs = append(p.errs, fmt.Errorf("iam: state machine name %q is not valid: %w", stateMachine, ErrInvalid))
		return p
	}
	base := fmt.Sprintf("arn:%s:states:%s:%s", p.acct.Partition, p.acct.Region, p.acct.ID)
	sm := base + ":stateMachine:" + stateMachine
	ex := base + ":execution:" + stateMachine + ":*"
	p.add("StatesRun", []string{"states:StartExecution", "states:DescribeStateMachine"}, []string{sm}, "")
	p.add("StatesWatch", []string{"states:DescribeExecution", "states:GetExecutionHistory", "states:StopExecution"}, []string{ex}, "")
	if deploy {
		p.add("StatesDeploy", []string{"states:CreateStateMachine", "states:UpdateStateMachine"}, []string{sm}, "")
	}
	return p
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
