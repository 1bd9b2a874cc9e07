package enginetest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/lakekit/lakekit/internal/testaws"
)

// Request is one API call a peer received.
type Request struct {
	// Target is the operation ("StartQueryExecution", "ExecuteStatement").
	Target string
	Body   map[string]any
	Raw    []byte
}

// withTarget returns the requests for target ("" for all).
func withTarget(rs []Request, target string) []Request {
	var out []Request
	for _, r := range rs {
		if target == "" || r.Target == target {
			out = append(out, r)
		}
	}
	return out
}

// AthenaPeer is moto_server's Athena behind a recording proxy that adds
// what moto lacks: running the statement (with Statements set: the
// execution's outcome and rows come from running it in DuckDB, so a wrong
// statement or parameter fails or answers wrong, as on Athena; without
// it, moto answers with the results queued by Seed), GetQueryResults
// paging (moto returns every row at once), FAILED executions with a
// reason, DataScannedInBytes, and a hook run on StartQueryExecution (to
// play Athena's part of an UNLOAD, say). Everything else is moto's own
// answer.
type AthenaPeer struct {
	Endpoint string // the proxy
	moto     *testaws.Moto

	mu       sync.Mutex
	requests []Request
	// Fail maps a substring of a query to the StateChangeReason its
	// execution fails with.
	Fail map[string]string
	// Scanned is reported as DataScannedInBytes of every execution.
	Scanned int64
	// OnStart runs before StartQueryExecution reaches moto.
	OnStart func(query string)
	// Statements, when set, runs every started statement with its
	// ExecutionParameters: a statement that fails there is a FAILED
	// execution with DuckDB's message as its reason, one that runs is
	// SUCCEEDED with its rows as the results.
	Statements *OrdersDB

	runs map[string]athenaRun // by QueryExecutionId, with Statements
}

// athenaRun is the outcome of running one started statement.
type athenaRun struct {
	answer *Answer
	err    error
}

// StartAthena starts moto_server and the proxy; it skips (fails in CI)
// when moto_server is missing.
func StartAthena(t testing.TB) *AthenaPeer {
	t.Helper()
	p := &AthenaPeer{moto: testaws.StartMoto(t), Fail: map[string]string{}}
	srv := httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(srv.Close)
	p.Endpoint = srv.URL
	return p
}

// Config returns an aws.Config that talks to the proxy.
func (p *AthenaPeer) Config(t testing.TB) aws.Config { return testaws.Config(t, p.Endpoint) }

// MotoConfig returns an aws.Config that talks to moto_server itself, not
// through the proxy: for the S3 buckets and Glue tables around a query.
func (p *AthenaPeer) MotoConfig(t testing.TB) aws.Config { return testaws.Config(t, p.moto.Endpoint) }

// Requests returns the calls received so far with the given target ("" for all).
func (p *AthenaPeer) Requests(target string) []Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	return withTarget(p.requests, target)
}

// Column is a column of a seeded result.
type Column struct {
	Name string
	// Type is Athena's type name: bigint, integer, varchar, double,
	// boolean, date, timestamp, decimal, array, map, row, varbinary, json.
	Type      string
	Precision int
	Scale     int
}

// Seed queues one result in moto (POST /moto-api/static/athena/query-results):
// the next started query gets it. Rows are Athena's text values, nil for
// NULL; the header row Athena sends first is added.
func (p *AthenaPeer) Seed(t testing.TB, cols []Column, rows [][]*string) {
	t.Helper()
	var info []map[string]any
	header := []map[string]any{}
	for _, c := range cols {
		info = append(info, map[string]any{
			"CatalogName": "hive", "SchemaName": "", "TableName": "", "Name": c.Name, "Label": c.Name,
			"Type": c.Type, "Precision": c.Precision, "Scale": c.Scale, "Nullable": "UNKNOWN", "CaseSensitive": c.Type == "varchar",
		})
		header = append(header, map[string]any{"VarCharValue": c.Name})
	}
	data := []map[string]any{{"Data": header}}
	for _, r := range rows {
		var d []map[string]any
		for _, v := range r {
			if v == nil {
				d = append(d, map[string]any{})
			} else {
				d = append(d, map[string]any{"VarCharValue": *v})
			}
		}
		data = append(data, map[string]any{"Data": d})
	}
	body, _ := json.Marshal(map[string]any{"results": []any{map[string]any{"rows": data, "column_info": info}}})
	p.moto.Post(t, "/moto-api/static/athena/query-results", string(body))
}

// HoldRunning keeps new executions QUEUED/RUNNING until Release (moto's
// manual state transitions), for cancellation tests.
func (p *AthenaPeer) HoldRunning(t testing.TB) {
	p.moto.Post(t, "/moto-api/state-manager/set-transition", `{"model_name": "athena::execution", "transition": {"progression": "manual", "times": 1000000}}`)
}

// Release undoes HoldRunning.
func (p *AthenaPeer) Release(t testing.TB) {
	p.moto.Post(t, "/moto-api/state-manager/unset-transition", `{"model_name": "athena::execution"}`)
}

func (p *AthenaPeer) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	target := r.Header.Get("X-Amz-Target")
	if i := strings.LastIndexByte(target, '.'); i >= 0 {
		target = target[i+1:]
	}
	var body map[string]any
	json.Unmarshal(raw, &body)
	p.mu.Lock()
	p.requests = append(p.requests, Request{Target: target, Body: body, Raw: raw})
	onStart := p.OnStart
	p.mu.Unlock()
	if target == "StartQueryExecution" && onStart != nil {
		q, _ := body["QueryString"].(string)
		onStart(q)
	}
	req, err := http.NewRequestWithContext(r.Context(), r.Method, p.moto.Endpoint+r.URL.RequestURI(), bytes.NewReader(raw))
	if err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	req.Header = r.Header.Clone()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		http.Error(w, err.Error(), 502)
		return
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == 200 {
		switch target {
		case "StartQueryExecution":
			p.runStatement(out, body)
		case "GetQueryResults":
			out = p.page(p.results(out, body), body)
		case "GetQueryExecution":
			out = p.patchExecution(out)
		}
	}
	for k, vs := range resp.Header {
		if k == "Content-Length" {
			continue
		}
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.WriteHeader(resp.StatusCode)
	w.Write(out)
}

// page slices moto's complete result to MaxResults rows from NextToken.
func (p *AthenaPeer) page(out []byte, req map[string]any) []byte {
	var res map[string]any
	if json.Unmarshal(out, &res) != nil {
		return out
	}
	rs, _ := res["ResultSet"].(map[string]any)
	rows, _ := rs["Rows"].([]any)
	max := 1000
	if m, ok := req["MaxResults"].(float64); ok && m > 0 {
		max = int(m)
	}
	off := 0
	if tok, ok := req["NextToken"].(string); ok {
		off, _ = strconv.Atoi(tok)
	}
	end := min(off+max, len(rows))
	if off > len(rows) {
		off = len(rows)
	}
	rs["Rows"] = rows[off:end]
	if end < len(rows) {
		res["NextToken"] = strconv.Itoa(end)
	}
	b, _ := json.Marshal(res)
	return b
}

func (p *AthenaPeer) patchExecution(out []byte) []byte {
	var res map[string]any
	if json.Unmarshal(out, &res) != nil {
		return out
	}
	qe, _ := res["QueryExecution"].(map[string]any)
	if qe == nil {
		return out
	}
	q, _ := qe["Query"].(string)
	st, _ := qe["Status"].(map[string]any)
	p.mu.Lock()
	defer p.mu.Unlock()
	id, _ := qe["QueryExecutionId"].(string)
	if run, ok := p.runs[id]; ok && run.err != nil && st != nil && st["State"] == "SUCCEEDED" {
		st["State"] = "FAILED"
		st["StateChangeReason"] = run.err.Error()
		st["AthenaError"] = map[string]any{"ErrorCategory": 2, "ErrorType": 1301, "Retryable": false, "ErrorMessage": run.err.Error()}
	}
	for sub, reason := range p.Fail {
		if strings.Contains(q, sub) && st != nil && st["State"] == "SUCCEEDED" {
			st["State"] = "FAILED"
			st["StateChangeReason"] = reason
			st["AthenaError"] = map[string]any{"ErrorCategory": 2, "ErrorType": 1301, "Retryable": false, "ErrorMessage": reason}
		}
	}
	if stats, ok := qe["Statistics"].(map[string]any); ok && p.Scanned > 0 {
		stats["DataScannedInBytes"] = p.Scanned
		stats["EngineExecutionTimeInMillis"] = 1234
	}
	b, _ := json.Marshal(res)
	return b
}

// runStatement runs a started statement in Statements and keeps the
// outcome under the execution's id (moto's answer, out).
func (p *AthenaPeer) runStatement(out []byte, req map[string]any) {
	p.mu.Lock()
	db := p.Statements
	p.mu.Unlock()
	if db == nil {
		return
	}
	var started struct{ QueryExecutionId string }
	if json.Unmarshal(out, &started) != nil || started.QueryExecutionId == "" {
		return
	}
	q, _ := req["QueryString"].(string)
	var literals []string
	if ps, ok := req["ExecutionParameters"].([]any); ok {
		for _, v := range ps {
			s, _ := v.(string)
			literals = append(literals, s)
		}
	}
	ans, err := db.RunAthena(q, literals)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.runs == nil {
		p.runs = map[string]athenaRun{}
	}
	p.runs[started.QueryExecutionId] = athenaRun{ans, err}
}

// athenaTypes maps DuckDB's type names to Athena's.
var athenaTypes = map[string]string{
	"BIGINT": "bigint", "INTEGER": "integer", "SMALLINT": "smallint", "TINYINT": "tinyint",
	"VARCHAR": "varchar", "DOUBLE": "double", "FLOAT": "real", "BOOLEAN": "boolean",
	"TIMESTAMP": "timestamp", "DATE": "date", "DECIMAL": "decimal",
}

// results replaces moto's answer to GetQueryResults with the rows of the
// statement run for that execution, in Athena's wire format: a header row
// of column names, then each value as text (no VarCharValue for NULL).
func (p *AthenaPeer) results(out []byte, req map[string]any) []byte {
	id, _ := req["QueryExecutionId"].(string)
	p.mu.Lock()
	run, ok := p.runs[id]
	p.mu.Unlock()
	if !ok || run.answer == nil {
		return out
	}
	var info []map[string]any
	var header []map[string]any
	for _, c := range run.answer.Columns {
		typ, ok := athenaTypes[c.Type]
		if !ok {
			typ = "unknown " + c.Type // the engine must refuse it
		}
		prec := c.Precision
		if typ == "timestamp" {
			prec = 3
		}
		info = append(info, map[string]any{
			"CatalogName": "hive", "SchemaName": "", "TableName": "", "Name": c.Name, "Label": c.Name,
			"Type": typ, "Precision": prec, "Scale": c.Scale, "Nullable": "UNKNOWN", "CaseSensitive": typ == "varchar",
		})
		header = append(header, map[string]any{"VarCharValue": c.Name})
	}
	rows := []any{map[string]any{"Data": header}}
	for _, r := range run.answer.Rows {
		var d []map[string]any
		for i, v := range r {
			if v == nil {
				d = append(d, map[string]any{})
			} else {
				d = append(d, map[string]any{"VarCharValue": run.answer.Columns[i].text(v)})
			}
		}
		rows = append(rows, map[string]any{"Data": d})
	}
	b, _ := json.Marshal(map[string]any{"UpdateCount": 0, "ResultSet": map[string]any{
		"Rows": rows, "ResultSetMetadata": map[string]any{"ColumnInfo": info}}})
	return b
}
