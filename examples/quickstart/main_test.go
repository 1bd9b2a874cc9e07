package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/lakekit/lakekit/lake"
)

func TestQuickstart(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	if err := run(context.Background(), []string{"-lake", dir, "-rows", "500"}, &out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var summary struct {
		Lake       string `json:"lake"`
		RawRecords int    `json:"raw_records"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &summary); err != nil {
		t.Fatalf("last line is not JSON: %q", lines[len(lines)-1])
	}
	// independent check: count the JSON lines in the raw zone through the store
	lk, err := lake.Open(context.Background(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for e, err := range lk.MustZone(lake.Raw).Store().List(context.Background(), "web/clicks/", nil) {
		if err != nil {
			t.Fatal(err)
		}
		b, err := lk.MustZone(lake.Raw).Store().ReadAll(context.Background(), e.Key)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			n++
		}
	}
	if n != summary.RawRecords || n != 500 {
		t.Fatalf("raw holds %d records, summary says %d", n, summary.RawRecords)
	}
}

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{{"-nope"}, {"-rows", "-1"}, {"-lake", "gopher://x"}} {
		if err := run(context.Background(), args, &bytes.Buffer{}); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}
