package main

import (
	"bytes"
	"encoding/xml"
	"errors"
	"image"
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

// svgTexts parses an SVG document as XML and returns its text content,
// one entry per <text> or <title> element.
func svgTexts(t *testing.T, svg []byte) []string {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(svg))
	var texts []string
	var in bool
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return texts
		}
		if err != nil {
			t.Fatalf("the SVG does not parse as XML: %v", err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			in = tok.Name.Local == "text" || tok.Name.Local == "title"
		case xml.CharData:
			if in {
				texts = append(texts, string(tok))
			}
		case xml.EndElement:
			in = false
		}
	}
}

// TestHistorySVG: history -svg writes a picture that parses as XML, labels
// every version and partition, and that a pure-Go rasteriser (oksvg +
// rasterx) draws to PNG with each partition's colour showing.
func TestHistorySVG(t *testing.T) {
	l := localLake(t)
	out := filepath.Join(t.TempDir(), "history.svg")
	r := ok(t, nil, "history", "-lake", l.url, "web.page_views", "-svg", out)
	if !strings.Contains(r.stdout, "picture: "+out) {
		t.Errorf("history -svg does not say where the picture is:\n%s", r.stdout)
	}
	svg, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	texts := strings.Join(svgTexts(t, svg), "\n")
	for _, want := range []string{"v1", "v2", "v3", "dt=2024-05-01", "dt=2024-05-02", "dt=2024-05-03", "dt=2024-05-04",
		"version 3: " + strconv.Itoa(rowsPV) + " rows", "version 1: " + strconv.Itoa(rowsV1) + " rows",
		"version 3 dt=2024-05-01: 4 rows", "version 2 dt=2024-05-02: 25 rows", "web.page_views: rows per version, by partition"} {
		if !strings.Contains(texts, want) {
			t.Errorf("the picture lacks %q; its texts:\n%s", want, texts)
		}
	}
	img := rasterizeSVG(t, svg)
	for i := range 4 { // the four partitions' colours
		if n := pixels(img, palette[i]); n < 100 {
			t.Errorf("the drawn picture has %d pixels of partition %d's colour %s", n, i, palette[i])
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	if dir := os.Getenv("LAKEKIT_KEEP_PNG"); dir != "" {
		os.WriteFile(filepath.Join(dir, "history.png"), buf.Bytes(), 0o644)
		os.WriteFile(filepath.Join(dir, "history.svg"), svg, 0o644)
	}
}

// rasterizeSVG draws an SVG picture as a viewer would.
func rasterizeSVG(t *testing.T, svg []byte) *image.RGBA {
	t.Helper()
	icon, err := oksvg.ReadIconStream(bytes.NewReader(svg), oksvg.IgnoreErrorMode)
	if err != nil {
		t.Fatalf("oksvg cannot read the picture: %v", err)
	}
	w, h := int(icon.ViewBox.W), int(icon.ViewBox.H)
	if w <= 0 || h <= 0 {
		t.Fatalf("the picture has no size: %+v", icon.ViewBox)
	}
	icon.SetTarget(0, 0, float64(w), float64(h))
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	icon.Draw(rasterx.NewDasher(w, h, rasterx.NewScannerGV(w, h, img, img.Bounds())), 1)
	return img
}

// pixels counts the pixels of colour hex ("#4e79a7").
func pixels(img *image.RGBA, hex string) int {
	v, _ := strconv.ParseUint(hex[1:], 16, 32)
	n := 0
	for i := 0; i+3 < len(img.Pix); i += 4 {
		if img.Pix[i] == uint8(v>>16) && img.Pix[i+1] == uint8(v>>8) && img.Pix[i+2] == uint8(v) {
			n++
		}
	}
	return n
}

// TestProgress: on a terminal the status line is drawn and cleared; when
// output is piped nothing is drawn.
func TestProgress(t *testing.T) {
	var term bytes.Buffer
	p := (&cli{stderr: &term, progress: true}).startProgress("checking")
	p.set("checking web.page_views (1/2 tables)")
	p.end()
	p.end() // a deferred end after an explicit one
	if s := term.String(); !strings.HasPrefix(s, "\r\x1b[Kchecking") || !strings.HasSuffix(s, "\r\x1b[K") {
		t.Errorf("terminal progress %q", s)
	}
	var pipe bytes.Buffer
	p = (&cli{stderr: &pipe, progress: false}).startProgress("checking")
	p.set("checking 1/2")
	p.end()
	if pipe.Len() != 0 {
		t.Errorf("progress drawn into a pipe: %q", pipe.String())
	}
	if isTerminal(&pipe) {
		t.Error("a buffer is taken for a terminal")
	}
}
