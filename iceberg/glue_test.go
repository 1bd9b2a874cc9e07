package iceberg_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/apache/iceberg-go/catalog"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/glue"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-cmp/cmp"

	"github.com/lakekit/lakekit/iceberg"
	"github.com/lakekit/lakekit/internal/testaws"
)

// versionedGlue is a proxy in front of moto that does what AWS Glue does
// and moto does not: UpdateTable with a VersionId that is no longer the
// table's current version fails with ConcurrentModificationException
// (Glue API reference, UpdateTable: "VersionId - The version ID at which
// to update the table contents"). moto applies such an update anyway, so
// without the proxy two writers that loaded the same version both
// "succeed" and one loses the other's snapshot. The check and the update
// run under one lock, as Glue applies them atomically.
func versionedGlue(t *testing.T, motoCfg aws.Config, motoEndpoint string) string {
	t.Helper()
	target, err := url.Parse(motoEndpoint)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	direct := glue.NewFromConfig(motoCfg)
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Amz-Target") != "AWSGlue.UpdateTable" {
			proxy.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var in struct {
			CatalogId    string
			DatabaseName string
			VersionId    string
			TableInput   struct{ Name string }
		}
		if err := json.Unmarshal(body, &in); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if in.VersionId != "" {
			cur, err := direct.GetTable(r.Context(), &glue.GetTableInput{DatabaseName: &in.DatabaseName, Name: &in.TableInput.Name})
			if err == nil && aws.ToString(cur.Table.VersionId) != in.VersionId {
				w.Header().Set("Content-Type", "application/x-amz-json-1.1")
				w.Header().Set("X-Amzn-ErrorType", "ConcurrentModificationException")
				w.WriteHeader(http.StatusBadRequest)
				fmt.Fprintf(w, `{"__type":"ConcurrentModificationException","Message":"table version %s is not the current version %s"}`,
					in.VersionId, aws.ToString(cur.Table.VersionId))
				return
			}
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// glueLake starts moto, makes the bucket "lake" and returns an AWS config
// (through versionedGlue), a Glue catalog whose tables live in S3 on moto,
// and the table curated.events of Event rows.
func glueLake(t *testing.T) (aws.Config, catalog.Catalog, *iceberg.Table[Event]) {
	t.Helper()
	glueURL, s3URL := startGlueLake(t)
	return openGlueLake(t, glueURL, s3URL, nil)
}

// startGlueLake starts moto and versionedGlue in front of it, makes the
// bucket "lake" and returns the Glue (proxy) and S3 (moto) endpoints.
func startGlueLake(t *testing.T) (glueURL, s3URL string) {
	t.Helper()
	// Nothing may reach the EC2 metadata endpoint (off loopback) should a
	// client fall back to the default credential chain.
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	m := testaws.StartMoto(t)
	glueURL = versionedGlue(t, m.Config(t), m.Endpoint)
	if _, err := s3.NewFromConfig(testaws.Config(t, glueURL), func(o *s3.Options) { o.UsePathStyle = true }).
		CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String("lake")}); err != nil {
		t.Fatal(err)
	}
	return glueURL, m.Endpoint
}

// openGlueLake opens curated.events on the Glue lake at glueURL/s3URL,
// its catalog wrapped by wrap when not nil.
func openGlueLake(t *testing.T, glueURL, s3URL string, wrap func(catalog.Catalog) catalog.Catalog) (aws.Config, catalog.Catalog, *iceberg.Table[Event]) {
	t.Helper()
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	cfg := testaws.Config(t, glueURL)
	cat, err := iceberg.GlueCatalog(cfg, &iceberg.GlueOptions{S3Endpoint: s3URL})
	if err != nil {
		t.Fatal(err)
	}
	if wrap != nil {
		cat = wrap(cat)
	}
	tbl, err := iceberg.Open[Event](context.Background(), cat, []string{"curated", "events"},
		&iceberg.Options{Location: "s3://lake/curated/events"})
	if err != nil {
		t.Fatal(err)
	}
	return cfg, cat, tbl
}

// TestIcebergGlueOnMoto: on S3 + Glue (moto) the typed round trip holds
// after append, append and overwrite; iceberg-go's own scan reads exactly
// the committed rows of each snapshot; the Glue table has
// table_type=ICEBERG and its metadata_location is the current metadata
// file (and previous_metadata_location the one before), and that file
// passes the spec v2 check.
func TestIcebergGlueOnMoto(t *testing.T) {
	ctx := context.Background()
	cfg, _, tbl := glueLake(t)
	gc := glue.NewFromConfig(cfg)

	checkGlue := func(c *iceberg.Commit, previous string) {
		t.Helper()
		out, err := gc.GetTable(ctx, &glue.GetTableInput{DatabaseName: aws.String("curated"), Name: aws.String("events")})
		if err != nil {
			t.Fatal(err)
		}
		p := out.Table.Parameters
		if !strings.EqualFold(p["table_type"], "ICEBERG") {
			t.Errorf("Glue table_type = %q, want ICEBERG", p["table_type"])
		}
		if p["metadata_location"] != c.MetadataLocation {
			t.Errorf("Glue metadata_location = %q, want the commit's %q", p["metadata_location"], c.MetadataLocation)
		}
		if previous != "" && p["previous_metadata_location"] != previous {
			t.Errorf("Glue previous_metadata_location = %q, want %q", p["previous_metadata_location"], previous)
		}
		if !strings.HasPrefix(c.MetadataLocation, "s3://lake/curated/events/metadata/") {
			t.Errorf("metadata location %q is not under the table's location", c.MetadataLocation)
		}
	}

	want := map[int64][]Event{}
	a := events(0, 12, "2026-01-01", "2026-01-02")
	c1, err := tbl.Append(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	want[c1.SnapshotID] = a
	checkGlue(c1, "")
	b := events(12, 5, "2026-01-03")
	c2, err := tbl.Append(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	ab := append(append([]Event(nil), a...), b...)
	want[c2.SnapshotID] = ab
	checkGlue(c2, c1.MetadataLocation)
	if diff := cmp.Diff(sortByID(ab), mustRead(t, tbl, nil)); diff != "" {
		t.Errorf("after two appends (-want +got):\n%s", diff)
	}
	o := events(200, 3, "2026-03-01")
	c3, err := tbl.Overwrite(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	want[c3.SnapshotID] = o
	checkGlue(c3, c2.MetadataLocation)
	if diff := cmp.Diff(o, mustRead(t, tbl, nil)); diff != "" {
		t.Errorf("after overwrite (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(sortByID(a), mustRead(t, tbl, &iceberg.ReadOptions{SnapshotID: c1.SnapshotID})); diff != "" {
		t.Errorf("time travel to the first snapshot (-want +got):\n%s", diff)
	}
	checkIndependentRead(t, tbl, want)

	// The metadata file Glue points at, read from S3, passes the spec check.
	key := strings.TrimPrefix(c3.MetadataLocation, "s3://lake/")
	obj, err := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }).
		GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("lake"), Key: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(obj.Body)
	obj.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	checkMetadataV2(t, raw, c3.SnapshotID, 3)
}

// glueWriters and glueAppends scale TestIcebergConcurrentAppendsGlue.
// The defaults (4 x 10) keep CI short; the 8 x 100 = 800/800 is
// -iceberg.glue.writers=8 -iceberg.glue.appends=100 (with a -timeout to
// match: every commit rewrites metadata that grows with the snapshots).
var (
	glueWriters = flag.Int("iceberg.glue.writers", 4, "writers in TestIcebergConcurrentAppendsGlue")
	glueAppends = flag.Int("iceberg.glue.appends", 10, "appends per writer in TestIcebergConcurrentAppendsGlue")
)

// TestIcebergConcurrentAppendsGlue: -iceberg.glue.writers writers x
// -iceberg.glue.appends appends on Glue (moto behind versionedGlue) race
// on the Glue table's VersionId; every append lands exactly once (n/n
// rows, n snapshots, iceberg-go's scan agrees). On moto alone it fails:
// moto ignores VersionId.
func TestIcebergConcurrentAppendsGlue(t *testing.T) {
	if *glueWriters < 1 || *glueAppends < 1 {
		t.Fatalf("-iceberg.glue.writers=%d -iceberg.glue.appends=%d: want at least 1 each", *glueWriters, *glueAppends)
	}
	_, cat, _ := glueLake(t)
	runConcurrentAppends(t, cat, []string{"curated", "events"}, nil, *glueWriters, *glueAppends)
}
