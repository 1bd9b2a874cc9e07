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
