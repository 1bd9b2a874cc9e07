package structtag_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/lakekit/lakekit/internal/structtag"
	"github.com/lakekit/lakekit/internal/structtag/structtagtest"
)

// TestFidelityOneGrammarFields checks the grammar itself against the
// shared cases: the columns and partition keys, in order, with index
// paths that reach the Go field.
func TestFidelityOneGrammarFields(t *testing.T) {
	for _, tc := range structtagtest.Cases {
		fields, err := structtag.Fields(tc.Type)
		if err != nil {
			t.Fatalf("%s: %v", tc.Name, err)
		}
		var cols, keys []string
		for _, f := range fields {
			if got := tc.Type.FieldByIndex(f.Index); got.Name != f.GoName() {
				t.Errorf("%s: field %s: index %v reaches %s", tc.Name, f.GoName(), f.Index, got.Name)
			}
			if f.Lakekit.Partition {
				keys = append(keys, f.Name)
			} else {
				cols = append(cols, f.Name)
			}
		}
		if !reflect.DeepEqual(cols, names(tc.Columns)) || !reflect.DeepEqual(keys, names(tc.Keys)) {
			t.Errorf("%s: columns %v, keys %v; want %v, %v", tc.Name, cols, keys, names(tc.Columns), names(tc.Keys))
		}
		if _, err := structtag.StorageOptions(tc.Type); err != nil {
			t.Errorf("%s: StorageOptions: %v", tc.Name, err)
		}
	}
	for _, typ := range structtagtest.Refused {
		_, err1 := structtag.Fields(typ)
		_, err2 := structtag.StorageOptions(typ)
		if !errors.Is(err1, structtag.ErrInvalid) && !errors.Is(err2, structtag.ErrInvalid) {
			t.Errorf("%v: accepted (Fields %v, StorageOptions %v)", typ, err1, err2)
		}
	}
}

func names(cs []structtagtest.Column) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Name)
	}
	return out
}

// TestParseLakekit covers the lakekit tag's options, the comment that
// runs on over commas, and unknown options.
func TestParseLakekit(t *testing.T) {
	type row struct {
		A string `lakekit:"partition,name=dt"`
		B string `lakekit:"comment=mobile, landline or fax,pii,classification=restricted"`
		C string `lakekit:"bogus"`
	}
	rt := reflect.TypeFor[row]()
	a, _ := structtag.ParseLakekit(rt.Field(0))
	b, _ := structtag.ParseLakekit(rt.Field(1))
	_, err := structtag.ParseLakekit(rt.Field(2))
	if !a.Partition || a.Name != "dt" || b.Comment != "mobile, landline or fax" || b.Classification != "restricted" || !errors.Is(err, structtag.ErrInvalid) {
		t.Errorf("got %+v, %+v, %v", a, b, err)
	}
}
