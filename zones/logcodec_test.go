package zones

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLogCodec(t *testing.T) {
	type obj struct {
		Version int64    `json:"version"`
		Files   []string `json:"files"`
	}
	small := obj{Version: 1, Files: []string{"a.parquet"}}
	b, err := encodeLog(small)
	if err != nil || !bytes.HasPrefix(b, []byte("{")) {
		t.Fatalf("a small log object is not plain JSON: %q %v", b, err)
	}
	big := obj{Version: 2}
	for i := range 2000 {
		big.Files = append(big.Files, strings.Repeat("x", i%50)+".parquet")
	}
	b, err = encodeLog(big)
	if err != nil || !bytes.HasPrefix(b, zstdMagic) {
		t.Fatalf("a large log object is not compressed: %v", err)
	}
	var back obj
	if err := decodeLog(b, &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(big, back); diff != "" {
		t.Fatalf("round trip (-want +got):\n%s", diff)
	}
	bad := append(append([]byte(nil), zstdMagic...), []byte("not a frame")...)
	if err := decodeLog(bad, &back); err == nil || !strings.Contains(err.Error(), "corrupt zstd") {
		t.Fatalf("corrupt compressed object: %v", err)
	}
}
