package catalog

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Partition projection types (Athena's projection.<key>.type).
const (
	ProjectEnum     = "enum"
	ProjectInteger  = "integer"
	ProjectDate     = "date"
	ProjectInjected = "injected"
)

// KeyProjection is how Athena computes one partition key's values instead
// of reading partitions from the catalog.
type KeyProjection struct {
	// Type is ProjectEnum, ProjectInteger, ProjectDate or ProjectInjected.
	Type string
	// Values of an enum key.
	Values []string
	// Range of an integer ("0,23") or date ("2024-01-01,NOW") key.
	Range string
	// Format of a date key, in Java DateTimeFormatter syntax ("yyyy-MM-dd").
	Format string
	// Interval between values (integer and date keys); 0 means Athena's
	// default (1). IntervalUnit is YEARS, MONTHS, WEEKS, DAYS, HOURS,
	// MINUTES or SECONDS (date keys).
	Interval     int
	IntervalUnit string
	// Digits pads integer values with leading zeros to this width.
	Digits int
}

// Projection configures Athena partition projection for a table: every
// partition key needs a KeyProjection. LocationTemplate is where a
// partition lives ("s3://bucket/t/${dt}/"); empty means the table's
// location followed by the Hive path "k1=${k1}/k2=${k2}/".
type Projection struct {
	Keys             map[string]KeyProjection
	LocationTemplate string
}

var intervalUnits = []string{"YEARS", "MONTHS", "WEEKS", "DAYS", "HOURS", "MINUTES", "SECONDS"}

// Parameters renders the projection as the table parameters Athena reads
// (projection.enabled, projection.<key>.type, .values, .range, .format,
// .interval, .interval.unit, .digits, storage.location.template), after
// checking it against t's partition keys.
func (p *Projection) Parameters(t *Table) (map[string]string, error) {
	keys := t.Schema.PartitionKeys
	if len(keys) == 0 {
		return nil, invalidf("table %s.%s has no partition keys to project", t.Database, t.Name)
	}
	for name := range p.Keys {
		if !slices.ContainsFunc(keys, func(c Column) bool { return c.Name == name }) {
			return nil, invalidf("projection of %q: not a partition key of %s.%s", name, t.Database, t.Name)
		}
	}
	out := map[string]string{"projection.enabled": "true"}
	var tmpl []string
	for _, k := range keys {
		kp, ok := p.Keys[k.Name]
		if !ok {
			return nil, invalidf("partition key %q has no projection (every key needs one)", k.Name)
		}
		pre := "projection." + k.Name + "."
		out[pre+"type"] = kp.Type
		switch kp.Type {
		case ProjectEnum:
			if len(kp.Values) == 0 {
				return nil, invalidf("enum projection of %q needs Values", k.Name)
			}
			for _, v := range kp.Values {
				if strings.Contains(v, ",") || v == "" {
					return nil, invalidf("enum projection of %q: value %q must be non-empty and have no comma", k.Name, v)
				}
			}
			out[pre+"values"] = strings.Join(kp.Values, ",")
		case ProjectInteger:
			lo, hi, ok := strings.Cut(kp.Range, ",")
			_, err1 := strconv.ParseInt(strings.TrimSpace(lo), 10, 64)
			_, err2 := strconv.ParseInt(strings.TrimSpace(hi), 10, 64)
			if !ok || err1 != nil || err2 != nil {
				return nil, invalidf("integer projection of %q needs Range \"min,max\", got %q", k.Name, kp.Range)
			}
			out[pre+"range"] = kp.Range
			if kp.Interval > 0 {
				out[pre+"interval"] = strconv.Itoa(kp.Interval)
			}
			if kp.Digits > 0 {
				out[pre+"digits"] = strconv.Itoa(kp.Digits)
			}
		case ProjectDate:
			if _, _, ok := strings.Cut(kp.Range, ","); !ok {
				return nil, invalidf("date projection of %q needs Range \"start,end\" (e.g. \"2024-01-01,NOW\"), got %q", k.Name, kp.Range)
			}
			if kp.Format == "" {
				return nil, invalidf("date projection of %q needs Format (e.g. yyyy-MM-dd)", k.Name)
			}
			out[pre+"range"] = kp.Range
			out[pre+"format"] = kp.Format
			if kp.Interval > 0 {
				out[pre+"interval"] = strconv.Itoa(kp.Interval)
			}
			if kp.IntervalUnit != "" {
				if !slices.Contains(intervalUnits, kp.IntervalUnit) {
					return nil, invalidf("date projection of %q: interval unit %q is not one of %v", k.Name, kp.IntervalUnit, intervalUnits)
				}
				out[pre+"interval.unit"] = kp.IntervalUnit
			}
		case ProjectInjected:
		default:
			return nil, invalidf("projection of %q: unknown type %q (enum, integer, date or injected)", k.Name, kp.Type)
		}
		tmpl = append(tmpl, k.Name+"=${"+k.Name+"}")
	}
	loc := p.LocationTemplate
	if loc == "" {
		if t.Location == "" {
			return nil, invalidf("table %s.%s has no location to build storage.location.template from", t.Database, t.Name)
		}
		loc = strings.TrimSuffix(t.Location, "/") + "/" + strings.Join(tmpl, "/") + "/"
	}
	for _, k := range keys {
		if !strings.Contains(loc, "${"+k.Name+"}") {
			return nil, invalidf("storage.location.template %q does not use ${%s}", loc, k.Name)
		}
	}
	out["storage.location.template"] = loc
	return out, nil
}

// ApplyProjection adds the projection's parameters to t.Parameters, so
// CreateTable or UpdateTable stores them (Glue: Athena then projects
// partitions instead of reading them).
func ApplyProjection(t *Table, p *Projection) error {
	params, err := p.Parameters(t)
	if err != nil {
		return err
	}
	if t.Parameters == nil {
		t.Parameters = map[string]string{}
	}
	maps.Copy(t.Parameters, params)
	return nil
}

// DDLOptions shape CreateTableDDL. A nil *DDLOptions means defaults.
type DDLOptions struct {
	// IfNotExists adds IF NOT EXISTS.
	IfNotExists bool
	// Projection adds partition projection properties.
	Projection *Projection
	// PartitionFiltering sets 'partition_filtering.enabled'='true', which
	// makes Athena use the table's Glue partition indexes (see
	// PartitionIndexer).
	PartitionFiltering bool
	// Compression sets 'parquet.compression' (SNAPPY, ZSTD, GZIP, ...)
	// for Athena's writes (INSERT INTO, CTAS).
	Compression string
}

// CreateTableDDL renders an Athena (Hive DDL) CREATE EXTERNAL TABLE
// statement for t: backquoted names, column comments, PARTITIONED BY,
// STORED AS PARQUET, LOCATION and TBLPROPERTIES (the table's parameters,
// classification=parquet, and the options'), properties sorted by key.
func CreateTableDDL(t *Table, opts *DDLOptions) (string, error) {
	if err := ValidateTable(t); err != nil {
		return "", err
	}
	if t.Location == "" {
		return "", invalidf("table %s.%s has no location (Athena external tables need one)", t.Database, t.Name)
	}
	var o DDLOptions
	if opts != nil {
		o = *opts
	}
	nt := normalizeTable(t)
	props := map[string]string{}
	for k, v := range nt.Parameters {
		if !strings.HasPrefix(k, reservedPrefix) {
			props[k] = v
		}
	}
	props["classification"] = FormatParquet
	if o.Projection != nil {
		pp, err := o.Projection.Parameters(nt)
		if err != nil {
			return "", err
		}
		maps.Copy(props, pp)
	}
	if o.PartitionFiltering {
		props["partition_filtering.enabled"] = "true"
	}
	if o.Compression != "" {
		props["parquet.compression"] = strings.ToUpper(o.Compression)
	}

	var b strings.Builder
	b.WriteString("CREATE EXTERNAL TABLE ")
	if o.IfNotExists {
		b.WriteString("IF NOT EXISTS ")
	}
	fmt.Fprintf(&b, "`%s`.`%s` (\n", nt.Database, nt.Name)
	writeCols(&b, nt.Schema.Columns)
	b.WriteString(")\n")
	if nt.Description != "" {
		fmt.Fprintf(&b, "COMMENT %s\n", sqlString(nt.Description))
	}
	if len(nt.Schema.PartitionKeys) > 0 {
		b.WriteString("PARTITIONED BY (\n")
		writeCols(&b, nt.Schema.PartitionKeys)
		b.WriteString(")\n")
	}
	b.WriteString("STORED AS PARQUET\n")
	fmt.Fprintf(&b, "LOCATION %s\n", sqlString(nt.Location))
	b.WriteString("TBLPROPERTIES (\n")
	keys := slices.Sorted(maps.Keys(props))
	for i, k := range keys {
		fmt.Fprintf(&b, "  %s=%s", sqlString(k), sqlString(props[k]))
		if i < len(keys)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString(")")
	return b.String(), nil
}

func writeCols(b *strings.Builder, cols []Column) {
	for i, c := range cols {
		fmt.Fprintf(b, "  `%s` %s", c.Name, c.Type)
		if c.Comment != "" {
			fmt.Fprintf(b, " COMMENT %s", sqlString(c.Comment))
		}
		if i < len(cols)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
}

// sqlString quotes s for Hive DDL: single quotes, with backslash and
// single quote escaped by a backslash.
func sqlString(s string) string {
	s = strings.ReplaceAll(s, `\`, `\\`)
	s = strings.ReplaceAll(s, `'`, `\'`)
	s = strings.ReplaceAll(s, "\n", `\n`)
	return "'" + s + "'"
}
