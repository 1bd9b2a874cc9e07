package enginetest

import (
	"bytes"
	"context"
	"fmt"
	"math/big"
	"strings"
	"sync/atomic"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/deprecated"

	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/query"
)

// UnloadPlayer plays Athena's or Redshift's part of an UNLOAD to Parquet
// in tests: it runs the UNLOAD's SELECT on Source (the DuckDB engine over
// a lake holding the same "<database>"."<table>" tables) and writes the
// result into Store the way the service does: each partition under
// key=value/ (Hive-escaped, NULL as __HIVE_DEFAULT_PARTITION__) with the
// partition columns left out of the files, every column OPTIONAL, Snappy
// pages, and the service's file names and types. Athena: files named like
// "20261206_170000_00001_abcde_<id>" without an extension, several per
// partition, timestamps as INT96; Redshift: "0000_part_00.parquet",
// timestamps as INT64 microseconds. Store is where the s3:// destination
// lies: the destination URL must start with Store.Location("").
type UnloadPlayer struct {
	Source query.Engine
	Store  *lake.Store
	// Unloads counts the UNLOADs played.
	Unloads atomic.Int64
}

// Athena returns an AthenaPeer.OnStart hook: an UNLOAD … TO 's3://…' WITH
// (format = 'PARQUET', …) statement is played, and one that cannot be is
// made to fail (peer.Fail) with the reason.
func (u *UnloadPlayer) Athena(p *AthenaPeer) func(query string) {
	return func(q string) {
		if !strings.HasPrefix(q, "UNLOAD (") {
			return
		}
		if err := u.playAthena(q); err != nil {
			p.mu.Lock()
			p.Fail[q] = "HIVE_BAD_DATA: " + err.Error()
			p.mu.Unlock()
		}
	}
}

// Redshift returns a RedshiftFake.Answer: an UNLOAD ('…') TO 's3://…' …
// FORMAT AS PARQUET statement is played (no result set); any other
// statement fails.
func (u *UnloadPlayer) Redshift() func(sql string, params map[string]string) (*RedshiftResult, error) {
	return func(q string, _ map[string]string) (*RedshiftResult, error) {
		if !strings.HasPrefix(q, "UNLOAD ('") {
			return nil, fmt.Errorf("the unload player answers UNLOAD statements only, not %q", q)
		}
		return nil, u.playRedshift(q)
	}
}

func (u *UnloadPlayer) playAthena(q string) error {
	i := strings.LastIndex(q, ") TO '")
	if i < 0 {
		return fmt.Errorf("no TO clause in %q", q)
	}
	inner := q[len("UNLOAD ("):i]
	rest := q[i+len(") TO '"):]
	j := strings.IndexByte(rest, '\'')
	if j < 0 {
		return fmt.Errorf("unterminated location in %q", q)
	}
	loc, with := rest[:j], rest[j+1:]
	if !strings.Contains(with, "format = 'PARQUET'") {
		return fmt.Errorf("not a Parquet UNLOAD: %q", with)
	}
	var parts []string
	if k := strings.Index(with, "partitioned_by = ARRAY["); k >= 0 {
		list := with[k+len("partitioned_by = ARRAY["):]
		list = list[:strings.IndexByte(list, ']')]
		for _, p := range strings.Split(list, ",") {
			parts = append(parts, strings.Trim(strings.TrimSpace(p), "'"))
		}
	}
	return u.play(inner, loc, parts, false)
}

func (u *UnloadPlayer) playRedshift(q string) error {
	i := strings.LastIndex(q, "') TO '")
	if i < 0 {
		return fmt.Errorf("no TO clause in %q", q)
	}
	inner := strings.ReplaceAll(strings.ReplaceAll(q[len("UNLOAD ('"):i], "''", "'"), `\\`, `\`)
	rest := q[i+len("') TO '"):]
	j := strings.IndexByte(rest, '\'')
	if j < 0 {
		return fmt.Errorf("unterminated location in %q", q)
	}
	loc, opts := rest[:j], rest[j+1:]
	if !strings.Contains(opts, "FORMAT AS PARQUET") || !strings.Contains(opts, "IAM_ROLE ") {
		return fmt.Errorf("not a Parquet UNLOAD with an IAM role: %q", opts)
	}
	var parts []string
	if k := strings.Index(opts, "PARTITION BY ("); k >= 0 {
		list := opts[k+len("PARTITION BY ("):]
		list = list[:strings.IndexByte(list, ')')]
		for _, p := range strings.Split(list, ",") {
			parts = append(parts, strings.Trim(strings.TrimSpace(p), `"`))
		}
	}
	return u.play(inner, loc, parts, true)
}

// play runs sql on the source and writes its result under loc.
// play runs sql on Source and writes its rows under loc as the service
// would: partitioned by partitionBy, in Redshift's or Athena's layout.
func (u *UnloadPlayer) play(sql, loc string, partitionBy []string, redshift bool) error {
	ctx := context.Background()
	root := u.Store.Location("")
	prefix, ok := strings.CutPrefix(loc, root)
	if !ok {
		return fmt.Errorf("destination %s is not under %s", loc, root)
	}
	if left, err := u.Store.ListAll(ctx, prefix, nil); err != nil || len(left) > 0 {
		return fmt.Errorf("destination %s is not empty (%d objects, %v)", loc, len(left), err)
	}
	res, err := u.Source.Query(ctx, sql)
	if err != nil {
		return err
	}
	rows, err := res.All()
	if err != nil {
		return err
	}
	cols := res.Columns
	partIdx, err := partitionIndexes(cols, partitionBy, redshift)
	if err != nil {
		return err
	}
	schema, stored, leaf, err := unloadSchema(cols, partIdx, redshift)
	if err != nil {
		return err
	}
	byPart, order, err := groupUnloadRows(rows, cols, partitionBy, partIdx, stored, leaf, redshift)
	if err != nil {
		return err
	}
	return u.writeUnloadFiles(ctx, prefix, schema, byPart, order, redshift)
}

// partitionIndexes finds each partition column in the result; Athena
// wants them last, in partitioned_by's order.
func partitionIndexes(cols []query.Column, partitionBy []string, redshift bool) ([]int, error) {
	partIdx := make([]int, len(partitionBy))
	for i, k := range partitionBy {
		partIdx[i] = -1
		for j, c := range cols {
			if c.Name == k {
				partIdx[i] = j
			}
		}
		if partIdx[i] < 0 {
			return nil, fmt.Errorf("partition column %q is not in the result", k)
		}
		if !redshift && partIdx[i] != len(cols)-len(partitionBy)+i {
			return nil, fmt.Errorf("partition column %q must be among the last columns of the SELECT, in partitioned_by's order", k)
		}
	}
	return partIdx, nil
}

// unloadSchema is the files' schema: every column but the partition
// columns, OPTIONAL, in the service's types. It returns the stored result
// columns and each one's leaf index in the schema.
func unloadSchema(cols []query.Column, partIdx []int, redshift bool) (*parquet.Schema, []int, map[int]int, error) {
	isPart := map[int]bool{}
	for _, j := range partIdx {
		isPart[j] = true
	}
	group := parquet.Group{}
	var stored []int
	for j, c := range cols {
		if isPart[j] {
			continue
		}
		n, err := serviceNode(c, redshift)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("column %q: %w", c.Name, err)
		}
		group[strings.ToLower(c.Name)] = parquet.Optional(n)
		stored = append(stored, j)
	}
	schema := parquet.NewSchema("hive_schema", group)
	leaf := map[int]int{} // result column → leaf index (sorted by name)
	for li, path := range schema.Columns() {
		for _, j := range stored {
			if strings.ToLower(cols[j].Name) == path[0] {
				leaf[j] = li
			}
		}
	}
	return schema, stored, leaf, nil
}

// groupUnloadRows converts the rows to Parquet rows grouped by their
// partition's Hive path, in the order the partitions first appear.
func groupUnloadRows(rows [][]any, cols []query.Column, partitionBy []string, partIdx, stored []int, leaf map[int]int, redshift bool) (map[string][]parquet.Row, []string, error) {
	byPart := map[string][]parquet.Row{}
	var order []string
	for _, r := range rows {
		var p lake.Partition
		for i, j := range partIdx {
			p = append(p, lake.KV{Key: partitionBy[i], Value: folderText(r[j])})
		}
		row := make(parquet.Row, len(stored))
		for _, j := range stored {
			v, err := serviceValue(r[j], cols[j], redshift)
			if err != nil {
				return nil, nil, fmt.Errorf("column %q: %w", cols[j].Name, err)
			}
			def := 1
			if r[j] == nil {
				v, def = parquet.NullValue(), 0
			}
			row[leaf[j]] = v.Level(0, def, leaf[j])
		}
		hp := p.HivePath()
		if _, ok := byPart[hp]; !ok {
			order = append(order, hp)
		}
		byPart[hp] = append(byPart[hp], row)
	}
	return byPart, order, nil
}

// writeUnloadFiles writes each partition's rows under prefix with the
// service's file names: Athena several files per partition, Redshift one.
func (u *UnloadPlayer) writeUnloadFiles(ctx context.Context, prefix string, schema *parquet.Schema, byPart map[string][]parquet.Row, order []string, redshift bool) error {
	n := u.Unloads.Add(1)
	for pi, hp := range order {
		dir := prefix
		if hp != "" {
			dir += hp + "/"
		}
		rs := byPart[hp]
		chunks := [][]parquet.Row{rs}
		if !redshift && len(rs) > 1 { // Athena writes in parallel: several files
			chunks = [][]parquet.Row{rs[:len(rs)/2], rs[len(rs)/2:]}
		}
		for ci, chunk := range chunks {
			var buf bytes.Buffer
			w := parquet.NewWriter(&buf, schema, parquet.Compression(&parquet.Snappy))
			if _, err := w.WriteRows(chunk); err != nil {
				return err
			}
			if err := w.Close(); err != nil {
				return err
			}
			name := fmt.Sprintf("20261206_170000_%05d_abcde_%08x-%04d-%04d", n, pi, ci, len(chunk))
			if redshift {
				name = fmt.Sprintf("%04d_part_%02d.parquet", ci, pi)
			}
			if err := u.Store.PutBytes(ctx, dir+name, buf.Bytes(), nil); err != nil {
				return err
			}
		}
	}
	return nil
}

// folderText is a partition value as both services write folder names.
func folderText(v any) string {
	switch x := v.(type) {
	case nil:
		return lake.NullPartitionValue
	case time.Time:
		return x.UTC().Format(time.DateOnly)
	case string:
		return x
	}
	return fmt.Sprint(v)
}

// serviceNode is the Parquet type the service writes for a result column
// (DuckDB's type names).
func serviceNode(c query.Column, redshift bool) (parquet.Node, error) {
	t := strings.ToLower(c.DatabaseType)
	switch {
	case t == "varchar" || strings.HasPrefix(t, "varchar("):
		return parquet.String(), nil
	case t == "bigint":
		return parquet.Leaf(parquet.Int64Type), nil
	case t == "integer":
		return parquet.Leaf(parquet.Int32Type), nil
	case t == "smallint":
		return parquet.Int(16), nil
	case t == "tinyint":
		return parquet.Int(8), nil
	case t == "double":
		return parquet.Leaf(parquet.DoubleType), nil
	case t == "float":
		return parquet.Leaf(parquet.FloatType), nil
	case t == "boolean":
		return parquet.Leaf(parquet.BooleanType), nil
	case t == "date":
		return parquet.Date(), nil
	case t == "blob":
		return parquet.Leaf(parquet.ByteArrayType), nil
	case strings.HasPrefix(t, "timestamp"):
		if redshift {
			return parquet.Timestamp(parquet.Microsecond), nil
		}
		return parquet.Leaf(parquet.Int96Type), nil
	case strings.HasPrefix(t, "decimal("):
		var p, s int
		if _, err := fmt.Sscanf(t, "decimal(%d,%d)", &p, &s); err != nil || p > 18 {
			return nil, fmt.Errorf("the player writes decimals up to precision 18, not %s", t)
		}
		return parquet.Decimal(s, p, parquet.Int64Type), nil
	}
	return nil, fmt.Errorf("the player does not write %s", t)
}

// serviceValue converts a result value to the service's Parquet value.
func serviceValue(v any, c query.Column, redshift bool) (parquet.Value, error) {
	switch x := v.(type) {
	case nil:
		return parquet.NullValue(), nil
	case string:
		return parquet.ByteArrayValue([]byte(x)), nil
	case []byte:
		return parquet.ByteArrayValue(x), nil
	case int64:
		return parquet.Int64Value(x), nil
	case int32:
		return parquet.Int32Value(x), nil
	case int16:
		return parquet.Int32Value(int32(x)), nil
	case int8:
		return parquet.Int32Value(int32(x)), nil
	case float64:
		return parquet.DoubleValue(x), nil
	case float32:
		return parquet.FloatValue(x), nil
	case bool:
		return parquet.BooleanValue(x), nil
	case query.Decimal:
		if !x.Unscaled.IsInt64() {
			return parquet.Value{}, fmt.Errorf("decimal %v does not fit INT64", x)
		}
		return parquet.Int64Value(x.Unscaled.Int64()), nil
	case *big.Int:
		return parquet.Int64Value(x.Int64()), nil
	case time.Time:
		if strings.ToLower(c.DatabaseType) == "date" {
			return parquet.Int32Value(int32(floorDiv(x.Unix(), 86400))), nil
		}
		if redshift {
			return parquet.Int64Value(x.UnixMicro()), nil
		}
		return parquet.Int96Value(int96(x)), nil
	}
	return parquet.Value{}, fmt.Errorf("the player does not write %T values", v)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b < 0 {
		q--
	}
	return q
}

// int96 is the legacy Hive/Impala timestamp: nanoseconds of the day in the
// first 8 bytes, the Julian day in the last 4.
func int96(t time.Time) deprecated.Int96 {
	const julianUnixEpoch = 2440588
	days := floorDiv(t.Unix(), 86400)
	nanos := uint64(t.Unix()-days*86400)*uint64(time.Second) + uint64(t.Nanosecond())
	return deprecated.Int96{uint32(nanos), uint32(nanos >> 32), uint32(days + julianUnixEpoch)}
}
