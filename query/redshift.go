package query

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/redshiftdata"
	"github.com/aws/aws-sdk-go-v2/service/redshiftdata/types"

	"github.com/lakekit/lakekit/query/sqltext"
)

// RedshiftDataAPI is the part of the Amazon Redshift Data API client the
// Redshift engine calls: a *redshiftdata.Client has these methods.
// NewRedshiftFromClient takes any value that has them, so a service can
// hand in an instrumented client or a test can hand in a stub.
type RedshiftDataAPI interface {
	ExecuteStatement(ctx context.Context, in *redshiftdata.ExecuteStatementInput, optFns ...func(*redshiftdata.Options)) (*redshiftdata.ExecuteStatementOutput, error)
	BatchExecuteStatement(ctx context.Context, in *redshiftdata.BatchExecuteStatementInput, optFns ...func(*redshiftdata.Options)) (*redshiftdata.BatchExecuteStatementOutput, error)
	DescribeStatement(ctx context.Context, in *redshiftdata.DescribeStatementInput, optFns ...func(*redshiftdata.Options)) (*redshiftdata.DescribeStatementOutput, error)
	GetStatementResult(ctx context.Context, in *redshiftdata.GetStatementResultInput, optFns ...func(*redshiftdata.Options)) (*redshiftdata.GetStatementResultOutput, error)
	CancelStatement(ctx context.Context, in *redshiftdata.CancelStatementInput, optFns ...func(*redshiftdata.Options)) (*redshiftdata.CancelStatementOutput, error)
}

// RedshiftOptions say where statements run: a provisioned cluster
// (ClusterIdentifier, with DbUser for temporary credentials or SecretArn)
// or a serverless workgroup (WorkgroupName, optionally SecretArn). Database
// and one of ClusterIdentifier or WorkgroupName are required, so a nil
// *RedshiftOptions is refused with ErrInvalid saying what is missing.
type RedshiftOptions struct {
	Database          string
	ClusterIdentifier string
	WorkgroupName     string
	DbUser            string
	SecretArn         string
	// StatementName labels statements in the console; optional.
	StatementName string
	// Poll tunes DescribeStatement polling (MinDelay, MaxDelay, MaxWait);
	// zero fields take the defaults (see Poll).
	Poll Poll
	// ClientOptions are applied to the redshiftdata.Options of the client
	// NewRedshift builds, after the aws.Config: a custom HTTP client, a
	// retryer or an endpoint. NewRedshiftFromClient ignores them.
	ClientOptions []func(*redshiftdata.Options)
}

func (o RedshiftOptions) validate() error {
	switch {
	case o.Database == "":
		return fmt.Errorf("query: Redshift needs a Database: %w", ErrInvalid)
	case o.ClusterIdentifier == "" && o.WorkgroupName == "":
		return fmt.Errorf("query: Redshift needs a ClusterIdentifier or a serverless WorkgroupName: %w", ErrInvalid)
	case o.ClusterIdentifier != "" && o.WorkgroupName != "":
		return fmt.Errorf("query: Redshift takes a ClusterIdentifier or a WorkgroupName, not both: %w", ErrInvalid)
	case o.ClusterIdentifier != "" && o.DbUser == "" && o.SecretArn == "":
		return fmt.Errorf("query: Redshift cluster %q needs a DbUser or a SecretArn: %w", o.ClusterIdentifier, ErrInvalid)
	case o.DbUser != "" && o.SecretArn != "":
		return fmt.Errorf("query: Redshift takes a DbUser or a SecretArn, not both: %w", ErrInvalid)
	case o.WorkgroupName != "" && o.DbUser != "":
		return fmt.Errorf("query: Redshift Serverless authenticates with a SecretArn or the caller's IAM identity, not DbUser: %w", ErrInvalid)
	}
	return nil
}

// Redshift is the Amazon Redshift engine over the Redshift Data API. It is
// safe for concurrent use. Positional ? parameters are rewritten as :p1,
// :p2, ... and sent as the statement's Parameters (the Data API binds
// them); NULL cannot be bound, write it in the SQL.
type Redshift struct {
	api  RedshiftDataAPI
	opts RedshiftOptions
}

var _ Engine = (*Redshift)(nil)

// NewRedshift returns a Redshift Data API engine over a client built from
// cfg (region, credentials, endpoint) and opts.ClientOptions. It fails with
// ErrInvalid naming what opts lack or hold in conflict.
func NewRedshift(cfg aws.Config, opts *RedshiftOptions) (*Redshift, error) {
	var fns []func(*redshiftdata.Options)
	if opts != nil {
		fns = opts.ClientOptions
	}
	return NewRedshiftFromClient(redshiftdata.NewFromConfig(cfg, fns...), opts)
}

// NewRedshiftFromClient returns a Redshift engine over client: a
// *redshiftdata.Client, or any RedshiftDataAPI (an instrumented client, a
// stub in a test). It fails with ErrInvalid when client is nil or opts are
// incomplete.
func NewRedshiftFromClient(client RedshiftDataAPI, opts *RedshiftOptions) (*Redshift, error) {
	if client == nil {
		return nil, fmt.Errorf("query: NewRedshiftFromClient: client is nil: %w", ErrInvalid)
	}
	var o RedshiftOptions
	if opts != nil {
		o = *opts
	}
	if err := o.validate(); err != nil {
		return nil, err
	}
	o.Poll = o.Poll.WithDefaults()
	return &Redshift{api: client, opts: o}, nil
}

// As exposes the *redshiftdata.Client (pass a **redshiftdata.Client) when
// the engine runs over one.
func (r *Redshift) As(i any) bool {
	p, ok := i.(**redshiftdata.Client)
	if !ok {
		return false
	}
	c, ok := r.api.(*redshiftdata.Client)
	if ok {
		*p = c
	}
	return ok
}

// Close implements Engine.
func (r *Redshift) Close() error { return nil }

// RedshiftError is a failed (or aborted) statement. It matches
// ErrQueryFailed, or ErrCancelled when the statement was aborted.
type RedshiftError struct {
	StatementID string
	Status      string
	// Message is Redshift's error text.
	Message string
}

func (e *RedshiftError) Error() string {
	return fmt.Sprintf("query: redshift statement %s %s: %s", e.StatementID, strings.ToLower(e.Status), e.Message)
}

// Unwrap makes errors.Is match ErrQueryFailed or ErrCancelled.
func (e *RedshiftError) Unwrap() error {
	if e.Status == string(types.StatusStringAborted) {
		return ErrCancelled
	}
	return ErrQueryFailed
}

// sqlParams rewrites the positional ? of sql as :p1, :p2, ... and renders
// the values as the Data API's SqlParameters. The API takes no empty
// Parameters list (at least 1 member) and no empty value (minimum length
// 1): a statement without placeholders sends none, and an empty string (or
// empty []byte, whose hex text is empty) is written in place of its
// placeholder as the empty string literal (two single quotes), which
// Redshift reads as the same value. The literal is constant, so no caller
// text reaches the SQL.
func (r *Redshift) sqlParams(sql string, params []any) (string, []types.SqlParameter, error) {
	if strings.TrimSpace(sql) == "" {
		return "", nil, fmt.Errorf("query: empty SQL: %w", ErrInvalid)
	}
	if err := checkParamCount(sql, params); err != nil {
		return "", nil, err
	}
	pos := sqltext.Placeholders(sql)
	if len(pos) == 0 {
		return sql, nil, nil
	}
	var ps []types.SqlParameter
	var b strings.Builder
	last := 0
	for i, p := range pos {
		v, err := paramText(i, params[i])
		if err != nil {
			return "", nil, err
		}
		b.WriteString(sql[last:p])
		last = p + 1
		if v == "" {
			b.WriteString("''")
			continue
		}
		name := "p" + strconv.Itoa(i+1)
		b.WriteString(":" + name)
		ps = append(ps, types.SqlParameter{Name: aws.String(name), Value: aws.String(v)})
	}
	b.WriteString(sql[last:])
	return b.String(), ps, nil
}

func (r *Redshift) target() (cluster, workgroup, db, user, secret *string) {
	o := r.opts
	str := func(s string) *string {
		if s == "" {
			return nil
		}
		return aws.String(s)
	}
	return str(o.ClusterIdentifier), str(o.WorkgroupName), str(o.Database), str(o.DbUser), str(o.SecretArn)
}

// start sends one statement and returns its id.
func (r *Redshift) start(ctx context.Context, sql string, params []any) (string, error) {
	text, ps, err := r.sqlParams(sql, params)
	if err != nil {
		return "", err
	}
	in := &redshiftdata.ExecuteStatementInput{Sql: aws.String(text), Parameters: ps, ClientToken: aws.String(NewToken())}
	in.ClusterIdentifier, in.WorkgroupName, in.Database, in.DbUser, in.SecretArn = r.target()
	if r.opts.StatementName != "" {
		in.StatementName = aws.String(r.opts.StatementName)
	}
	out, err := r.api.ExecuteStatement(ctx, in)
	if err != nil {
		if ctx.Err() != nil {
			return "", fmt.Errorf("query: redshift: execute statement: %w: %w", ErrCancelled, err)
		}
		return "", fmt.Errorf("query: redshift: execute statement: %w", err)
	}
	return aws.ToString(out.Id), nil
}

// wait polls DescribeStatement until the statement finishes; on ctx's end
// or MaxWait it cancels the statement.
func (r *Redshift) wait(ctx context.Context, id string) (*redshiftdata.DescribeStatementOutput, error) {
	var d *redshiftdata.DescribeStatementOutput
	err := poll(ctx, r.opts.Poll, "redshift statement "+id, func(ctx context.Context) (bool, error) {
		got, err := r.api.DescribeStatement(ctx, &redshiftdata.DescribeStatementInput{Id: aws.String(id)})
		if err != nil {
			return false, fmt.Errorf("query: redshift: describe statement %s: %w", id, err)
		}
		d = got
		switch got.Status {
		case types.StatusStringFinished, types.StatusStringFailed, types.StatusStringAborted:
			return true, nil
		}
		return false, nil
	})
	if err != nil {
		if ctx.Err() != nil || errors.Is(err, ErrTimeout) {
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			_, cerr := r.api.CancelStatement(sctx, &redshiftdata.CancelStatementInput{Id: aws.String(id)})
			cancel()
			if errors.Is(err, ErrTimeout) {
				if cerr != nil {
					return nil, fmt.Errorf("query: redshift: %w (and cancelling it failed: %v)", err, cerr)
				}
				return nil, fmt.Errorf("query: redshift: %w; cancelled it", err)
			}
			return nil, fmt.Errorf("query: redshift statement %s cancelled (cancel error: %v): %w: %w", id, cerr, ErrCancelled, ctx.Err())
		}
		return nil, err
	}
	if d.Status != types.StatusStringFinished {
		msg := aws.ToString(d.Error)
		for _, s := range d.SubStatements {
			if s.Error != nil && *s.Error != "" {
				msg += fmt.Sprintf(" [sub-statement %s: %s]", aws.ToString(s.Id), *s.Error)
			}
		}
		return d, &RedshiftError{StatementID: id, Status: string(d.Status), Message: msg}
	}
	return d, nil
}

func redshiftStats(d *redshiftdata.DescribeStatementOutput) Stats {
	st := Stats{QueryID: aws.ToString(d.Id), BytesScanned: -1, RowsAffected: d.ResultRows, ExecutionTime: time.Duration(d.Duration)}
	if d.ResultRows < 0 {
		st.RowsAffected = -1
	}
	return st
}

// Exec implements Engine.
func (r *Redshift) Exec(ctx context.Context, sql string, params ...any) (*Stats, error) {
	id, err := r.start(ctx, sql, params)
	if err != nil {
		return nil, err
	}
	d, err := r.wait(ctx, id)
	if err != nil {
		return nil, err
	}
	st := redshiftStats(d)
	return &st, nil
}

// MaxBatchStatements is the most statements one BatchExecuteStatement
// takes (the Data API's limit).
const MaxBatchStatements = 40

// ExecBatch runs statements as one BatchExecuteStatement: in order, in one
// transaction, stopping at the first failure (whose error names the
// sub-statement). Batches take no parameters, and at most
// MaxBatchStatements statements: a longer batch is refused with ErrInvalid
// rather than split, since a split would not be one transaction.
func (r *Redshift) ExecBatch(ctx context.Context, sqls ...string) (*Stats, error) {
	if len(sqls) == 0 {
		return nil, fmt.Errorf("query: empty batch: %w", ErrInvalid)
	}
	if len(sqls) > MaxBatchStatements {
		return nil, fmt.Errorf("query: a batch of %d statements; BatchExecuteStatement takes at most %d (split the work, or load many files with one COPY from a manifest): %w", len(sqls), MaxBatchStatements, ErrInvalid)
	}
	for i, s := range sqls {
		if strings.TrimSpace(s) == "" {
			return nil, fmt.Errorf("query: batch statement %d is empty: %w", i+1, ErrInvalid)
		}
		if sqltext.CountPlaceholders(s) > 0 {
			return nil, fmt.Errorf("query: batch statement %d has ? placeholders; batches take no parameters: %w", i+1, ErrInvalidParam)
		}
	}
	in := &redshiftdata.BatchExecuteStatementInput{Sqls: sqls, ClientToken: aws.String(NewToken())}
	in.ClusterIdentifier, in.WorkgroupName, in.Database, in.DbUser, in.SecretArn = r.target()
	if r.opts.StatementName != "" {
		in.StatementName = aws.String(r.opts.StatementName)
	}
	out, err := r.api.BatchExecuteStatement(ctx, in)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("query: redshift: batch execute statement: %w: %w", ErrCancelled, err)
		}
		return nil, fmt.Errorf("query: redshift: batch execute statement: %w", err)
	}
	d, err := r.wait(ctx, aws.ToString(out.Id))
	if err != nil {
		return nil, err
	}
	st := redshiftStats(d)
	return &st, nil
}

// Query implements Engine: it runs the statement, then pages through
// GetStatementResult as the rows are consumed.
func (r *Redshift) Query(ctx context.Context, sql string, params ...any) (*Result, error) {
	id, err := r.start(ctx, sql, params)
	if err != nil {
		return nil, err
	}
	d, err := r.wait(ctx, id)
	if err != nil {
		return nil, err
	}
	st := redshiftStats(d)
	if d.HasResultSet != nil && !*d.HasResultSet {
		return NewResult(nil, st, func(func([]any, error) bool) {}, nil, nil), nil
	}
	first, err := r.api.GetStatementResult(ctx, &redshiftdata.GetStatementResultInput{Id: aws.String(id)})
	if err != nil {
		return nil, fmt.Errorf("query: redshift: get statement result %s: %w", id, err)
	}
	cols := make([]Column, len(first.ColumnMetadata))
	for i, m := range first.ColumnMetadata {
		cols[i] = redshiftColumn(m)
	}
	seq := func(yield func([]any, error) bool) {
		page := first
		for {
			for _, rec := range page.Records {
				vals, err := decodeRedshiftRecord(rec, cols)
				if !yield(vals, err) || err != nil {
					return
				}
			}
			if page.NextToken == nil || *page.NextToken == "" {
				return
			}
			next, err := r.api.GetStatementResult(ctx, &redshiftdata.GetStatementResultInput{Id: aws.String(id), NextToken: page.NextToken})
			if err != nil {
				yield(nil, fmt.Errorf("query: redshift: get statement result %s: %w", id, err))
				return
			}
			page = next
		}
	}
	return NewResult(cols, st, iter.Seq2[[]any, error](seq), nil, nil), nil
}

func redshiftColumn(m types.ColumnMetadata) Column {
	typ := strings.ToLower(aws.ToString(m.TypeName))
	c := Column{Name: aws.ToString(m.Name), DatabaseType: typ, Nullable: m.Nullable != 0}
	if c.Name == "" {
		c.Name = aws.ToString(m.Label)
	}
	switch typ {
	case "int2", "smallint":
		c.GoType = typeInt16
	case "int4", "integer", "int":
		c.GoType = typeInt32
	case "int8", "bigint":
		c.GoType = typeInt64
	case "float4", "real":
		c.GoType = typeFloat32
	case "float8", "float", "double precision":
		c.GoType = typeFloat64
	case "numeric", "decimal":
		c.GoType = typeDecimal
		if m.Precision > 0 {
			c.DatabaseType = fmt.Sprintf("numeric(%d,%d)", m.Precision, m.Scale)
		}
	case "bool", "boolean":
		c.GoType = typeBool
	case "date", "timestamp", "timestamptz":
		c.GoType = typeTime
	case "super":
		c.GoType = typeRaw
	case "varbyte", "varbinary", "binary varying", "bytea":
		c.GoType = typeBytes
	default: // varchar, bpchar, char, text, name, time, timetz, geometry, ...
		c.GoType = typeString
	}
	return c
}

func decodeRedshiftRecord(rec []types.Field, cols []Column) ([]any, error) {
	if len(rec) != len(cols) {
		return nil, fmt.Errorf("query: redshift record has %d fields for %d columns: %w", len(rec), len(cols), ErrQueryFailed)
	}
	out := make([]any, len(rec))
	for i, f := range rec {
		v, err := decodeRedshiftField(f, cols[i])
		if err != nil {
			return nil, fmt.Errorf("query: redshift column %q (%s): %v: %w", cols[i].Name, cols[i].DatabaseType, err, ErrUnsupported)
		}
		out[i] = v
	}
	return out, nil
}

// decodeRedshiftField turns a Data API Field into the column's Go type.
func decodeRedshiftField(f types.Field, c Column) (any, error) {
	switch x := f.(type) {
	case *types.FieldMemberIsNull:
		return nil, nil
	case *types.FieldMemberLongValue:
		switch c.GoType {
		case typeInt16:
			return int16(x.Value), nil
		case typeInt32:
			return int32(x.Value), nil
		case typeInt64:
			return x.Value, nil
		case typeFloat64:
			return float64(x.Value), nil
		case typeFloat32:
			return float32(x.Value), nil
		case typeDecimal:
			return Decimal{Unscaled: bigInt(x.Value)}, nil
		case typeString:
			return strconv.FormatInt(x.Value, 10), nil
		}
		return nil, fmt.Errorf("a long value for a %v column", c.GoType)
	case *types.FieldMemberDoubleValue:
		switch c.GoType {
		case typeFloat64:
			return x.Value, nil
		case typeFloat32:
			return float32(x.Value), nil
		case typeDecimal:
			return ParseDecimal(strconv.FormatFloat(x.Value, 'f', -1, 64))
		}
		return nil, fmt.Errorf("a double value for a %v column", c.GoType)
	case *types.FieldMemberBooleanValue:
		if c.GoType == typeBool {
			return x.Value, nil
		}
		return nil, fmt.Errorf("a boolean value for a %v column", c.GoType)
	case *types.FieldMemberBlobValue:
		if c.GoType == typeBytes || c.GoType == typeString {
			return append([]byte(nil), x.Value...), nil
		}
		return nil, fmt.Errorf("a blob value for a %v column", c.GoType)
	case *types.FieldMemberStringValue:
		return decodeRedshiftString(x.Value, c)
	case nil:
		return nil, nil
	}
	return nil, fmt.Errorf("unknown field type %T", f)
}

func decodeRedshiftString(s string, c Column) (any, error) {
	switch c.GoType {
	case typeString:
		return s, nil
	case typeDecimal:
		return ParseDecimal(s)
	case typeInt64:
		return strconv.ParseInt(s, 10, 64)
	case typeInt32:
		v, err := strconv.ParseInt(s, 10, 32)
		return int32(v), err
	case typeInt16:
		v, err := strconv.ParseInt(s, 10, 16)
		return int16(v), err
	case typeFloat64:
		return parseFloat(s, 64)
	case typeFloat32:
		f, err := parseFloat(s, 32)
		return float32(f), err
	case typeBool:
		switch s {
		case "t", "true":
			return true, nil
		case "f", "false":
			return false, nil
		}
		return nil, fmt.Errorf("%q is not a boolean", s)
	case typeTime:
		switch c.DatabaseType {
		case "date":
			return time.Parse("2006-01-02", s)
		case "timestamptz":
			for _, layout := range []string{"2006-01-02 15:04:05.999999-07", "2006-01-02 15:04:05.999999-07:00", "2006-01-02 15:04:05.999999Z07:00"} {
				if t, err := time.Parse(layout, s); err == nil {
					return t, nil
				}
			}
			return nil, fmt.Errorf("%q is not a timestamptz", s)
		}
		return time.Parse("2006-01-02 15:04:05.999999", s)
	case typeRaw:
		if !json.Valid([]byte(s)) {
			return nil, fmt.Errorf("SUPER value is not JSON")
		}
		return json.RawMessage(s), nil
	case typeBytes:
		// Redshift prints VARBYTE as hex
		if b, err := hex.DecodeString(s); err == nil {
			return b, nil
		}
		return []byte(s), nil
	}
	return nil, fmt.Errorf("a string value for a %v column", reflect.Type(c.GoType))
}
