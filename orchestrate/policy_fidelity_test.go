package orchestrate

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/lakekit/lakekit/lake/iam"
	"github.com/lakekit/lakekit/lake/iam/iamtest"
)

// fidelityOpts are the ways a pipeline compiles for AWS: Go steps on ECS
// (.sync and task tokens) and on Lambda.
func fidelityOpts() map[string]*CompileOptions {
	tok := *allOpts
	tok.ECS = &ECSOptions{Cluster: "lake", TaskDefinition: "lakekit-worker", ContainerName: "worker", WaitForTaskToken: true}
	lambda := *allOpts
	lambda.ECS, lambda.Lambda = nil, &LambdaOptions{FunctionName: "lakekit-worker:live"}
	return map[string]*CompileOptions{"ecs": allOpts, "ecs-token": &tok, "lambda": &lambda}
}

// renderedPolicies renders every policy lakekit renders for a
// representative set of pipelines and principals: the state machine's,
// the worker's and the deployer's for a pipeline with a step of every
// kind (each way it compiles), and lake/iam's own policies for the
// services that use the catalog and the query engines directly.
func renderedPolicies(t *testing.T) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	render := func(name string, pol *iam.Policy, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		raw, err := pol.JSON()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out[name] = raw
	}
	for name, o := range fidelityOpts() {
		pol, err := StateMachinePolicy(allKinds(), o, policyAcct, policyRoles)
		render("state machine/"+name, pol, err)
		pol, err = WorkerPolicy(allKinds(), o, policyAcct)
		render("worker/"+name, pol, err)
	}
	pol, err := DeployPolicy(allKinds(), policyAcct, "arn:aws:iam::111122223333:role/orders-sfn")
	render("deploy", pol, err)
	// lake/iam's policies for services that use the lake, the catalog
	// and the query engines directly
	render("ingestion", iam.NewPolicy(policyAcct).WritePrefix("s3://acme-lake/cleaned/").Catalog(iam.ReadWrite, "cleaned").KMS(iam.ReadWrite, keyCurated), nil)
	render("catalog admin", iam.NewPolicy(policyAcct).Catalog(iam.Manage, "cleaned").SearchCatalog().LakeFormationPermissions().
		RegisterLocation("arn:aws:iam::111122223333:role/lakeformation-lake"), nil)
	render("athena", iam.NewPolicy(policyAcct).ReadPrefix("s3://acme-lake/curated/").Catalog(iam.Read, "curated").
		Athena("analytics").AthenaResults("s3://acme-results/athena/"), nil)
	render("redshift", iam.NewPolicy(policyAcct).RedshiftData("arn:aws:redshift:eu-west-1:111122223333:cluster:warehouse"), nil)
	return out
}

// TestPolicyFidelitySAR checks every statement of every policy lakekit
// renders against the Service Authorization Reference table
// (lake/iam/iamtest): known actions, resources of the actions' resource
// types ("*" for actions without any), valid condition keys, dependent
// actions granted.
func TestPolicyFidelitySAR(t *testing.T) {
	sar := iamtest.SAR()
	for name, raw := range renderedPolicies(t) {
		for _, err := range sar.Check(raw) {
			t.Errorf("%s policy: %v", name, err)
		}
	}
}

// sdkServices maps the aws-sdk-go-v2 packages lakekit calls to their IAM
// service prefixes.
var sdkServices = map[string]string{
	"s3": "s3", "glue": "glue", "athena": "athena", "sfn": "states", "lakeformation": "lakeformation",
	"redshiftdata": "redshift-data", "sts": "sts", "transfermanager": "s3",
}

// sdkActions lists the operations whose IAM actions are not named after
// them (the Service Authorization Reference says which action each
// operation needs).
var sdkActions = map[string][]string{
	"s3.HeadObject":                {"s3:GetObject"},
	"s3.ListObjectsV2":             {"s3:ListBucket"},
	"s3.HeadBucket":                {"s3:ListBucket"}, // the open-time bucket check; a 403 (ListBucket limited to a prefix) passes
	"s3.DeleteObjects":             {"s3:DeleteObject"},
	"s3.CopyObject":                {"s3:GetObject", "s3:PutObject"},
	"transfermanager.UploadObject": {"s3:PutObject", "s3:AbortMultipartUpload"}, // multipart: Create/UploadPart/Complete are s3:PutObject
}

// callsNeedNoGrant are SDK calls no policy has to grant, and why.
var callsNeedNoGrant = map[string]string{
	"sts.GetCallerIdentity":              "STS answers GetCallerIdentity for any principal, even one whose policies deny it",
	"s3.GetBucketLifecycleConfiguration": "lifecycle.Manager.Apply runs at deploy time under the deployer's role (IAM action s3:GetLifecycleConfiguration); no service role lakekit renders should change a bucket's lifecycle",
	"s3.PutBucketLifecycleConfiguration": "lifecycle.Manager.Apply runs at deploy time under the deployer's role (IAM action s3:PutLifecycleConfiguration); no service role lakekit renders should change a bucket's lifecycle",
	"s3.GetBucketPolicy":                 "iam.BucketPolicy.Apply runs at deploy time under the deployer's role (IAM action s3:GetBucketPolicy); no service role lakekit renders should read or change a bucket's policy",
	"s3.PutBucketPolicy":                 "iam.BucketPolicy.Apply runs at deploy time under the deployer's role (IAM action s3:PutBucketPolicy); no service role lakekit renders should change a bucket's policy",
}

// sdkCalls parses lakekit's non-test Go files and returns every AWS SDK
// operation they call ("glue.CreateTable"), found by the operation's
// input struct (&glue.CreateTableInput{...}), with the files calling it.
func sdkCalls(t *testing.T) map[string][]string {
	t.Helper()
	input := regexp.MustCompile(`^([A-Z][A-Za-z0-9]+)Input$`)
	calls := map[string][]string{}
	for _, dir := range []string{"../lake", "../catalog", "../query", "../orchestrate", "../zones", "../transform"} {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && (d.Name() == "testdata" || strings.HasSuffix(d.Name(), "test")) && path != dir {
				return filepath.SkipDir
			}
			if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
			if err != nil {
				return err
			}
			imports := map[string]string{} // local name → sdk package
			for _, im := range f.Imports {
				p := strings.Trim(im.Path.Value, `"`)
				pkg, ok := strings.CutPrefix(p, "github.com/aws/aws-sdk-go-v2/service/")
				if !ok {
					pkg, ok = strings.CutPrefix(p, "github.com/aws/aws-sdk-go-v2/feature/s3/")
				}
				if !ok || strings.Contains(pkg, "/") {
					continue
				}
				local := pkg
				if im.Name != nil {
					local = im.Name.Name
				}
				imports[local] = pkg
			}
			ast.Inspect(f, func(n ast.Node) bool {
				sel, ok := n.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				x, ok := sel.X.(*ast.Ident)
				if !ok || imports[x.Name] == "" {
					return true
				}
				if m := input.FindStringSubmatch(sel.Sel.Name); m != nil {
					op := imports[x.Name] + "." + m[1]
					if !slices.Contains(calls[op], path) {
						calls[op] = append(calls[op], path)
					}
				}
				return true
			})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return calls
}

// TestPolicyFidelityCalls checks that every AWS call lakekit's packages
// make is allowed by some policy lakekit renders: a call whose action no
// rendered policy grants is AccessDenied for every user who follows the
// policies.
func TestPolicyFidelityCalls(t *testing.T) {
	sar := iamtest.SAR()
	granted := map[string]bool{}
	for name, raw := range renderedPolicies(t) {
		g, err := sar.Granted(raw)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for a := range g {
			granted[a] = true
		}
	}
	calls := sdkCalls(t)
	if len(calls) < 20 || calls["glue.CreateTable"] == nil || calls["sfn.SendTaskSuccess"] == nil || calls["s3.PutObject"] == nil {
		t.Fatalf("found only these SDK calls, the scan is broken: %v", calls)
	}
	ops := make([]string, 0, len(calls))
	for op := range calls {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	for _, op := range ops {
		if callsNeedNoGrant[op] != "" {
			continue
		}
		pkg, name, _ := strings.Cut(op, ".")
		actions, ok := sdkActions[op]
		if !ok {
			actions = []string{sdkServices[pkg] + ":" + name}
		}
		for _, a := range actions {
			full, _, known := sar.Lookup(a)
			switch {
			case sdkServices[pkg] == "":
				t.Errorf("%s (called in %v): the SDK package %s has no IAM service prefix in sdkServices", op, calls[op], pkg)
			case !known:
				t.Errorf("%s (called in %v) needs %s, which is not in the Service Authorization Reference table", op, calls[op], a)
			case !granted[full]:
				t.Errorf("%s (called in %v) needs %s, which no policy lakekit renders grants", op, calls[op], a)
			}
		}
	}
}
