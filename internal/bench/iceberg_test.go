package main

import (
	"bytes"
	"encoding/json"
	"testing"
)

// TestIcebergBenchScenario runs iceberg_vs_hive as `go run ./internal/bench
// -short -only iceberg_vs_hive` does and checks that both formats wrote and
// read every row at a rate, and that the bytes of both sides are there.
func TestIcebergBenchScenario(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"-short", "-json", "-only", "iceberg_vs_hive", "-out", t.TempDir()}, &stdout, &stderr); code != 0 {
		t.Fatalf("bench exited %d:\n%s", code, stderr.String())
	}
	var r Result
	if err := json.Unmarshal(bytes.TrimSpace(stdout.Bytes()), &r); err != nil {
		t.Fatalf("output %q: %v", stdout.String(), err)
	}
	if r.Name != "iceberg_vs_hive" || r.Lakekit <= 0 || r.PeerValue <= 0 || r.Ratio <= 0 || r.Rows == 0 {
		t.Errorf("result %+v: want write rates of both formats over the rows", r)
	}
	if r.LakekitBytes <= 0 || r.PeerBytes <= 0 || r.BytesRatio <= 0 {
		t.Errorf("bytes: iceberg %d, hive %d, ratio %v; want both measured", r.LakekitBytes, r.PeerBytes, r.BytesRatio)
	}
	for _, k := range []string{"iceberg_read_rows_s", "hive_read_rows_s", "read_ratio"} {
		if v, ok := r.Extra[k].(float64); !ok || v <= 0 {
			t.Errorf("extra %s = %v, want a positive number", k, r.Extra[k])
		}
	}
}
