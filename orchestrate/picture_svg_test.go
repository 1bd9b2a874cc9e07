package orchestrate

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"image"
	"image/color"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/srwiley/oksvg"
	"github.com/srwiley/rasterx"
)

// svgRect is a step's box as the picture draws it.
type svgRect struct{ x, y, w, h float64 }

// parseSVG parses an SVG picture as XML and returns the boxes of its steps
// by step name (the <title> of each step group starts with the name).
func parseSVG(t *testing.T, svg string) map[string]svgRect {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader(svg))
	boxes := map[string]svgRect{}
	var inTitle bool
	var name string
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("the SVG does not parse as XML: %v\n%s", err, svg)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			inTitle = tok.Name.Local == "title"
			if (tok.Name.Local == "rect" || tok.Name.Local == "polygon") && name != "" {
				boxes[name] = rectOf(tok)
				name = ""
			}
		case xml.CharData:
			if inTitle {
				name = strings.Fields(string(tok))[0]
			}
		case xml.EndElement:
			inTitle = false
		}
	}
	return boxes
}

func rectOf(e xml.StartElement) svgRect {
	var r svgRect
	for _, a := range e.Attr {
		v, _ := strconv.ParseFloat(a.Value, 64)
		switch a.Name.Local {
		case "x":
			r.x = v
		case "y":
			r.y = v
		case "width":
			r.w = v
		case "height":
			r.h = v
		case "points": // a choice's diamond: its bounding box
			var xs, ys []float64
			for _, pt := range strings.Fields(a.Value) {
				x, y, _ := strings.Cut(pt, ",")
				fx, _ := strconv.ParseFloat(x, 64)
				fy, _ := strconv.ParseFloat(y, 64)
				xs, ys = append(xs, fx), append(ys, fy)
			}
			r = svgRect{xs[3], ys[0], xs[1] - xs[3], ys[2] - ys[0]}
		}
	}
	return r
}

// rasterize draws an SVG picture into an image with a pure-Go rasteriser
// (oksvg + rasterx), as a viewer would.
func rasterize(t *testing.T, svg string) *image.RGBA {
	t.Helper()
	icon, err := oksvg.ReadIconStream(strings.NewReader(svg), oksvg.IgnoreErrorMode)
	if err != nil {
		t.Fatalf("oksvg cannot read the SVG: %v", err)
	}
	w, h := int(icon.ViewBox.W), int(icon.ViewBox.H)
	if w <= 0 || h <= 0 {
		t.Fatalf("the SVG has no size: viewBox %+v", icon.ViewBox)
	}
	icon.SetTarget(0, 0, float64(w), float64(h))
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	icon.Draw(rasterx.NewDasher(w, h, rasterx.NewScannerGV(w, h, img, img.Bounds())), 1)
	return img
}

// countColour counts the pixels of img that have colour hex ("#b7e4c7").
func countColour(img *image.RGBA, hex string) int {
	v, _ := strconv.ParseUint(hex[1:], 16, 32)
	want := color.RGBA{uint8(v >> 16), uint8(v >> 8), uint8(v), 0xff}
	n := 0
	for i := 0; i+3 < len(img.Pix); i += 4 {
		if img.Pix[i] == want.R && img.Pix[i+1] == want.G && img.Pix[i+2] == want.B {
			n++
		}
	}
	return n
}

// TestSVGPicture: the pipeline picture parses as XML, has a box for every
// step, puts branch steps inside their Parallel step's frame and later
// steps below earlier ones.
func TestSVGPicture(t *testing.T) {
	p := picturePipeline(false)
	svg, err := SVG(p)
	if err != nil {
		t.Fatal(err)
	}
	boxes := parseSVG(t, svg)
	for _, step := range []string{"list", "clean", "any-rows", "publish", "load", "notify", "settle", "crawl", "report"} {
		if _, ok := boxes[step]; !ok {
			t.Errorf("no box for step %q in:\n%s", step, svg)
		}
	}
	frame := boxes["publish"]
	for _, step := range []string{"load", "notify", "settle", "crawl"} {
		b := boxes[step]
		if b.x < frame.x || b.y < frame.y || b.x+b.w > frame.x+frame.w || b.y+b.h > frame.y+frame.h {
			t.Errorf("branch step %s %+v lies outside the publish frame %+v", step, b, frame)
		}
	}
	for _, order := range [][2]string{{"list", "clean"}, {"clean", "publish"}, {"publish", "report"}, {"settle", "crawl"}} {
		if a, b := boxes[order[0]], boxes[order[1]]; a.y+a.h >= b.y {
			t.Errorf("%s %+v is not above %s %+v", order[0], a, order[1], b)
		}
	}
	if strings.Contains(svg, "succeeded") {
		t.Error("a picture without a run shows states")
	}
}

// TestSVGRunPicture: the run picture colours each step by its state, and
// a pure-Go rasteriser draws it (the PNG is written beside the test's
// temporary files; LAKEKIT_KEEP_PNG=dir keeps a copy to look at).
func TestSVGRunPicture(t *testing.T) {
	p := New("colours",
		GoStep("extract", nop),
		GoStep("load", func(ctx context.Context, in Input) (Output, error) { return nil, errors.New("down") }).After("extract").Catch("notify"),
		GoStep("publish", nop).After("load"),
		GoStep("notify", nop),
	)
	r, _ := newRunner(t, nil)
	run, err := r.Run(context.Background(), p, nil)
	if err != nil {
		t.Fatal(err)
	}
	svg, err := SVGRun(p, run)
	if err != nil {
		t.Fatal(err)
	}
	parseSVG(t, svg)
	if got := svgText(`a<b & "c"`); got != "a&lt;b &amp; &#34;c&#34;" {
		t.Errorf("svgText escapes to %q", got)
	}
	img := rasterize(t, svg)
	for st, min := range map[State]int{StateSucceeded: 2000, StateFailed: 2000, StateSkipped: 2000} {
		if n := countColour(img, stateColors[st]); n < min {
			t.Errorf("the drawn picture has %d pixels of the %s colour %s, want a step's box (≥ %d)", n, st, stateColors[st], min)
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	if dir := os.Getenv("LAKEKIT_KEEP_PNG"); dir != "" {
		if err := os.WriteFile(filepath.Join(dir, "run.png"), buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
