package zones

import (
	"reflect"
	"testing"
	"time"
)

func TestRetainable(t *testing.T) {
	type inner struct {
		A [4]int32
		T time.Time
	}
	for _, c := range []struct {
		v    any
		want bool
	}{
		{struct {
			ID   int64
			Name string
			At   time.Time
			In   inner
			OK   bool
			F    float32
			U    uint16
		}{}, true},
		{struct{ P *string }{}, false},
		{struct{ B []byte }{}, false},
		{struct{ M map[string]int }{}, false},
		{struct{ X any }{}, false},
		{struct{ In struct{ S []int } }{}, false},
		{struct{ A [2]*int }{}, false},
	} {
		if got := retainable(reflect.TypeOf(c.v)); got != c.want {
			t.Errorf("retainable(%T) = %v, want %v", c.v, got, c.want)
		}
	}
}
