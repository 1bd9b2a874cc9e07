package transform

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
	"unsafe"
)

type planName string

// planRec has a field of every kind jsonPlan reads itself, and of kinds
// it hands to encoding/json.
type planRec struct {
	ID     int64           `json:"id"`
	Small  int8            `json:"small"`
	U      uint16          `json:"u"`
	F32    float32         `json:"f32"`
	F      float64         `json:"f"`
	S      string          `json:"s"`
	PS     *string         `json:"ps"`
	PI     *int            `json:"pi"`
	B      bool            `json:"b"`
	At     time.Time       `json:"at"`
	PAt    *time.Time      `json:"pat"`
	Tags   []string        `json:"tags"`
	M      map[string]int  `json:"m"`
	Any    any             `json:"any"`
	Nested struct{ X int } `json:"nested"`
	Addr   netip.Addr      `json:"addr"` // a TextUnmarshaler
	Raw    json.RawMessage `json:"raw"`
	Name   planName
	Dash   string `json:"-,"`
	Weird  string `json:"a\\b"`
	Skip   string `json:"-"`
	hidden int
}

// planLines are records chosen to sit at the edges of what the plan
// vouches for; each must decode exactly as encoding/json decodes it.
var planLines = []string{
	`{"id":1,"small":-128,"u":65535,"f32":1.5,"f":-0.25e-3,"s":"plain","ps":"p","pi":7,"b":true,"at":"2024-05-01T10:00:00Z","pat":"2024-05-01T10:00:00.123456Z"}`,
	`{"tags":["a","b"],"m":{"x":1},"any":{"k":[1,"2",null]},"nested":{"X":3},"addr":"10.0.0.1","raw":{"a": [1, 2]},"Name":"n","-":"dash","Weird":"w"}`,
	` { "ID" : 2 , "S":"case", "NAME":"fold", "nAmE":"fold2" } `,
	`{"id":3,"id":4,"s":"dup","s":null,"ps":"x","ps":null,"at":null,"raw":null,"tags":null}`,
	`{"s":"esc \" \\ \/ \b \f \n \r \t \u00e9 \ud83d\ude00 \ud800 \ud800\u0041 \udc00x"}`,
	`{"s":"utf8 ü 日本"}`, "{\"s\":\"bad \xff utf8\"}", "{\"s\":\"esc \\u0041 bad \xfe\"}", "{\"\xc3\xa9\":1}",
	`{"s":"ctrl ` + "\x01" + `"}`, `{"s":"bad \x escape"}`, `{"s":"short \u12"}`, `{"s":"unterminated}`,
	`{"small":128}`, `{"small":-129}`, `{"u":-1}`, `{"id":1.0}`, `{"id":1e2}`, `{"id":-0}`, `{"id":01}`, `{"id":-}`,
	`{"f32":1e39}`, `{"f":1e400}`, `{"f":1.}`, `{"f":.5}`, `{"f":1E+2}`, `{"f":-1e-2}`, `{"f":"1"}`, `{"id":"1"}`,
	`{"s":1}`, `{"b":"true"}`, `{"b":tru}`, `{"b":nul}`, `{"b":null}`, `{"pi":null}`, `{"pi":"x"}`,
	`{"at":"yesterday"}`, `{"at":1}`, `{"pat":null}`, `{"addr":"not an ip"}`, `{"addr":null}`, `{"nested":{"X":"s"}}`,
	`{"unknown":{"deep":[[[{"a":null}]]],"s":"\u0000"},"id":5}`, `{"unknown":[1,2,}`, `{"unknown":"\q"}`,
	`{"hidden":9,"Skip":"s"}`, `{}`, `{ }`, `{"id":1,}`, `{"id":1 "s":"x"}`, `{"id" 1}`, `{,}`, `{"id":1}}`,
	`{"id":1}{"id":2}`, `{"id":1} {"id":2}`, `{"id":1}x`, `[1,2]`, `"str"`, `null`, `12`, `{"id":1`,
	`{"tags":["a",]}`, `{"any":[` + strings.Repeat("[", 600) + strings.Repeat("]", 600) + `]}`,
}

// decodeAll decodes data with JSONLines' fast path on or off.
func decodeAll[T any](t testing.TB, data []byte, strict, fast bool) []Decoded[T] {
	t.Helper()
	var out []Decoded[T]
	dec := jsonLines[T](&JSONOptions{Strict: strict, MaxLineBytes: 1 << 16}, fast)
	for d, err := range dec.Decode(context.Background(), bytes.NewReader(data), "t") {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, d)
	}
	return out
}

// sameDecoding fails t when the fast path's records differ from
// encoding/json's in any way: rows, errors, positions, bytes.
func sameDecoding[T any](t testing.TB, data []byte, strict bool) {
	t.Helper()
	fast, slow := decodeAll[T](t, data, strict, true), decodeAll[T](t, data, strict, false)
	if len(fast) != len(slow) {
		t.Fatalf("strict=%v %q: %d records with the fast path, %d without", strict, data, len(fast), len(slow))
	}
	for i := range fast {
		f, s := fast[i], slow[i]
		if fmt.Sprint(f.Err) != fmt.Sprint(s.Err) || !reflect.DeepEqual(f.Record, s.Record) || !reflect.DeepEqual(f.Row, s.Row) {
			t.Fatalf("strict=%v record %d of %q:\nfast %+v err %v\nslow %+v err %v", strict, i, data, f, f.Err, s, s.Err)
		}
	}
}

func TestJSONPlanMatchesEncodingJSON(t *testing.T) {
	for _, strict := range []bool{false, true} {
		for _, l := range planLines {
			sameDecoding[planRec](t, []byte(l+"\n"), strict)
		}
		sameDecoding[planRec](t, []byte(strings.Join(planLines, "\n")), strict)
		sameDecoding[order](t, []byte(jsonInput), strict)
	}
}

// TestJSONPlanMutations: records a byte or three away from the edge
// cases (seeded, so a failure repeats) decode exactly as encoding/json
// decodes them — the fuzz target's check, run on every test.
func TestJSONPlanMutations(t *testing.T) {
	rng := rand.New(rand.NewPCG(16, 16))
	const alphabet = "{}[]\":,\\ -+0123456789eE.tfnulrsabxyzIDS\x00\x1f\x7f\xc3\xa9\xff\t\n"
	n := 4000
	if testing.Short() {
		n = 500
	}
	for range n {
		b := []byte(planLines[rng.IntN(len(planLines))])
		for range 1 + rng.IntN(3) {
			i := rng.IntN(len(b) + 1)
			c := alphabet[rng.IntN(len(alphabet))]
			switch rng.IntN(3) {
			case 0:
				b = append(b[:i], append([]byte{c}, b[i:]...)...)
			case 1:
				if i < len(b) {
					b = append(b[:i], b[i+1:]...)
				}
			default:
				if i < len(b) {
					b[i] = c
				}
			}
		}
		sameDecoding[planRec](t, b, rng.IntN(2) == 0)
	}
}

// TestJSONPlanTakesTheFastPath: the lines the bench and most producers
// write are read by the plan, not handed back to encoding/json.
func TestJSONPlanTakesTheFastPath(t *testing.T) {
	p := newJSONPlan(reflect.TypeFor[planRec](), false)
	if p == nil {
		t.Fatal("no plan for planRec")
	}
	for _, l := range planLines[:6] {
		var r planRec
		l = strings.TrimSpace(l)
		if end, ok := p.decode([]byte(l), unsafe.Pointer(&r)); !ok || end != len(l) {
			t.Errorf("plan refused %s (ok=%v end=%d of %d)", l, ok, end, len(l))
		}
	}
	type embedded struct{ order }
	type stringOpt struct {
		N int `json:"n,string"`
	}
	type twice struct {
		A string `json:"X"`
		X string
	}
	for _, typ := range []reflect.Type{reflect.TypeFor[embedded](), reflect.TypeFor[stringOpt](), reflect.TypeFor[twice](),
		reflect.TypeFor[map[string]any](), reflect.TypeFor[time.Time](), reflect.TypeFor[*order]()} {
		if newJSONPlan(typ, false) != nil {
			t.Errorf("a plan for %s, whose decoding it does not reproduce", typ)
		}
	}
}

// FuzzJSONPlan: whatever the input, the fast path yields exactly what
// encoding/json alone yields.
func FuzzJSONPlan(f *testing.F) {
	for _, l := range planLines {
		f.Add([]byte(l), false)
		f.Add([]byte(l), true)
	}
	f.Fuzz(func(t *testing.T, data []byte, strict bool) {
		sameDecoding[planRec](t, data, strict)
	})
}

// BenchmarkJSONLines measures decoding bench-like event lines.
func BenchmarkJSONLines(b *testing.B) {
	var buf bytes.Buffer
	for i := range 10000 {
		fmt.Fprintf(&buf, `{"id":%d,"customer":"user-%d","amount":%d.25,"country":"DE","email":null,"at":"2024-05-01T10:00:%02d.123456Z"}`+"\n", i, i%977, i%1000, i%60)
	}
	for _, fast := range []bool{false, true} {
		b.Run(fmt.Sprintf("fast=%v", fast), func(b *testing.B) {
			b.SetBytes(int64(buf.Len()))
			for b.Loop() {
				if n := len(decodeAll[order](b, buf.Bytes(), false, fast)); n != 10000 {
					b.Fatal(n)
				}
			}
		})
	}
}
