package query

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"iter"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/athena"
	"github.com/aws/aws-sdk-go-v2/service/athena/types"

	"github.com/lakekit/lakekit/catalog"
	"github.com/lakekit/lakekit/lake"
)

// DefaultPricePerTB is Athena's list price per TB scanned, in USD.
const DefaultPricePerTB = 5.0

// athenaMinBilledBytes: Athena bills at least 10 MB per query and rounds up
// to the next MB.
const (
	athenaMinBilledBytes = 10 << 20
	athenaBillingUnit    = 1 << 20
	bytesPerTB           = 1 << 40
)

// AthenaAPI is the part of the Amazon Athena client the Athena engine
// calls: an *athena.Client has these methods. NewAthenaFromClient takes any
// value that has them, so a service can hand in an instrumented client or a
// test can hand in a stub.
type AthenaAPI interface {
	StartQueryExecution(ctx context.Context, in *athena.StartQueryExecutionInput, optFns ...func(*athena.Options)) (*athena.StartQueryExecutionOutput, error)
	GetQueryExecution(ctx context.Context, in *athena.GetQueryExecutionInput, optFns ...func(*athena.Options)) (*athena.GetQueryExecutionOutput, error)
	GetQueryResults(ctx context.Context, in *athena.GetQueryResultsInput, optFns ...func(*athena.Options)) (*athena.GetQueryResultsOutput, error)
	StopQueryExecution(ctx context.Context, in *athena.StopQueryExecutionInput, optFns ...func(*athena.Options)) (*athena.StopQueryExecutionOutput, error)
}

// AthenaOptions configure the Athena engine. A nil *AthenaOptions means
// defaults (the "primary" workgroup and its output location).
type AthenaOptions struct {
	// WorkGroup runs the queries; default "primary".
	WorkGroup string
	// OutputLocation is where Athena writes results ("s3://bucket/prefix/");
	// empty means the workgroup's setting.
	OutputLocation string
	// Database and DataCatalog form the query execution context
	// (unqualified table names resolve in Database; DataCatalog defaults to
	// AwsDataCatalog).
	Database    string
	DataCatalog string
	// Encryption of the results: types.EncryptionOptionSseS3,
	// EncryptionOptionSseKms (with KMSKey) or EncryptionOptionCseKms.
	Encryption types.EncryptionOption
	KMSKey     string
	// ResultReuseMaxAge > 0 lets Athena answer with a previous result of the
	// same query up to this old (result reuse), at most
	// MaxResultReuseAge (7 days); 0 disables it. Athena reuses results of
	// SELECT and EXECUTE statements only, and not when the request
	// overrides the workgroup's result configuration: with OutputLocation
	// or Encryption set, or for other statements, the engine does not ask
	// for reuse at all.
	ResultReuseMaxAge time.Duration
	// PricePerTB prices Stats.Cost; default DefaultPricePerTB ($5).
	PricePerTB float64
	// Poll tunes the waiting for the query (MinDelay, MaxDelay, MaxWait);
	// zero fields take the defaults (see Poll).
	Poll Poll
	// PageSize is GetQueryResults' MaxResults (at most 1000, the default).
	PageSize int32

	// UnloadStore is where QueryUnload asks Athena to write its Parquet
	// output and reads it back from: a lake store on S3 (lake/s3store).
	// Each query writes under unload/<token>/ within it.
	UnloadStore *lake.Store
	// KeepUnloaded keeps the UNLOAD output after it was read; by default it
	// is deleted once the rows have been consumed.
	KeepUnloaded bool

	// Lake and Catalog feed Estimate (the dry-run cost estimate).
	Lake    *lake.Lake
	Catalog catalog.Catalog

	// ClientOptions are applied to the athena.Options of the client
	// NewAthena builds, after the aws.Config: a custom HTTP client, a
	// retryer or an endpoint. NewAthenaFromClient ignores them.
	ClientOptions []func(*athena.Options)
}

// MaxResultReuseAge is the longest result reuse Athena allows (7 days).
const MaxResultReuseAge = 7 * 24 * time.Hour

// MaxExecutionParameterLength is the most characters one Athena execution
// parameter (a rendered literal) may have.
const MaxExecutionParameterLength = 1024

// Athena is the Amazon Athena engine. It is safe for concurrent use.
//
// Parameters go in StartQueryExecution's ExecutionParameters, each rendered
// as a typed SQL literal (SQLLiteral); the SQL text keeps its ? marks.
type Athena struct {
	api  AthenaAPI
	opts AthenaOptions
}

var _ Engine = (*Athena)(nil)

// NewAthena returns an Athena engine over a client built from cfg (region,
// credentials, endpoint) and opts.ClientOptions. A nil opts means defaults.
// It fails with ErrInvalid naming the option that is out of range.
func NewAthena(cfg aws.Config, opts *AthenaOptions) (*Athena, error) {
	var fns []func(*athena.Options)
	if opts != nil {
		fns = opts.ClientOptions
	}
	return NewAthenaFromClient(athena.NewFromConfig(cfg, fns...), opts)
}

// NewAthenaFromClient returns an Athena engine over client: an
// *athena.Client, or any AthenaAPI (an instrumented client, a stub in a
// test). It fails with ErrInvalid when client is nil or an option is out of
// range.
func NewAthenaFromClient(client AthenaAPI, opts *AthenaOptions) (*Athena, error) {
	if client == nil {
		return nil, fmt.Errorf("query: NewAthenaFromClient: client is nil: %w", ErrInvalid)
	}
	var o AthenaOptions
	if opts != nil {
		o = *opts
	}
	if o.WorkGroup == "" {
		o.WorkGroup = "primary"
	}
	if o.PricePerTB == 0 {
		o.PricePerTB = DefaultPricePerTB
	}
	if o.PricePerTB < 0 {
		return nil, fmt.Errorf("query: Athena PricePerTB %v is negative: %w", o.PricePerTB, ErrInvalid)
	}
	if o.PageSize <= 0 || o.PageSize > 1000 {
		o.PageSize = 1000
	}
	if o.OutputLocation != "" && !strings.HasPrefix(o.OutputLocation, "s3://") {
		return nil, fmt.Errorf("query: Athena OutputLocation %q must be an s3:// URL: %w", o.OutputLocation, ErrInvalid)
	}
	if o.Encryption == types.EncryptionOptionSseKms && o.KMSKey == "" || o.Encryption == types.EncryptionOptionCseKms && o.KMSKey == "" {
		return nil, fmt.Errorf("query: Athena encryption %s needs a KMSKey: %w", o.Encryption, ErrInvalid)
	}
	if o.ResultReuseMaxAge < 0 || o.ResultReuseMaxAge > MaxResultReuseAge {
		return nil, fmt.Errorf("query: Athena ResultReuseMaxAge %v is outside 0 to 7 days (%v): %w", o.ResultReuseMaxAge, MaxResultReuseAge, ErrInvalid)
	}
	o.Poll = o.Poll.WithDefaults()
	return &Athena{api: client, opts: o}, nil
}

// As exposes the *athena.Client (pass a **athena.Client) when the engine
// runs over one.
func (a *Athena) As(i any) bool {
	p, ok := i.(**athena.Client)
	if !ok {
		return false
	}
	c, ok := a.api.(*athena.Client)
	if ok {
		*p = c
	}
	return ok
}

// Close implements Engine; the client needs no closing.
func (a *Athena) Close() error { return nil }

// AthenaRequest is one statement with full control over its execution.
type AthenaRequest struct {
	SQL    string
	Params []any
	// Token is StartQueryExecution's ClientRequestToken (32–128
	// characters): a retried start with the same token does not run the
	// query twice. Empty means a fresh random token.
	Token string
	// NoResultReuse turns result reuse off for this statement.
	NoResultReuse bool
}

// Execution is a finished Athena query execution.
type Execution struct {
	ID    string
	Stats Stats
	// StatementType is DDL, DML or UTILITY.
	StatementType string
	// OutputLocation is where Athena wrote the result file.
	OutputLocation string
}

// NewToken returns a random idempotency token (32 hex characters).
func NewToken() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b[:])
}

// ExecutionParameters renders params as Athena execution parameters (typed
// SQL literals). They are sent beside the SQL, which keeps its ? marks.
// Athena takes 1 to MaxExecutionParameterLength characters per parameter:
// a longer literal is refused with ErrInvalidParam.
func ExecutionParameters(params []any) ([]string, error) {
	out := make([]string, len(params))
	for i, p := range params {
		s, err := SQLLiteral(p)
		if err != nil {
			return nil, fmt.Errorf("query: parameter %d: %w", i+1, err)
		}
		if n := utf8.RuneCountInString(s); n > MaxExecutionParameterLength {
			return nil, fmt.Errorf("query: parameter %d renders as a %d-character literal; Athena takes at most %d per execution parameter: %w", i+1, n, MaxExecutionParameterLength, ErrInvalidParam)
		}
		out[i] = s
	}
	return out, nil
}

// reusable reports whether Athena can reuse the result of sql: a SELECT
// (also WITH ... SELECT) or EXECUTE statement.
func reusable(sql string) bool {
	s := sql
	for {
		s = strings.TrimLeft(s, " \t\r\n(")
		switch {
		case strings.HasPrefix(s, "--"):
			i := strings.IndexByte(s, '\n')
			if i < 0 {
				return false
			}
			s = s[i+1:]
			continue
		case strings.HasPrefix(s, "/*"):
			i := strings.Index(s, "*/")
			if i < 0 {
				return false
			}
			s = s[i+2:]
			continue
		}
		break
	}
	end := strings.IndexFunc(s, func(r rune) bool { return !unicode.IsLetter(r) })
	if end < 0 {
		end = len(s)
	}
	switch strings.ToUpper(s[:end]) {
	case "SELECT", "WITH", "EXECUTE":
		return true
	}
	return false
}

// Run starts the statement and waits for it to finish. When ctx ends first
// the query is stopped (StopQueryExecution) and the error wraps
// ErrCancelled and ctx's error. A failed query's error wraps
// ErrQueryFailed and carries Athena's StateChangeReason.
func (a *Athena) Run(ctx context.Context, req AthenaRequest) (*Execution, error) {
	in, err := a.startInput(req)
	if err != nil {
		return nil, err
	}
	out, err := a.api.StartQueryExecution(ctx, in)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("query: athena: start query: %w: %w", ErrCancelled, err)
		}
		return nil, fmt.Errorf("query: athena: start query: %w", err)
	}
	id := aws.ToString(out.QueryExecutionId)
	qe, err := a.wait(ctx, id)
	if err != nil {
		return nil, err
	}
	ex := &Execution{ID: id, StatementType: string(qe.StatementType)}
	if qe.ResultConfiguration != nil {
		ex.OutputLocation = aws.ToString(qe.ResultConfiguration.OutputLocation)
	}
	ex.Stats = a.stats(id, qe.Statistics)
	a.recordExecution(ctx, ex.Stats, string(qe.Status.State))
	switch qe.Status.State {
	case types.QueryExecutionStateFailed:
		reason := aws.ToString(qe.Status.StateChangeReason)
		if qe.Status.AthenaError != nil && qe.Status.AthenaError.ErrorMessage != nil && reason == "" {
			reason = aws.ToString(qe.Status.AthenaError.ErrorMessage)
		}
		return ex, &AthenaError{QueryID: id, Reason: reason, Detail: qe.Status.AthenaError}
	case types.QueryExecutionStateCancelled:
		return ex, fmt.Errorf("query: athena query %s was cancelled: %s: %w", id, aws.ToString(qe.Status.StateChangeReason), ErrCancelled)
	}
	return ex, nil
}

// startInput builds the StartQueryExecution request of req.
func (a *Athena) startInput(req AthenaRequest) (*athena.StartQueryExecutionInput, error) {
	if strings.TrimSpace(req.SQL) == "" {
		return nil, fmt.Errorf("query: empty SQL: %w", ErrInvalid)
	}
	if err := checkParamCount(req.SQL, req.Params); err != nil {
		return nil, err
	}
	in := &athena.StartQueryExecutionInput{
		QueryString: aws.String(req.SQL),
		WorkGroup:   aws.String(a.opts.WorkGroup),
	}
	if len(req.Params) > 0 {
		ps, err := ExecutionParameters(req.Params)
		if err != nil {
			return nil, err
		}
		in.ExecutionParameters = ps
	}
	token := req.Token
	if token == "" {
		token = NewToken()
	}
	if len(token) < 32 || len(token) > 128 {
		return nil, fmt.Errorf("query: Athena ClientRequestToken must have 32 to 128 characters, got %d: %w", len(token), ErrInvalid)
	}
	in.ClientRequestToken = aws.String(token)
	if a.opts.Database != "" || a.opts.DataCatalog != "" {
		in.QueryExecutionContext = &types.QueryExecutionContext{}
		if a.opts.Database != "" {
			in.QueryExecutionContext.Database = aws.String(a.opts.Database)
		}
		if a.opts.DataCatalog != "" {
			in.QueryExecutionContext.Catalog = aws.String(a.opts.DataCatalog)
		}
	}
	if a.opts.OutputLocation != "" || a.opts.Encryption != "" {
		rc := &types.ResultConfiguration{}
		if a.opts.OutputLocation != "" {
			rc.OutputLocation = aws.String(a.opts.OutputLocation)
		}
		if a.opts.Encryption != "" {
			rc.EncryptionConfiguration = &types.EncryptionConfiguration{EncryptionOption: a.opts.Encryption}
			if a.opts.KMSKey != "" {
				rc.EncryptionConfiguration.KmsKey = aws.String(a.opts.KMSKey)
			}
		}
		in.ResultConfiguration = rc
	}
	// Athena ignores reuse when the request overrides the result
	// configuration, and for statements other than SELECT and EXECUTE
	if a.opts.ResultReuseMaxAge > 0 && !req.NoResultReuse && in.ResultConfiguration == nil && reusable(req.SQL) {
		mins := int32(a.opts.ResultReuseMaxAge / time.Minute)
		if mins < 1 {
			mins = 1
		}
		in.ResultReuseConfiguration = &types.ResultReuseConfiguration{
			ResultReuseByAgeConfiguration: &types.ResultReuseByAgeConfiguration{Enabled: true, MaxAgeInMinutes: aws.Int32(mins)},
		}
	}
	return in, nil
}

// wait polls the execution until it ends; when ctx ends or the poll
// times out first, it stops the query on the service.
func (a *Athena) wait(ctx context.Context, id string) (*types.QueryExecution, error) {
	var qe *types.QueryExecution
	err := poll(ctx, a.opts.Poll, "athena query "+id, func(ctx context.Context) (bool, error) {
		got, err := a.api.GetQueryExecution(ctx, &athena.GetQueryExecutionInput{QueryExecutionId: aws.String(id)})
		if err != nil {
			return false, fmt.Errorf("query: athena: get query execution %s: %w", id, err)
		}
		qe = got.QueryExecution
		if qe == nil || qe.Status == nil {
			return false, nil
		}
		switch qe.Status.State {
		case types.QueryExecutionStateSucceeded, types.QueryExecutionStateFailed, types.QueryExecutionStateCancelled:
			return true, nil
		}
		return false, nil
	})
	if err != nil {
		if ctx.Err() != nil || errors.Is(err, ErrTimeout) {
			// stop the query on the service; the caller's context is done,
			// so use a short one of our own
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			_, serr := a.api.StopQueryExecution(sctx, &athena.StopQueryExecutionInput{QueryExecutionId: aws.String(id)})
			cancel()
			if errors.Is(err, ErrTimeout) {
				if serr != nil {
					return nil, fmt.Errorf("query: athena: %w (and stopping it failed: %v)", err, serr)
				}
				return nil, fmt.Errorf("query: athena: %w; stopped it", err)
			}
			if serr != nil {
				return nil, fmt.Errorf("query: athena query %s: %w: %w (and stopping it failed: %v)", id, ErrCancelled, ctx.Err(), serr)
			}
			return nil, fmt.Errorf("query: athena query %s stopped: %w: %w", id, ErrCancelled, ctx.Err())
		}
		return nil, err
	}
	return qe, nil
}

// AthenaError is a failed Athena query. It matches ErrQueryFailed.
type AthenaError struct {
	QueryID string
	// Reason is Athena's StateChangeReason.
	Reason string
	// Detail is Athena's error classification, when given.
	Detail *types.AthenaError
}

func (e *AthenaError) Error() string {
	return fmt.Sprintf("query: athena query %s failed: %s", e.QueryID, e.Reason)
}

// Unwrap makes errors.Is(err, ErrQueryFailed) true.
func (e *AthenaError) Unwrap() error { return ErrQueryFailed }

func (a *Athena) stats(id string, st *types.QueryExecutionStatistics) Stats {
	s := Stats{QueryID: id, BytesScanned: -1, RowsAffected: -1}
	if st == nil {
		return s
	}
	if st.DataScannedInBytes != nil {
		s.BytesScanned = *st.DataScannedInBytes
		s.Cost = AthenaCost(s.BytesScanned, a.opts.PricePerTB)
	}
	if st.EngineExecutionTimeInMillis != nil {
		s.ExecutionTime = time.Duration(*st.EngineExecutionTimeInMillis) * time.Millisecond
	}
	if st.ResultReuseInformation != nil {
		s.ReusedResult = st.ResultReuseInformation.ReusedPreviousResult
	}
	return s
}

// AthenaCost prices a scan the way Athena bills it: rounded up to the next
// MB, at least 10 MB, at pricePerTB USD per TB (2^40 bytes). Nothing
// scanned (DDL, a reused result) costs nothing.
func AthenaCost(bytesScanned int64, pricePerTB float64) float64 {
	if bytesScanned <= 0 {
		return 0
	}
	billed := (bytesScanned + athenaBillingUnit - 1) / athenaBillingUnit * athenaBillingUnit
	billed = max(billed, athenaMinBilledBytes)
	return float64(billed) / bytesPerTB * pricePerTB
}

// Exec implements Engine.
func (a *Athena) Exec(ctx context.Context, sql string, params ...any) (*Stats, error) {
	ex, err := a.Run(ctx, AthenaRequest{SQL: sql, Params: params})
	if err != nil {
		return nil, err
	}
	st := ex.Stats
	return &st, nil
}

// Query implements Engine: it runs the statement, then pages through
// GetQueryResults as the rows are consumed.
func (a *Athena) Query(ctx context.Context, sql string, params ...any) (*Result, error) {
	ex, err := a.Run(ctx, AthenaRequest{SQL: sql, Params: params})
	if err != nil {
		return nil, err
	}
	return a.Results(ctx, ex)
}

// Results reads a finished execution's rows (GetQueryResults, paginated).
// The first page is fetched now, for the column metadata.
func (a *Athena) Results(ctx context.Context, ex *Execution) (*Result, error) {
	first, err := a.api.GetQueryResults(ctx, &athena.GetQueryResultsInput{QueryExecutionId: aws.String(ex.ID), MaxResults: aws.Int32(a.opts.PageSize)})
	if err != nil {
		return nil, fmt.Errorf("query: athena: get query results %s: %w", ex.ID, err)
	}
	var info []types.ColumnInfo
	if first.ResultSet != nil && first.ResultSet.ResultSetMetadata != nil {
		info = first.ResultSet.ResultSetMetadata.ColumnInfo
	}
	cols := make([]Column, len(info))
	decoders := make([]athenaDecoder, len(info))
	for i, ci := range info {
		cols[i], decoders[i] = athenaColumn(ci)
	}
	seq := func(yield func([]any, error) bool) {
		page := first
		firstPage := true
		for {
			var rows []types.Row
			if page.ResultSet != nil {
				rows = page.ResultSet.Rows
			}
			if firstPage && len(rows) > 0 && isHeaderRow(rows[0], info) {
				rows = rows[1:]
			}
			firstPage = false
			for _, r := range rows {
				vals, err := decodeAthenaRow(r, cols, decoders)
				if !yield(vals, err) || err != nil {
					return
				}
			}
			if page.NextToken == nil || *page.NextToken == "" {
				return
			}
			next, err := a.api.GetQueryResults(ctx, &athena.GetQueryResultsInput{
				QueryExecutionId: aws.String(ex.ID), MaxResults: aws.Int32(a.opts.PageSize), NextToken: page.NextToken,
			})
			if err != nil {
				yield(nil, fmt.Errorf("query: athena: get query results %s: %w", ex.ID, err))
				return
			}
			page = next
		}
	}
	return NewResult(cols, ex.Stats, iter.Seq2[[]any, error](seq), nil, nil), nil
}

// isHeaderRow: Athena repeats the column names as the first row of a
// SELECT's first page.
func isHeaderRow(r types.Row, info []types.ColumnInfo) bool {
	if len(r.Data) != len(info) || len(info) == 0 {
		return false
	}
	for i, d := range r.Data {
		if d.VarCharValue == nil {
			return false
		}
		v := *d.VarCharValue
		if v != aws.ToString(info[i].Name) && v != aws.ToString(info[i].Label) {
			return false
		}
	}
	return true
}

func decodeAthenaRow(r types.Row, cols []Column, dec []athenaDecoder) ([]any, error) {
	if len(r.Data) != len(cols) {
		return nil, fmt.Errorf("query: athena row has %d values for %d columns: %w", len(r.Data), len(cols), ErrQueryFailed)
	}
	out := make([]any, len(cols))
	for i, d := range r.Data {
		if d.VarCharValue == nil {
			continue
		}
		v, err := dec[i](*d.VarCharValue)
		if err != nil {
			return nil, fmt.Errorf("query: athena column %q (%s): value %q: %v: %w", cols[i].Name, cols[i].DatabaseType, *d.VarCharValue, err, ErrUnsupported)
		}
		out[i] = v
	}
	return out, nil
}
