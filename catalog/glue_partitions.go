package catalog

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/glue"
	"github.com/aws/aws-sdk-go-v2/service/glue/types"
	"golang.org/x/sync/errgroup"
)

func chunks[T any](s []T, n int) [][]T {
	var out [][]T
	for len(s) > 0 {
		k := min(n, len(s))
		out = append(out, s[:k])
		s = s[k:]
	}
	return out
}

func valueLists(ps []Partition) []types.PartitionValueList {
	out := make([]types.PartitionValueList, len(ps))
	for i, p := range ps {
		out[i] = types.PartitionValueList{Values: p.Values}
	}
	return out
}

// entryError returns the error code of one failed entry of a batch
// partition call and a description naming the partition.
func entryError(values []string, d *types.ErrorDetail) (code, desc string) {
	var msg string
	if d != nil {
		code, msg = aws.ToString(d.ErrorCode), aws.ToString(d.ErrorMessage)
	}
	return code, fmt.Sprintf("%v: %s: %s", values, code, msg)
}

func describeEntryErrors(n int, first string) string {
	if n == 1 {
		return first
	}
	return fmt.Sprintf("%s (and %d more)", first, n-1)
}

// AddPartitions implements Catalog with BatchCreatePartition, 100
// partitions per call (Glue's limit), several calls in parallel.
// AlreadyExistsException entries are partitions that exist: not an error.
func (g *Glue) AddPartitions(ctx context.Context, database, table string, parts []Partition) error {
	t, err := g.partitionTable(ctx, database, table)
	if err != nil {
		return err
	}
	ps, err := preparePartitions(t, parts, false)
	if err != nil {
		return err
	}
	eg, ectx := errgroup.WithContext(ctx)
	eg.SetLimit(g.opts.Concurrency)
	for _, chunk := range chunks(ps, glueCreateBatch) {
		eg.Go(func() error {
			in := &glue.BatchCreatePartitionInput{
				CatalogId: g.catalogID(), DatabaseName: aws.String(database), TableName: aws.String(table),
				PartitionInputList: make([]types.PartitionInput, len(chunk)),
			}
			for i, p := range chunk {
				in.PartitionInputList[i] = types.PartitionInput{Values: p.Values, Parameters: p.Parameters, StorageDescriptor: storageDescriptor(t, p.Location)}
			}
			out, err := g.c.BatchCreatePartition(ectx, in)
			if err != nil {
				return glueErr(err, "batch create partition in "+database+"."+table, ErrNoSuchTable)
			}
			var bad []string
			for _, e := range out.Errors {
				if code, desc := entryError(e.PartitionValues, e.ErrorDetail); code != "AlreadyExistsException" {
					bad = append(bad, desc)
				}
			}
			if len(bad) > 0 {
				return fmt.Errorf("catalog: glue batch create partition in %s.%s: %s", database, table, describeEntryErrors(len(bad), bad[0]))
			}
			return nil
		})
	}
	return eg.Wait()
}

func (g *Glue) getPartitions(ctx context.Context, database, table string, ps []Partition) (map[string]types.Partition, error) {
	found := map[string]types.Partition{}
	var mu sync.Mutex
	eg, ectx := errgroup.WithContext(ctx)
	eg.SetLimit(g.opts.Concurrency)
	for _, chunk := range chunks(ps, glueGetBatch) {
		eg.Go(func() error {
			keys := valueLists(chunk)
			for len(keys) > 0 {
				out, err := g.c.BatchGetPartition(ectx, &glue.BatchGetPartitionInput{
					CatalogId: g.catalogID(), DatabaseName: aws.String(database), TableName: aws.String(table), PartitionsToGet: keys,
				})
				if err != nil {
					return glueErr(err, "batch get partition in "+database+"."+table, ErrNoSuchTable)
				}
				mu.Lock()
				for _, p := range out.Partitions {
					found[partitionKey(p.Values)] = p
				}
				mu.Unlock()
				if len(out.UnprocessedKeys) == len(keys) && len(out.Partitions) == 0 {
					return fmt.Errorf("catalog: glue batch get partition in %s.%s: no progress on %d partitions", database, table, len(keys))
				}
				keys = out.UnprocessedKeys
			}
			return nil
		})
	}
	return found, eg.Wait()
}

// UpdatePartitionLocations implements Catalog: BatchGetPartition checks
// that every partition exists (else ErrNoSuchPartition and nothing
// changes), then BatchUpdatePartition, 100 per call, points them at their
// new locations, keeping their parameters unless new ones are given.
func (g *Glue) UpdatePartitionLocations(ctx context.Context, database, table string, parts []Partition) error {
	t, err := g.partitionTable(ctx, database, table)
	if err != nil {
		return err
	}
	ps, err := preparePartitions(t, parts, true)
	if err != nil {
		return err
	}
	existing, err := g.getPartitions(ctx, database, table, ps)
	if err != nil {
		return err
	}
	for _, p := range ps {
		if _, ok := existing[partitionKey(p.Values)]; !ok {
			return fmt.Errorf("catalog: table %s.%s: partition %v: %w", database, table, p.Values, ErrNoSuchPartition)
		}
	}
	eg, ectx := errgroup.WithContext(ctx)
	eg.SetLimit(g.opts.Concurrency)
	for _, chunk := range chunks(ps, glueUpdateBatch) {
		eg.Go(func() error {
			in := &glue.BatchUpdatePartitionInput{CatalogId: g.catalogID(), DatabaseName: aws.String(database), TableName: aws.String(table)}
			for _, p := range chunk {
				params := p.Parameters
				if params == nil {
					params = existing[partitionKey(p.Values)].Parameters
				}
				in.Entries = append(in.Entries, types.BatchUpdatePartitionRequestEntry{
					PartitionValueList: p.Values,
					PartitionInput:     &types.PartitionInput{Values: p.Values, Parameters: params, StorageDescriptor: storageDescriptor(t, p.Location)},
				})
			}
			out, err := g.c.BatchUpdatePartition(ectx, in)
			if err != nil {
				return glueErr(err, "batch update partition in "+database+"."+table, ErrNoSuchTable)
			}
			if len(out.Errors) > 0 {
				code, desc := entryError(out.Errors[0].PartitionValueList, out.Errors[0].ErrorDetail)
				err := fmt.Errorf("catalog: glue batch update partition in %s.%s: %s", database, table,
					describeEntryErrors(len(out.Errors), desc))
				if code == "EntityNotFoundException" {
					err = fmt.Errorf("%w: %w", err, ErrNoSuchPartition)
				}
				return err
			}
			return nil
		})
	}
	return eg.Wait()
}

// DeletePartitions implements Catalog with BatchDeletePartition, 25 per
// call (Glue's limit); missing partitions are ignored.
func (g *Glue) DeletePartitions(ctx context.Context, database, table string, values [][]string) error {
	t, err := g.GetTable(ctx, database, table)
	if err != nil {
		return err
	}
	var ps []Partition
	seen := map[string]bool{}
	for _, v := range values {
		if err := ValidatePartitionValues(t.Schema.PartitionKeys, v); err != nil {
			return fmt.Errorf("table %s.%s: %w", database, table, err)
		}
		if !seen[partitionKey(v)] {
			seen[partitionKey(v)] = true
			ps = append(ps, Partition{Values: v})
		}
	}
	eg, ectx := errgroup.WithContext(ctx)
	eg.SetLimit(g.opts.Concurrency)
	for _, chunk := range chunks(ps, glueDeleteBatch) {
		eg.Go(func() error {
			out, err := g.c.BatchDeletePartition(ectx, &glue.BatchDeletePartitionInput{
				CatalogId: g.catalogID(), DatabaseName: aws.String(database), TableName: aws.String(table), PartitionsToDelete: valueLists(chunk),
			})
			if err != nil {
				return glueErr(err, "batch delete partition in "+database+"."+table, ErrNoSuchTable)
			}
			for _, e := range out.Errors {
				if code, desc := entryError(e.PartitionValues, e.ErrorDetail); code != "EntityNotFoundException" {
					return fmt.Errorf("catalog: glue batch delete partition in %s.%s: %s", database, table, desc)
				}
			}
			return nil
		})
	}
	return eg.Wait()
}

// Partitions implements Catalog with GetPartitions. The filter is checked
// locally first (bad expressions fail with ErrInvalid before any call),
// sent to Glue in canonical form (Filter.Expression) so Glue prunes
// server-side, and applied again to the results, so the answer is exact
// even where the service's expression support differs; if the service
// refuses an expression lakekit accepts (InvalidInputException), the
// partitions are listed without it and filtered here. With GlueOptions.Segments > 1 the segments
// are read in parallel.
func (g *Glue) Partitions(ctx context.Context, database, table, filter string) iter.Seq2[Partition, error] {
	return func(yield func(Partition, error) bool) {
		t, err := g.GetTable(ctx, database, table)
		if err != nil {
			yield(Partition{}, err)
			return
		}
		f, err := CompileFilter(filter, t.Schema.PartitionKeys)
		if err != nil {
			yield(Partition{}, err)
			return
		}
		ps, err := g.listPartitions(ctx, database, table, f, false)
		if err != nil && errors.Is(err, ErrInvalid) && f.Expression() != "" {
			// The service refused an expression lakekit understands (an
			// emulator with partial support): list everything and filter
			// here instead.
			ps, err = g.listPartitions(ctx, database, table, f, true)
		}
		if err != nil {
			yield(Partition{}, err)
			return
		}
		sortPartitions(t.Schema.PartitionKeys, ps)
		for _, p := range ps {
			if !yield(p, nil) {
				return
			}
		}
	}
}

func (g *Glue) listPartitions(ctx context.Context, database, table string, f *Filter, noExpr bool) ([]Partition, error) {
	segments := max(1, g.opts.Segments)
	results := make([][]Partition, segments)
	eg, ectx := errgroup.WithContext(ctx)
	for seg := range segments {
		eg.Go(func() error {
			in := &glue.GetPartitionsInput{
				CatalogId: g.catalogID(), DatabaseName: aws.String(database), TableName: aws.String(table),
				ExcludeColumnSchema: aws.Bool(true),
			}
			if expr := f.Expression(); expr != "" && !noExpr {
				in.Expression = aws.String(expr)
			}
			if segments > 1 {
				in.Segment = &types.Segment{SegmentNumber: int32(seg), TotalSegments: aws.Int32(int32(segments))}
			}
			p := glue.NewGetPartitionsPaginator(g.c, in)
			for p.HasMorePages() {
				page, err := p.NextPage(ectx)
				if err != nil {
					return glueErr(err, "get partitions of "+database+"."+table, ErrNoSuchTable)
				}
				for _, gp := range page.Partitions {
					results[seg] = append(results[seg], fromGluePartition(gp))
				}
			}
			return nil
		})
	}
	if err := eg.Wait(); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var ps []Partition
	for _, r := range results {
		for _, p := range r {
			k := partitionKey(p.Values)
			if seen[k] || !f.Match(p.Values) {
				continue
			}
			seen[k] = true
			ps = append(ps, p)
		}
	}
	return ps, nil
}

// PartitionIndexer is implemented by catalogs that index partitions (Glue
// partition indexes speed up GetPartitions with expressions on the keys).
type PartitionIndexer interface {
	// CreatePartitionIndex indexes a table's partitions on keys (a prefix
	// of its partition keys, in order).
	CreatePartitionIndex(ctx context.Context, database, table, index string, keys []string) error
}

// CreatePartitionIndex implements PartitionIndexer with Glue's
// CreatePartitionIndex. Glue allows three indexes per table.
func (g *Glue) CreatePartitionIndex(ctx context.Context, database, table, index string, keys []string) error {
	t, err := g.GetTable(ctx, database, table)
	if err != nil {
		return err
	}
	if err := nameErr("partition index name", index); err != nil {
		return err
	}
	if len(keys) == 0 {
		return invalidf("partition index %q needs at least one key", index)
	}
	for _, k := range keys {
		if !slices.ContainsFunc(t.Schema.PartitionKeys, func(c Column) bool { return c.Name == k }) {
			return invalidf("partition index %q: %q is not a partition key of %s.%s", index, k, database, table)
		}
	}
	_, err = g.c.CreatePartitionIndex(ctx, &glue.CreatePartitionIndexInput{
		CatalogId: g.catalogID(), DatabaseName: aws.String(database), TableName: aws.String(table),
		PartitionIndex: &types.PartitionIndex{IndexName: aws.String(index), Keys: keys},
	})
	return glueErr(err, "create partition index "+index+" on "+database+"."+table, ErrNoSuchTable)
}
