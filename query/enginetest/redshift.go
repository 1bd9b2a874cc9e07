package enginetest

import (
	"encoding/json"
	"fmt"
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

// RedshiftColumn is a column of a RedshiftFake result: typeName as the
// Data API reports it (int2, int4, int8, float4, float8, numeric, bool,
// varchar, bpchar, date, timestamp, timestamptz, super, varbyte).
type RedshiftColumn struct {
	Name     string
	TypeName string
	Nullable bool
}

// RedshiftResult is what a statement answers. Fields use the Data API's
// union members: {"longValue": 1}, {"stringValue": "x"}, {"isNull": true}...
type RedshiftResult struct {
	Columns []RedshiftColumn
	Records [][]map[string]any
}

// RedshiftFake is an httptest server speaking the Redshift Data API's JSON
// protocol (moto's answers do not decode in the Go SDK). It records every
// request; statements finish after one DescribeStatement in STARTED state.
type RedshiftFake struct {
	Endpoint string
	// PageSize is how many records one GetStatementResult page holds.
	PageSize int
	// Answer gives a statement's result; nil result means no result set.
	// An error fails the statement with its text as Redshift's message.
	Answer func(sql string, params map[string]string) (*RedshiftResult, error)
	// Hold keeps statements whose SQL contains it running until cancelled.
	Hold string

	mu         sync.Mutex
	requests   []Request
	statements map[string]*fakeStatement
	next       int
}

type fakeStatement struct {
	id        string
	sql       string
	sqls      []string
	describes int
	status    string
	err       string
	result    *RedshiftResult
}

// StartRedshift starts the fake.
func StartRedshift(t testing.TB) *RedshiftFake {
	f := &RedshiftFake{PageSize: 2, statements: map[string]*fakeStatement{}}
	srv := httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(srv.Close)
	f.Endpoint = srv.URL
	return f
}

// Config returns an aws.Config that talks to the fake.
func (f *RedshiftFake) Config(t testing.TB) aws.Config { return testaws.Config(t, f.Endpoint) }

// Requests returns the calls received so far with the given target ("" for all).
func (f *RedshiftFake) Requests(target string) []Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return withTarget(f.requests, target)
}

func (f *RedshiftFake) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	target := r.Header.Get("X-Amz-Target")
	target = strings.TrimPrefix(target, "RedshiftData.")
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil {
		apiError(w, 400, "ValidationException", "bad JSON")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, Request{Target: target, Body: body, Raw: raw})
	switch target {
	case "ExecuteStatement", "BatchExecuteStatement":
		f.execute(w, target, body)
	case "DescribeStatement":
		f.describe(w, body)
	case "CancelStatement":
		st := f.statements[fmt.Sprint(body["Id"])]
		if st == nil {
			apiError(w, 400, "ResourceNotFoundException", "Query does not exist.")
			return
		}
		st.status = "ABORTED"
		writeJSON(w, map[string]any{"Status": true})
	case "GetStatementResult":
		f.result(w, body)
	default:
		apiError(w, 400, "UnknownOperationException", "unknown operation "+target)
	}
}

// execute starts a statement (or a batch): Answer runs now, the outcome
// shows in DescribeStatement. Called with f.mu held.
func (f *RedshiftFake) execute(w http.ResponseWriter, target string, body map[string]any) {
	if body["Database"] == nil || body["ClusterIdentifier"] == nil && body["WorkgroupName"] == nil {
		apiError(w, 400, "ValidationException", "Database and ClusterIdentifier or WorkgroupName are required")
		return
	}
	f.next++
	st := &fakeStatement{id: fmt.Sprintf("00000000-0000-0000-0000-%012d", f.next), status: "SUBMITTED"}
	if target == "ExecuteStatement" {
		st.sql, _ = body["Sql"].(string)
		st.sqls = []string{st.sql}
	} else {
		for _, s := range body["Sqls"].([]any) {
			st.sqls = append(st.sqls, s.(string))
		}
		st.sql = strings.Join(st.sqls, "; ")
	}
	params := map[string]string{}
	if ps, ok := body["Parameters"].([]any); ok {
		for _, p := range ps {
			m := p.(map[string]any)
			params[m["name"].(string)] = m["value"].(string)
		}
	}
	if f.Answer != nil {
		for _, s := range st.sqls {
			res, err := f.Answer(s, params)
			if err != nil {
				st.err = err.Error()
				break
			}
			st.result = res
		}
	}
	f.statements[st.id] = st
	writeJSON(w, map[string]any{"Id": st.id, "CreatedAt": 1.7e9, "Database": body["Database"]})
}

// describe reports a statement's status: STARTED at the first call (or
// while Hold matches), then FAILED or FINISHED. Called with f.mu held.
func (f *RedshiftFake) describe(w http.ResponseWriter, body map[string]any) {
	st := f.statements[fmt.Sprint(body["Id"])]
	if st == nil {
		apiError(w, 400, "ResourceNotFoundException", "Query does not exist.")
		return
	}
	st.describes++
	if st.status != "ABORTED" {
		switch {
		case f.Hold != "" && strings.Contains(st.sql, f.Hold):
			st.status = "STARTED"
		case st.describes < 2:
			st.status = "STARTED"
		case st.err != "":
			st.status = "FAILED"
		default:
			st.status = "FINISHED"
		}
	}
	out := map[string]any{"Id": st.id, "Status": st.status, "QueryString": st.sql, "Duration": 1500000, "CreatedAt": 1.7e9, "UpdatedAt": 1.7e9}
	if st.status == "FAILED" {
		out["Error"] = st.err
	}
	if st.status == "FINISHED" {
		out["HasResultSet"] = st.result != nil
		if st.result != nil {
			out["ResultRows"] = len(st.result.Records)
		} else {
			out["ResultRows"] = 0
		}
	}
	if len(st.sqls) > 1 {
		var subs []map[string]any
		for i, s := range st.sqls {
			sub := map[string]any{"Id": st.id + ":" + strconv.Itoa(i+1), "QueryString": s, "Status": strings.Replace(st.status, "STARTED", "STARTED", 1)}
			if st.status == "FAILED" && i == len(st.sqls)-1 {
				sub["Error"] = st.err
			}
			subs = append(subs, sub)
		}
		out["SubStatements"] = subs
	}
	writeJSON(w, out)
}

// result sends a finished statement's records, PageSize per page.
// Called with f.mu held.
func (f *RedshiftFake) result(w http.ResponseWriter, body map[string]any) {
	st := f.statements[fmt.Sprint(body["Id"])]
	if st == nil || st.status != "FINISHED" || st.result == nil {
		apiError(w, 400, "ResourceNotFoundException", "Query does not have result. Please check query status with DescribeStatement.")
		return
	}
	off := 0
	if tok, ok := body["NextToken"].(string); ok {
		off, _ = strconv.Atoi(tok)
	}
	end := min(off+f.PageSize, len(st.result.Records))
	var meta []map[string]any
	for _, c := range st.result.Columns {
		n := 0
		if c.Nullable {
			n = 1
		}
		meta = append(meta, map[string]any{"name": c.Name, "label": c.Name, "typeName": c.TypeName, "nullable": n, "isCaseSensitive": true, "isSigned": true, "length": 0, "precision": 0, "scale": 0, "schemaName": "", "tableName": ""})
	}
	out := map[string]any{"ColumnMetadata": meta, "Records": st.result.Records[off:end], "TotalNumRows": len(st.result.Records)}
	if end < len(st.result.Records) {
		out["NextToken"] = strconv.Itoa(end)
	}
	writeJSON(w, out)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	json.NewEncoder(w).Encode(v)
}

func apiError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-Errortype", code)
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"__type": code, "message": msg})
}
