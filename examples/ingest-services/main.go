// Command ingest-services reads what AWS's managed ingestion services land
// in the raw zone, where they land it, and renders their set-up from the
// lake so that they land exactly there:
//
//   - Amazon Data Firehose delivers click events into raw/web/clicks/ in
//     its own layout (YYYY/MM/dd/HH/<stream>-1-<time>-<uuid>.gz, records
//     concatenated without a delimiter; records it could not process under
//     errors/); the clean_clicks transform validates them into cleaned
//     web.clicks (rejects, and Firehose's error output, to
//     web.clicks_quarantine), daily_pages aggregates them into curated
//     web.daily_pages.
//   - An AWS DMS task's S3 target endpoint writes a table's full load and
//     changes into raw/crm/customers/<schema>/<table>/ (LOAD00000001.csv,
//     ..., then change files named by time); a CDC merge keeps the curated
//     current-state table crm.customers.
//
// Locally (the default) the program writes the input itself, in each
// service's layout. On S3 it renders the services' set-up (-render DIR:
// the Firehose destination, the DMS endpoint settings, each service
// role's policy, the EventBridge rules that start the pipelines), and with
// -firehose-stream sends the events through a real Firehose stream
// (created from the rendered set-up with -create); -raw-kms-key gives the
// raw zone its KMS key, which the set-up then uses:
//
//	go run ./examples/ingest-services
//	go run ./examples/ingest-services -lake s3://my-lake/lake -region eu-west-1 \
//	    -raw-kms-key arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab \
//	    -firehose-role arn:aws:iam::123456789012:role/firehose-raw \
//	    -dms-role arn:aws:iam::123456789012:role/dms-raw -render setup/ \
//	    -firehose-stream clicks -create
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	dms "github.com/aws/aws-sdk-go-v2/service/databasemigrationservice"
	dtypes "github.com/aws/aws-sdk-go-v2/service/databasemigrationservice/types"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	ftypes "github.com/aws/aws-sdk-go-v2/service/firehose/types"

	"github.com/lakekit/lakekit/catalog"
	"github.com/lakekit/lakekit/lake"
	_ "github.com/lakekit/lakekit/lake/s3store" // s3:// lakes
	"github.com/lakekit/lakekit/orchestrate"
	"github.com/lakekit/lakekit/transform"
	"github.com/lakekit/lakekit/zones/raw"
)

func main() { mainWith("ingest-services", run) }

// Summary is the last line of output.
type Summary struct {
	Lake string `json:"lake"`
	// Firehose path
	FirehoseRecords   int   `json:"firehose_records"`
	FirehoseMalformed int   `json:"firehose_malformed"`
	FirehoseObjects   int   `json:"firehose_objects"`
	FirehoseErrors    int   `json:"firehose_error_records"`
	CleanFiles        int   `json:"clean_files"`
	CleanedRows       int64 `json:"cleaned_rows"`
	QuarantinedRows   int64 `json:"quarantined_rows"`
	DailyRows         int64 `json:"daily_rows"`
	// DMS path
	DMSFiles          int   `json:"dms_files"`
	ChangeRows        int   `json:"change_rows"`
	MergedFiles       int   `json:"merged_files"`
	Inserted          int64 `json:"inserted"`
	Updated           int64 `json:"updated"`
	Deleted           int64 `json:"deleted"`
	QuarantinedChange int64 `json:"quarantined_changes"`
	Customers         int64 `json:"customers"`
	// set-up
	Rendered []string `json:"rendered,omitempty"`
	Created  []string `json:"created,omitempty"`
}

type flags struct {
	lake, render, region, firehoseRole, dmsRole, stream, stateMachine, eventsRole, rawKey string
	records, customers, batches                                                           int
	seed                                                                                  int64
	create                                                                                bool
}

func parse(args []string, stdout io.Writer) (*flags, bool, error) {
	fs := flag.NewFlagSet("ingest-services", flag.ContinueOnError)
	f := &flags{}
	fs.StringVar(&f.lake, "lake", "", "lake URL or directory (default: a new directory under the current one)")
	fs.IntVar(&f.records, "records", 10000, "click events sent through Firehose")
	fs.IntVar(&f.customers, "customers", 2000, "rows of the replicated table's full load")
	fs.IntVar(&f.batches, "batches", 3, "DMS change files after the full load")
	fs.Int64Var(&f.seed, "seed", 1, "seed of the generators")
	fs.StringVar(&f.rawKey, "raw-kms-key", "", "KMS key ARN of the raw zone: objects written there, and the rendered set-up, use it")
	fs.StringVar(&f.render, "render", "", "directory to write the services' set-up into (an s3:// lake only)")
	fs.StringVar(&f.region, "region", "", "region of the services (default: the AWS configuration's)")
	fs.StringVar(&f.firehoseRole, "firehose-role", "", "IAM role Firehose delivers as (arn:aws:iam::<account>:role/<name>)")
	fs.StringVar(&f.dmsRole, "dms-role", "", "IAM role of the DMS endpoint (arn:aws:iam::<account>:role/<name>)")
	fs.StringVar(&f.stream, "firehose-stream", "", "send the events through this Firehose stream instead of writing its layout (an s3:// lake only)")
	fs.BoolVar(&f.create, "create", false, "create the Firehose stream and the DMS endpoint from the rendered set-up")
	fs.StringVar(&f.stateMachine, "state-machine", "", "state machine ARN the EventBridge rules start (with -events-role)")
	fs.StringVar(&f.eventsRole, "events-role", "", "IAM role EventBridge starts the state machine as")
	if help, err := parseFlags(fs, args, stdout); help || err != nil {
		return nil, help, err
	}
	switch {
	case f.records <= 0 || f.customers <= 0 || f.batches < 0:
		return nil, false, usagef("-records and -customers must be positive and -batches not negative")
	case (f.stream != "" || f.create || f.render != "") && !strings.HasPrefix(f.lake, "s3://"):
		return nil, false, usagef("-render, -firehose-stream and -create need an s3:// lake: the services write to S3")
	case (f.stream != "" || f.create) && f.firehoseRole == "":
		return nil, false, usagef("-firehose-stream and -create need -firehose-role")
	case f.create && (f.dmsRole == "" || f.stream == ""):
		return nil, false, usagef("-create needs -dms-role and -firehose-stream (the stream to create)")
	case f.render != "" && f.firehoseRole == "" && f.dmsRole == "":
		return nil, false, usagef("-render needs -firehose-role or -dms-role (whose set-up to render)")
	case (f.stateMachine == "") != (f.eventsRole == ""):
		return nil, false, usagef("-state-machine and -events-role go together")
	}
	return f, false, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f, help, err := parse(args, stdout)
	if help || err != nil {
		return err
	}
	if f.lake == "" {
		d, err := os.MkdirTemp(".", "ingest-services-lake-")
		if err != nil {
			return err
		}
		if f.lake, err = filepath.Abs(d); err != nil {
			return err
		}
	}
	var lo *lake.Options
	if f.rawKey != "" {
		lo = &lake.Options{Zones: map[lake.ZoneName]lake.ZoneConfig{lake.Raw: {KMSKeyID: f.rawKey}}}
	}
	lk, err := openLake(ctx, f.lake, lo)
	if err != nil {
		return err
	}
	defer lk.Close()
	cat, err := catalog.OpenLocal(lk)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "lake       %s\n", where(lk))
	s := Summary{Lake: f.lake}

	clicks, err := newClicks(lk, cat, clickSource(lk))
	if err != nil {
		return err
	}
	customers, merge, err := newCustomerMerge(lk, cat, changeSource(lk))
	if err != nil {
		return err
	}
	pipelines := servicePipelines(clicks, merge, &s, stdout)

	// the set-up, rendered from the lake: where each service writes, with
	// the raw zone's key, and what its role may do
	var fhSetup *raw.FirehoseSetup
	var dmsSetup *raw.DMSSetup
	if strings.HasPrefix(f.lake, "s3://") && (f.firehoseRole != "" || f.dmsRole != "") {
		if fhSetup, dmsSetup, err = renderSetup(ctx, lk, f, pipelines, &s, stdout); err != nil {
			return err
		}
	}

	// 1. Firehose: click events into raw/web/clicks/
	g := newClickGen(f.seed)
	var st firehoseStats
	if f.stream != "" {
		cfg, err := awsConfig(ctx)
		if err != nil {
			return err
		}
		fh := firehose.NewFromConfig(cfg)
		if f.create {
			dest := fhSetup.Destination
			if _, err := fh.CreateDeliveryStream(ctx, &firehose.CreateDeliveryStreamInput{DeliveryStreamName: aws.String(f.stream),
				DeliveryStreamType: ftypes.DeliveryStreamTypeDirectPut, ExtendedS3DestinationConfiguration: &dest}); err != nil {
				return fmt.Errorf("creating Firehose stream %s: %w", f.stream, err)
			}
			s.Created = append(s.Created, "firehose:"+f.stream)
			fmt.Fprintf(stdout, "created    Firehose stream %s → s3://%s/%s\n", f.stream, fhSetup.Bucket, fhSetup.Prefix)
		}
		if st, err = sendToFirehose(ctx, fh, f.stream, g, f.records); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "firehose   sent %d events (%d malformed) to stream %s\n", st.records, st.malformed, f.stream)
	} else {
		if st, err = landLikeFirehose(ctx, lk, g, f.records, 500, "clicks"); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "firehose   %d events (%d malformed) in %d objects and %d in the error output, in Firehose's layout under raw/%s/%s/\n",
			st.records, st.malformed, st.objects, st.errorRecords, ClickSource, ClickDataset)
	}
	s.FirehoseRecords, s.FirehoseMalformed, s.FirehoseObjects, s.FirehoseErrors = st.records, st.malformed, st.objects, st.errorRecords

	// 2. DMS: the full load and the changes into raw/crm/customers/
	if f.create {
		if err := createDMSEndpoint(ctx, dmsSetup, &s, stdout); err != nil {
			return err
		}
	}
	dg := newDMSGen(f.seed, f.customers)
	files := dg.fullLoad(150)
	for range f.batches {
		files = append(files, dg.changes())
	}
	if err := writeLikeDMS(ctx, lk, files); err != nil {
		return err
	}
	for _, df := range files {
		s.ChangeRows += df.rows
	}
	s.DMSFiles = len(files)
	fmt.Fprintf(stdout, "dms        %d files (%s ... %s), %d rows, in DMS's layout under raw/%s/%s/%s/%s/\n",
		len(files), files[0].name, files[len(files)-1].name, s.ChangeRows, DMSSource, DMSDataset, SourceSchema, SourceTable)

	// 3. the pipelines the rendered EventBridge rules start, run here
	runner, err := orchestrate.NewRunner(lk, &orchestrate.RunnerOptions{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return err
	}
	for _, p := range pipelines {
		r, err := runner.Run(ctx, p, nil)
		if err != nil {
			return fmt.Errorf("pipeline %s: %w", p.Name(), err)
		}
		fmt.Fprintf(stdout, "pipeline   %s run %s %s\n", p.Name(), r.ID, r.State)
	}
	snap, err := customers.Table().Snapshot(ctx, 0)
	if err != nil {
		return fmt.Errorf("curated crm.customers after the merge: %w", err)
	}
	s.Customers = snap.Rows()
	fmt.Fprintf(stdout, "curated    crm.customers version %d: %d customers in %d partitions\n", snap.Version, snap.Rows(), len(snap.Partitions()))
	out, _ := json.Marshal(s)
	fmt.Fprintln(stdout, string(out))
	return nil
}

// servicePipelines are the two pipelines, one a service: clean_clicks then
// daily_pages when Firehose delivers; customers_from_dms when DMS writes.
// Each step adds its counts to s.
func servicePipelines(c *clicks, merge *transform.Merger[Change, Customer, int64, int64], s *Summary, stdout io.Writer) []*orchestrate.Pipeline {
	step := func(name string, run func(context.Context) (*transform.Result, error), count func(*transform.Result)) *orchestrate.Step {
		return orchestrate.GoStep(name, func(ctx context.Context, _ orchestrate.Input) (orchestrate.Output, error) {
			r, err := run(ctx)
			if err != nil {
				return nil, err
			}
			count(r)
			fmt.Fprintf(stdout, "step       %s: %d files, %d records in, %d rows out, %d quarantined, %d commits in %s\n",
				name, r.Files, r.RowsIn, r.RowsOut, r.Rejected, len(r.Versions), fmtSeconds(r.Duration))
			return json.Marshal(map[string]int64{"rows_in": r.RowsIn, "rows_out": r.RowsOut, "rejected": r.Rejected})
		})
	}
	return []*orchestrate.Pipeline{
		orchestrate.New("ingest-clicks",
			step("clean_clicks", c.clean.Run, func(r *transform.Result) {
				s.CleanFiles, s.CleanedRows, s.QuarantinedRows = r.Files, r.RowsOut, r.Rejected
			}),
			step("daily_pages", c.curate.Run, func(r *transform.Result) { s.DailyRows = r.RowsOut }).After("clean_clicks")),
		orchestrate.New("ingest-customers",
			step("customers_from_dms", merge.Run, func(r *transform.Result) {
				s.MergedFiles, s.QuarantinedChange = r.Files, r.Rejected
				s.Inserted, s.Updated, s.Deleted = r.Merge.Inserted, r.Merge.Updated, r.Merge.Deleted
			})),
	}
}

// renderSetup renders each service's set-up from the lake and, with
// -render, writes it as JSON files: what CloudFormation, Terraform or the
// AWS CLI take.
func renderSetup(ctx context.Context, lk *lake.Lake, f *flags, pipelines []*orchestrate.Pipeline, s *Summary, stdout io.Writer) (*raw.FirehoseSetup, *raw.DMSSetup, error) {
	region := f.region
	if region == "" {
		cfg, err := awsConfig(ctx)
		if err != nil {
			return nil, nil, err
		}
		region = cfg.Region
	}
	files := map[string]func() ([]byte, error){}
	rule := func(p *orchestrate.Pipeline, bucket, prefix string) func() ([]byte, error) {
		return func() ([]byte, error) {
			return orchestrate.S3EventRule(p, bucket, prefix, orchestrate.Target{StateMachineARN: f.stateMachine, RoleARN: f.eventsRole})
		}
	}
	var fh *raw.FirehoseSetup
	var ds *raw.DMSSetup
	var err error
	if f.firehoseRole != "" {
		if fh, err = raw.RenderFirehose(lk, ClickSource, ClickDataset, raw.ServiceRole{ARN: f.firehoseRole, Region: region}, nil); err != nil {
			return nil, nil, err
		}
		files["firehose-destination.json"] = fh.DestinationJSON
		files["firehose-role-policy.json"] = fh.PolicyJSON
		if f.stateMachine != "" {
			files["firehose-rule.json"] = rule(pipelines[0], fh.Bucket, fh.Prefix)
		}
		fmt.Fprintf(stdout, "set-up     Firehose delivers into s3://%s/%s (errors under %s)\n", fh.Bucket, fh.Prefix, fh.ErrorPrefix)
	}
	if f.dmsRole != "" {
		if ds, err = raw.RenderDMS(lk, DMSSource, DMSDataset, raw.ServiceRole{ARN: f.dmsRole, Region: region}, nil); err != nil {
			return nil, nil, err
		}
		files["dms-s3-settings.json"] = ds.SettingsJSON
		files["dms-role-policy.json"] = ds.PolicyJSON
		if f.stateMachine != "" {
			files["dms-rule.json"] = rule(pipelines[1], ds.Bucket, ds.Prefix)
		}
		fmt.Fprintf(stdout, "set-up     DMS writes into s3://%s/%s<schema>/<table>/\n", ds.Bucket, ds.Prefix)
	}
	if f.render == "" {
		return fh, ds, nil
	}
	if err := os.MkdirAll(f.render, 0o755); err != nil {
		return nil, nil, err
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		b, err := files[name]()
		if err != nil {
			return nil, nil, fmt.Errorf("rendering %s: %w", name, err)
		}
		if err := os.WriteFile(filepath.Join(f.render, name), append(b, '\n'), 0o644); err != nil {
			return nil, nil, err
		}
		s.Rendered = append(s.Rendered, name)
	}
	fmt.Fprintf(stdout, "set-up     %d files in %s\n", len(files), f.render)
	return fh, ds, nil
}

// createDMSEndpoint creates the DMS S3 target endpoint from the rendered
// settings (a replication task then names it as its target).
func createDMSEndpoint(ctx context.Context, ds *raw.DMSSetup, s *Summary, stdout io.Writer) error {
	cfg, err := awsConfig(ctx)
	if err != nil {
		return err
	}
	settings := ds.Settings
	const id = "lakekit-crm-customers"
	if _, err := dms.NewFromConfig(cfg).CreateEndpoint(ctx, &dms.CreateEndpointInput{EndpointIdentifier: aws.String(id),
		EndpointType: dtypes.ReplicationEndpointTypeValueTarget, EngineName: aws.String("s3"), S3Settings: &settings}); err != nil {
		return fmt.Errorf("creating DMS endpoint %s: %w", id, err)
	}
	s.Created = append(s.Created, "dms-endpoint:"+id)
	fmt.Fprintf(stdout, "created    DMS S3 target endpoint %s → s3://%s/%s\n", id, ds.Bucket, ds.Prefix)
	return nil
}
