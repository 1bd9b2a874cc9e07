package catalog_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/glue"
	gtypes "github.com/aws/aws-sdk-go-v2/service/glue/types"
	"github.com/google/go-cmp/cmp"

	"github.com/lakekit/lakekit/catalog"
)

// stubGlue is a hand-written catalog.GlueAPI holding one database's tables
// and partitions in memory: the way a service tests code over catalog.Glue
// without AWS or an emulator. It implements the calls this test makes; the
// embedded interface is nil, so any other call panics and shows up.
type stubGlue struct {
	catalog.GlueAPI
	tables     map[string]gtypes.TableInput
	versions   map[string]int
	partitions map[string][]gtypes.PartitionInput
	calls      []string
}

func newStubGlue() *stubGlue {
	return &stubGlue{tables: map[string]gtypes.TableInput{}, versions: map[string]int{}, partitions: map[string][]gtypes.PartitionInput{}}
}

func (s *stubGlue) CreateTable(_ context.Context, in *glue.CreateTableInput, _ ...func(*glue.Options)) (*glue.CreateTableOutput, error) {
	s.calls = append(s.calls, "CreateTable")
	key := aws.ToString(in.DatabaseName) + "." + aws.ToString(in.TableInput.Name)
	if _, ok := s.tables[key]; ok {
		return nil, &gtypes.AlreadyExistsException{Message: aws.String("Table already exists.")}
	}
	s.tables[key] = *in.TableInput
	s.versions[key] = 1
	return &glue.CreateTableOutput{}, nil
}

func (s *stubGlue) GetTable(_ context.Context, in *glue.GetTableInput, _ ...func(*glue.Options)) (*glue.GetTableOutput, error) {
	s.calls = append(s.calls, "GetTable")
	key := aws.ToString(in.DatabaseName) + "." + aws.ToString(in.Name)
	ti, ok := s.tables[key]
	if !ok {
		return nil, &gtypes.EntityNotFoundException{Message: aws.String("Table " + aws.ToString(in.Name) + " not found.")}
	}
	created := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	return &glue.GetTableOutput{Table: &gtypes.Table{
		DatabaseName: in.DatabaseName, Name: ti.Name, TableType: ti.TableType, Parameters: ti.Parameters,
		PartitionKeys: ti.PartitionKeys, StorageDescriptor: ti.StorageDescriptor, Description: ti.Description,
		Owner: ti.Owner, VersionId: aws.String(strconv.Itoa(s.versions[key])), CreateTime: &created, UpdateTime: &created,
	}}, nil
}

func (s *stubGlue) BatchCreatePartition(_ context.Context, in *glue.BatchCreatePartitionInput, _ ...func(*glue.Options)) (*glue.BatchCreatePartitionOutput, error) {
	s.calls = append(s.calls, "BatchCreatePartition")
	key := aws.ToString(in.DatabaseName) + "." + aws.ToString(in.TableName)
	s.partitions[key] = append(s.partitions[key], in.PartitionInputList...)
	return &glue.BatchCreatePartitionOutput{}, nil
}

// TestGlueOverStubClient drives catalog.Glue through create table, add
// partitions and get table over a stub GlueAPI, and checks what reached the
// client: a Parquet EXTERNAL_TABLE with lakekit's parameters, partitions at
// the table location plus their Hive path, in one batch call (the table
// read by CreateTable is reused, not read again).
func TestGlueOverStubClient(t *testing.T) {
	ctx := context.Background()
	stub := newStubGlue()
	g, err := catalog.NewGlueFromClient(stub, nil)
	if err != nil {
		t.Fatal(err)
	}
	tb := &catalog.Table{Database: "shop", Name: "orders", Location: "s3://lake/curated/shop/orders/", Steward: "data-team",
		Schema: catalog.Schema{
			Columns:       []catalog.Column{{Name: "id", Type: "bigint", Required: true}, {Name: "email", Type: "string", Classification: "PII"}},
			PartitionKeys: []catalog.Column{{Name: "dt", Type: "date"}},
		}}
	if err := g.CreateTable(ctx, tb); err != nil {
		t.Fatal(err)
	}
	if tb.VersionID != "1" || tb.Schema.Version != 1 {
		t.Errorf("after CreateTable: VersionID %q, schema version %d; want \"1\", 1", tb.VersionID, tb.Schema.Version)
	}
	sent := stub.tables["shop.orders"]
	if got := aws.ToString(sent.StorageDescriptor.SerdeInfo.SerializationLibrary); got != catalog.ParquetSerDe {
		t.Errorf("SerDe %q, want %q", got, catalog.ParquetSerDe)
	}
	if aws.ToString(sent.TableType) != "EXTERNAL_TABLE" || sent.Parameters[catalog.ParamSchemaVersion] != "1" || sent.Parameters[catalog.ParamSteward] != "data-team" {
		t.Errorf("TableInput type %q, parameters %v", aws.ToString(sent.TableType), sent.Parameters)
	}

	err = g.AddPartitions(ctx, "shop", "orders", []catalog.Partition{
		{Values: []string{"2026-12-05"}}, {Values: []string{"2026-12-06"}, Location: "s3://lake/curated/shop/orders/v2/dt=2026-12-06/"},
	})
	if err != nil {
		t.Fatal(err)
	}
	var locs []string
	for _, p := range stub.partitions["shop.orders"] {
		locs = append(locs, p.Values[0]+" "+aws.ToString(p.StorageDescriptor.Location))
	}
	want := []string{"2026-12-05 s3://lake/curated/shop/orders/dt=2026-12-05/", "2026-12-06 s3://lake/curated/shop/orders/v2/dt=2026-12-06/"}
	if diff := cmp.Diff(want, locs); diff != "" {
		t.Errorf("partitions sent (-want +got):\n%s", diff)
	}

	got, err := g.GetTable(ctx, "shop", "orders")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(tb.Schema.Columns, got.Schema.Columns); diff != "" {
		t.Errorf("columns read back (-created +got):\n%s", diff)
	}
	if got.Steward != "data-team" || got.Location != tb.Location || got.Schema.PartitionKeys[0].Name != "dt" {
		t.Errorf("GetTable = %+v", got)
	}
	if diff := cmp.Diff([]string{"CreateTable", "GetTable", "BatchCreatePartition", "GetTable"}, stub.calls); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}

	if _, err := g.GetTable(ctx, "shop", "missing"); !errors.Is(err, catalog.ErrNoSuchTable) {
		t.Errorf("GetTable of a missing table: %v, want ErrNoSuchTable", err)
	}
	if err := g.CreateTable(ctx, &catalog.Table{Database: "shop", Name: "orders", Location: tb.Location, Schema: tb.Schema}); !errors.Is(err, catalog.ErrExists) {
		t.Errorf("CreateTable twice: %v, want ErrExists", err)
	}
}

// TestNewGlueFromClientRefuses: a nil client and out-of-range options are
// refused with ErrInvalid naming the problem.
func TestNewGlueFromClientRefuses(t *testing.T) {
	for _, c := range []struct {
		client catalog.GlueAPI
		opts   *catalog.GlueOptions
		want   string
	}{
		{nil, nil, "client is nil"},
		{newStubGlue(), &catalog.GlueOptions{Segments: 11}, "Segments 11"},
		{newStubGlue(), &catalog.GlueOptions{Segments: -1}, "Segments -1"},
		{newStubGlue(), &catalog.GlueOptions{Concurrency: -2}, "Concurrency -2"},
	} {
		g, err := catalog.NewGlueFromClient(c.client, c.opts)
		if !errors.Is(err, catalog.ErrInvalid) || g != nil || !strings.Contains(fmt.Sprint(err), c.want) {
			t.Errorf("NewGlueFromClient(%v): %v, %v; want ErrInvalid naming %q", c.opts, g, err, c.want)
		}
	}
}
