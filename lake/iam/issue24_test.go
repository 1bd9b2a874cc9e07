package iam_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/lakekit/lakekit/lake/iam"
)

// statementsFor renders p and returns, per action, the resources of the
// statements that allow it, and the conditions of those statements.
func statementsFor(t *testing.T, p *iam.Policy) (map[string][]string, map[string][]map[string]any) {
	t.Helper()
	doc, err := p.Document()
	if err != nil {
		t.Fatal(err)
	}
	res, conds := map[string][]string{}, map[string][]map[string]any{}
	for _, st := range doc.Statement {
		for _, a := range st.Action {
			res[a] = append(res[a], st.Resource...)
			conds[a] = append(conds[a], st.Condition)
		}
	}
	return res, conds
}

// The worker reports .waitForTaskToken results with SendTaskSuccess,
// SendTaskFailure and SendTaskHeartbeat, which have no resource types:
// granted on a state machine ARN they are denied, and the execution
// hangs.
func TestTaskResponsePolicy(t *testing.T) {
	res, _ := statementsFor(t, iam.NewPolicy(acct).TaskResponse())
	for _, a := range []string{"states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat"} {
		if !slices.Equal(res[a], []string{"*"}) {
			t.Errorf("%s granted on %v, want [\"*\"] (no resource types in the Service Authorization Reference)", a, res[a])
		}
	}
}

// An alias ARN cannot identify a KMS key in an IAM policy statement: it
// is refused, naming the alias, not rendered into a grant that never
// matches.
func TestKMSAliasPolicy(t *testing.T) {
	alias := "arn:aws:kms:eu-west-1:111122223333:alias/lake-curated"
	_, err := iam.NewPolicy(acct).KMS(iam.Read, alias).JSON()
	if !errors.Is(err, iam.ErrInvalid) || !strings.Contains(err.Error(), "alias/lake-curated") || !strings.Contains(err.Error(), "key ARN") {
		t.Errorf("KMS with an alias ARN: %v, want iam.ErrInvalid naming the alias and asking for the key ARN", err)
	}
	if err := iam.CheckKMSKey(alias); !errors.Is(err, iam.ErrInvalid) || !strings.Contains(err.Error(), "alias/lake-curated") {
		t.Errorf("CheckKMSKey(%s): %v, want iam.ErrInvalid naming the alias", alias, err)
	}
	if err := iam.CheckKMSKey(testKey); err != nil {
		t.Errorf("CheckKMSKey(key ARN): %v", err)
	}
}

// The first commit into a new database creates it in Glue.
func TestCatalogWritePolicyCreateDatabase(t *testing.T) {
	res, _ := statementsFor(t, iam.NewPolicy(acct).Catalog(iam.ReadWrite, "web", "clicks"))
	for _, want := range []string{"arn:aws:glue:eu-west-1:111122223333:catalog", "arn:aws:glue:eu-west-1:111122223333:database/web"} {
		if !slices.Contains(res["glue:CreateDatabase"], want) {
			t.Errorf("glue:CreateDatabase granted on %v, want %s among them", res["glue:CreateDatabase"], want)
		}
	}
	res, _ = statementsFor(t, iam.NewPolicy(acct).Catalog(iam.Read, "web"))
	if len(res["glue:CreateDatabase"]) > 0 {
		t.Error("a read-only catalog grant may create databases")
	}
}

// Athena reads Lake Formation-governed tables with credentials Lake
// Formation vends: Step Functions' own policy template for
// athena:startQueryExecution.sync grants lakeformation:GetDataAccess.
func TestAthenaSyncPolicyLakeFormation(t *testing.T) {
	for name, p := range map[string]*iam.Policy{
		"AthenaSync": iam.NewPolicy(acct).AthenaSync("primary"),
		"Athena":     iam.NewPolicy(acct).Athena("primary"),
	} {
		res, _ := statementsFor(t, p)
		if !slices.Equal(res["lakeformation:GetDataAccess"], []string{"*"}) {
			t.Errorf("%s: lakeformation:GetDataAccess granted on %v, want [\"*\"]", name, res["lakeformation:GetDataAccess"])
		}
	}
}

// Deploying a state machine passes its role to Step Functions (a
// dependent action of CreateStateMachine and UpdateStateMachine), and
// Deploy's update path lists state machines, an action without resource
// types.
func TestDeployPolicy(t *testing.T) {
	role := "arn:aws:iam::111122223333:role/clicks-sfn"
	res, conds := statementsFor(t, iam.NewPolicy(acct).DeployStateMachine("clicks", role))
	if !slices.Equal(res["iam:PassRole"], []string{role}) {
		t.Errorf("iam:PassRole granted on %v, want the state machine's role %s", res["iam:PassRole"], role)
	}
	want := map[string]any{"StringEquals": map[string]any{"iam:PassedToService": []string{"states.amazonaws.com"}}}
	if len(conds["iam:PassRole"]) != 1 || !strings.Contains(fmt.Sprint(conds["iam:PassRole"][0]), fmt.Sprint(want["StringEquals"])) {
		t.Errorf("iam:PassRole conditions %v, want %v", conds["iam:PassRole"], want)
	}
	if !slices.Equal(res["states:ListStateMachines"], []string{"*"}) {
		t.Errorf("states:ListStateMachines granted on %v, want [\"*\"]", res["states:ListStateMachines"])
	}
	for _, a := range []string{"states:CreateStateMachine", "states:UpdateStateMachine"} {
		if !slices.Equal(res[a], []string{"arn:aws:states:eu-west-1:111122223333:stateMachine:clicks"}) {
			t.Errorf("%s granted on %v", a, res[a])
		}
	}
}

// Lake Formation: the catalog's permission calls, registering locations
// (passing the registration role to Lake Formation only), and the data
// location ARN a DATA_LOCATION_ACCESS grant names.
func TestLakeFormationPolicy(t *testing.T) {
	role := "arn:aws:iam::111122223333:role/lf-lake"
	res, conds := statementsFor(t, iam.NewPolicy(acct).LakeFormationPermissions().RegisterLocation(role))
	for _, a := range []string{"lakeformation:GrantPermissions", "lakeformation:RevokePermissions", "lakeformation:ListPermissions",
		"lakeformation:RegisterResource", "lakeformation:DeregisterResource"} {
		if !slices.Equal(res[a], []string{"*"}) {
			t.Errorf("%s granted on %v, want [\"*\"]", a, res[a])
		}
	}
	if !slices.Equal(res["iam:PassRole"], []string{role}) || !strings.Contains(fmt.Sprint(conds["iam:PassRole"]), "lakeformation.amazonaws.com") {
		t.Errorf("iam:PassRole on %v with %v, want %s passed to lakeformation.amazonaws.com only", res["iam:PassRole"], conds["iam:PassRole"], role)
	}
	for loc, want := range map[string]string{
		"s3://acme-lake/prod/cleaned/": "arn:aws:s3:::acme-lake/prod/cleaned",
		"s3://acme-lake/prod/cleaned":  "arn:aws:s3:::acme-lake/prod/cleaned",
		"s3://acme-lake":               "arn:aws:s3:::acme-lake",
	} {
		if got, err := iam.DataLocationARN("aws", loc); err != nil || got != want {
			t.Errorf("DataLocationARN(%s) = %q, %v; want %q", loc, got, err, want)
		}
	}
	if _, err := iam.DataLocationARN("aws", "file:///lake"); !errors.Is(err, iam.ErrInvalid) {
		t.Errorf("DataLocationARN of a file location: %v", err)
	}
}
