package query

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/lakekit/lakekit/catalog"
)

// UnloadTarget says where an unloaded query lands and how it is cataloged.
type UnloadTarget struct {
	// Location is the S3 prefix, ending in "/", that receives the files;
	// it becomes the cataloged table's location.
	Location string
	IAMRole  string
	// Catalog, Database and Table register the output as a Parquet table.
	Catalog  catalog.Catalog
	Database string
	Table    string
	// Columns are the table's columns; empty means: learn them from the
	// query's result metadata (a LIMIT 0 run).
	Columns     []catalog.Column
	Description string
	Options     *UnloadOptions
}

// Unload runs UNLOAD of query to target.Location as Parquet and registers
// the result in the catalog as database.table (created, or updated if it
// exists), so Athena, Spectrum and the DuckDB engine can read it. With
// Options.PartitionBy it also registers each partition UNLOAD wrote
// (<location>/<col>=<value>/, learnt by a SELECT DISTINCT of the partition
// columns over the same query), because UNLOAD itself adds none to the
// catalog.
func (r *Redshift) Unload(ctx context.Context, query string, target UnloadTarget) (*catalog.Table, error) {
	if target.Catalog == nil || target.Database == "" || target.Table == "" {
		return nil, fmt.Errorf("query: Unload needs a Catalog, Database and Table to register the output: %w", ErrInvalid)
	}
	if !strings.HasSuffix(target.Location, "/") {
		return nil, fmt.Errorf("query: Unload location %q must end in / (a prefix): %w", target.Location, ErrInvalid)
	}
	var partCols []string
	if target.Options != nil {
		partCols = target.Options.PartitionBy
	}
	cols := target.Columns
	if len(cols) == 0 {
		res, err := r.Query(ctx, "SELECT * FROM ("+query+") AS lakekit_unload LIMIT 0")
		if err != nil {
			return nil, fmt.Errorf("query: unload: learning the result's columns: %w", err)
		}
		res.Close()
		for _, c := range res.Columns {
			cols = append(cols, catalog.Column{Name: c.Name, Type: glueType(c)})
		}
	}
	stmt, err := UnloadSQL(query, target.Location, target.IAMRole, target.Options)
	if err != nil {
		return nil, err
	}
	t := &catalog.Table{
		Database: target.Database, Name: target.Table, Location: target.Location, Format: "parquet",
		Description: target.Description,
		Parameters:  map[string]string{"classification": "parquet", "lakekit.source": "redshift-unload"},
	}
	for _, c := range cols {
		isPart := false
		for _, p := range partCols {
			if p == c.Name {
				isPart = true
			}
		}
		if isPart {
			t.Schema.PartitionKeys = append(t.Schema.PartitionKeys, c)
		} else {
			t.Schema.Columns = append(t.Schema.Columns, c)
		}
	}
	// refused before anything is written: Spectrum must read what is
	// registered
	if err := CheckSpectrumTable(t); err != nil {
		return nil, err
	}
	if _, err := r.Exec(ctx, stmt); err != nil {
		return nil, err
	}
	err = target.Catalog.CreateTable(ctx, t)
	if errors.Is(err, catalog.ErrExists) {
		old, gerr := target.Catalog.GetTable(ctx, target.Database, target.Table)
		if gerr != nil {
			return nil, gerr
		}
		t.VersionID = old.VersionID
		err = target.Catalog.UpdateTable(ctx, t, nil)
	}
	if err != nil {
		return nil, fmt.Errorf("query: unload: registering %s.%s: %w", target.Database, target.Table, err)
	}
	if len(partCols) > 0 {
		parts, err := r.unloadedPartitions(ctx, query, partCols, target.Location)
		if err != nil {
			return t, fmt.Errorf("query: unload: %s.%s is registered but its partitions are not: %w", target.Database, target.Table, err)
		}
		if err := target.Catalog.AddPartitions(ctx, target.Database, target.Table, parts); err != nil {
			return t, fmt.Errorf("query: unload: registering the partitions of %s.%s: %w", target.Database, target.Table, err)
		}
	}
	return t, nil
}

// hiveNull is the folder value Hive, Glue, Athena and Redshift's UNLOAD use
// for a NULL partition value.
const hiveNull = "__HIVE_DEFAULT_PARTITION__"

// unloadedPartitions asks Redshift which partitions an UNLOAD ... PARTITION
// BY of query wrote: the distinct values of the partition columns, as text
// (what UNLOAD names the folders with), each under loc as
// <col>=<value>/... . UNLOAD makes no catalog calls, so without them
// Athena and Spectrum would see no rows.
func (r *Redshift) unloadedPartitions(ctx context.Context, query string, cols []string, loc string) ([]catalog.Partition, error) {
	quoted, err := redshiftIdents(cols...)
	if err != nil {
		return nil, err
	}
	sel := make([]string, len(cols))
	for i, q := range quoted {
		sel[i] = "CAST(" + q + " AS VARCHAR(MAX)) AS " + q
	}
	res, err := r.Query(ctx, "SELECT DISTINCT "+strings.Join(sel, ", ")+" FROM ("+query+") AS lakekit_unload")
	if err != nil {
		return nil, fmt.Errorf("listing the partitions written: %w", err)
	}
	rows, err := res.All()
	if err != nil {
		return nil, fmt.Errorf("listing the partitions written: %w", err)
	}
	parts := make([]catalog.Partition, 0, len(rows))
	for _, row := range rows {
		if len(row) != len(cols) {
			return nil, fmt.Errorf("partition row with %d values for %d columns: %w", len(row), len(cols), ErrQueryFailed)
		}
		p := catalog.Partition{Location: loc}
		for i, v := range row {
			s := hiveNull
			if v != nil {
				s = fmt.Sprint(v)
			}
			p.Values = append(p.Values, s)
			p.Location += cols[i] + "=" + s + "/"
		}
		parts = append(parts, p)
	}
	return parts, nil
}

// glueType maps a result column to the Glue/Hive type of the catalog.
func glueType(c Column) string {
	switch c.GoType {
	case typeInt16:
		return "smallint"
	case typeInt32:
		return "int"
	case typeInt64:
		return "bigint"
	case typeFloat32:
		return "float"
	case typeFloat64:
		return "double"
	case typeBool:
		return "boolean"
	case typeBytes:
		return "binary"
	case typeDecimal:
		if i := strings.IndexByte(c.DatabaseType, '('); i >= 0 {
			return "decimal" + c.DatabaseType[i:]
		}
		return "decimal(38,10)"
	case typeTime:
		if c.DatabaseType == "date" {
			return "date"
		}
		return "timestamp"
	}
	return "string"
}
