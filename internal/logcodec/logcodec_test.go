package logcodec

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestCodec(t *testing.T) {
	type obj struct {
		Version int64    `json:"version"`
		Files   []string `json:"files"`
	}
	small := obj{Version: 1, Files: []string{"a.parquet"}}
	b, err := Encode(small)
	if err != nil || !bytes.HasPrefix(b, []byte("{")) {
		t.Fatalf("a small log object is not plain JSON: %q %v", b, err)
	}
	big := obj{Version: 2}
	for i := range 2000 {
		big.Files = append(big.Files, strings.Repeat("x", i%50)+".parquet")
	}
	b, err = Encode(big)
	if err != nil || !bytes.HasPrefix(b, ZstdMagic) {
		t.Fatalf("a large log object is not compressed: %v", err)
	}
	var back obj
	if err := Decode(b, &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(big, back); diff != "" {
		t.Fatalf("round trip (-want +got):\n%s", diff)
	}
	bad := append(append([]byte(nil), ZstdMagic...), []byte("not a frame")...)
	if err := Decode(bad, &back); err == nil || !strings.Contains(err.Error(), "corrupt zstd") {
		t.Fatalf("corrupt compressed object: %v", err)
	}
}

func TestKeys(t *testing.T) {
	k := CommitKey("db/t", 7)
	if k != "db/t/_lakekit/log/00000000000000000007.json" {
		t.Fatalf("CommitKey = %q", k)
	}
	if v, ok := ParseCommitKey("db/t", k); !ok || v != 7 {
		t.Fatalf("ParseCommitKey(%q) = %d %v", k, v, ok)
	}
	for _, bad := range []string{"db/t/_lakekit/log/7.json", "db/t/_lakekit/log/00000000000000000007.tmp",
		"db/u/_lakekit/log/00000000000000000007.json", "db/t/_lakekit/log/0000000000000000000x.json",
		"db/t/_lakekit/log/00000000000000000000.json"} {
		if _, ok := ParseCommitKey("db/t", bad); ok {
			t.Errorf("ParseCommitKey accepted %q", bad)
		}
	}
	at := time.Unix(1700000000, 123)
	id := AuditID(at, "vacuum", "ab12")
	a := AuditKey("db/t", id)
	if a != "db/t/_lakekit/audit/01700000000000000123-vacuum-ab12.json" {
		t.Fatalf("AuditKey = %q", a)
	}
	if got, ok := ParseAuditKey("db/t", a); !ok || got != id {
		t.Fatalf("ParseAuditKey(%q) = %q %v", a, got, ok)
	}
	for _, bad := range []string{"db/t/_lakekit/audit/notanumber-x.json", "db/t/_lakekit/audit/01700000000000000123-../x.json",
		"db/t/_lakekit/audit/01700000000000000123-Vacuum.json", "db/u/_lakekit/audit/01700000000000000123-vacuum-1.json"} {
		if _, ok := ParseAuditKey("db/t", bad); ok {
			t.Errorf("ParseAuditKey accepted %q", bad)
		}
	}
	if later := AuditID(at.Add(time.Nanosecond), "a", "0"); later <= id {
		t.Errorf("audit ids do not sort by time: %q <= %q", later, id)
	}
}
