package zones

import (
	"reflect"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding"

	"github.com/lakekit/lakekit/internal/structtag"
)

// The encodings of the columns a Writer writes, where the row type's tags
// name none (a tag's encoding, such as `parquet:",dict"`, always wins).
// Chosen on the write benchmark's rows (internal/bench: 1M event rows, 100
// partitions, 16 KiB pages), against parquet-go's defaults (PLAIN for
// numbers, DELTA_LENGTH_BYTE_ARRAY for strings; 50.6 MB) and DuckDB's COPY
// of the same rows (46.2 MB; PLAIN, and a dictionary for its
// low-cardinality string column):
//   - 64- and 32-bit integers (ids, timestamps, dates): DELTA_BINARY_PACKED.
//     An increasing id column fell from 1.73 to 0.06 MB and timestamps spread
//     over a day from 7.06 to 4.95 MB; DuckDB's PLAIN + zstd wrote 1.50 and
//     5.97.
//   - strings: PLAIN. Zstd compresses a value together with its length
//     prefix; 60-character URLs took 32.5 MB against 33.2 with
//     DELTA_LENGTH_BYTE_ARRAY.
//   - strings with few distinct values in the first rows written (see
//     dictionaryColumns): RLE_DICTIONARY, as DuckDB does by itself; a
//     10-value country column fell from 0.88 MB (PLAIN) to 0.53. A
//     dictionary on every string column instead cost 17% more bytes on a
//     column with 95% distinct values (its first pages are written as a
//     dictionary until it outgrows DictionaryMaxBytes).
//
// zstd.SpeedBetterCompression on the text columns saved 0.03% of the bytes
// at these 16 KiB pages (each page is compressed alone) for more
// compression time, so every column keeps the dataset's codec.
var defaultEncodings = []parquet.WriterOption{
	parquet.DefaultEncodingFor(parquet.Int64, &parquet.DeltaBinaryPacked),
	parquet.DefaultEncodingFor(parquet.Int32, &parquet.DeltaBinaryPacked),
	parquet.DefaultEncodingFor(parquet.ByteArray, &parquet.Plain),
}

// Dictionary sampling: a top-level string column gets a dictionary when
// at most 1 in dictionaryRatio of the first rows' values (up to
// dictionarySample rows, at least dictionaryMinSample) are distinct. Should
// a column's values spread out later, its dictionary stops at
// dictionaryMaxBytes and parquet-go writes the rest of the file PLAIN.
const (
	dictionarySample    = 4096
	dictionaryMinSample = 64
	dictionaryRatio     = 8
	dictionaryMaxBytes  = 64 << 10
)

// fileOptions are the parquet-go options of each file the writer opens:
// the dataset's, the default encodings and, once sampled, a schema naming
// the dictionary columns.
func (w *Writer[T]) fileOptions(pool parquet.BufferPool) []parquet.WriterOption {
	opts := append(w.d.writerOptions(pool), defaultEncodings...)
	if w.encSchema != nil {
		opts = append(opts, w.encSchema, parquet.DictionaryMaxBytes(dictionaryMaxBytes))
	}
	return opts
}

// sampleEncodings picks the dictionary columns from the first batch of
// at least dictionaryMinSample rows; files opened before keep PLAIN.
func (w *Writer[T]) sampleEncodings(rows []T) {
	if w.encSampled || len(rows) < dictionaryMinSample {
		return
	}
	w.encSampled = true
	dict := dictionaryColumns(w.d.schema, rows[:min(len(rows), dictionarySample)])
	if len(dict) > 0 {
		w.encSchema = withEncodings(w.d.schema, dict, &parquet.RLEDictionary)
	}
}

// dictionaryColumns returns the stored top-level string columns of T (with
// no encoding in their tags) whose values in rows are at most
// 1/dictionaryRatio distinct.
func dictionaryColumns[T any](schema *parquet.Schema, rows []T) map[string]bool {
	rt := reflect.TypeOf((*T)(nil)).Elem()
	limit := len(rows) / dictionaryRatio
	out := map[string]bool{}
	for i := 0; i < rt.NumField(); i++ {
		f := rt.Field(i)
		if !f.IsExported() || f.Anonymous || f.Type.Kind() != reflect.String {
			continue
		}
		name, present, skip := structtag.Name(f, "parquet")
		if skip {
			continue
		}
		if !present || name == "" {
			name = f.Name
		}
		col := schemaField(schema, name)
		if col == nil || !col.Leaf() || col.Type().Kind() != parquet.ByteArray || col.Encoding() != nil {
			continue
		}
		seen := make(map[string]struct{}, limit+1)
		for j := range rows {
			seen[reflect.ValueOf(&rows[j]).Elem().Field(i).String()] = struct{}{}
			if len(seen) > limit {
				break
			}
		}
		if len(seen) <= limit {
			out[name] = true
		}
	}
	return out
}

func schemaField(schema *parquet.Schema, name string) parquet.Field {
	for _, f := range schema.Fields() {
		if f.Name() == name {
			return f
		}
	}
	return nil
}

// withEncodings returns schema with enc on the named top-level columns.
// Column order, types and names are unchanged, so parquet-go still writes
// T through its fast path (the schemas are EqualNodes).
func withEncodings(schema *parquet.Schema, names map[string]bool, enc encoding.Encoding) *parquet.Schema {
	fields := schema.Fields()
	root := &encodedGroup{Node: schema, fields: make([]parquet.Field, len(fields))}
	for i, f := range fields {
		if names[f.Name()] {
			f = encodedField{Field: f, enc: enc}
		}
		root.fields[i] = f
	}
	return parquet.NewSchema(schema.Name(), root)
}

// encodedGroup is a group node with replaced fields, in the same order.
type encodedGroup struct {
	parquet.Node
	fields []parquet.Field
}

func (g *encodedGroup) Fields() []parquet.Field { return g.fields }

// encodedField is a column with another encoding.
type encodedField struct {
	parquet.Field
	enc encoding.Encoding
}

func (f encodedField) Encoding() encoding.Encoding { return f.enc }
