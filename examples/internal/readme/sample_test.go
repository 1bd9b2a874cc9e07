package readme

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
)

// TestSample runs the README's code sample on a temporary lake.
func TestSample(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), t.TempDir(), &out); err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(out.String()); got != "[{/ 1} {/cart 1}]" {
		t.Fatalf("the sample printed %q", got)
	}
}

// TestREADMEShowsSample: examples/README.md and the root README.md show
// exactly the sample's code.
func TestREADMEShowsSample(t *testing.T) {
	src, err := os.ReadFile("sample.go")
	if err != nil {
		t.Fatal(err)
	}
	s := string(src)
	code := strings.TrimSpace(s[strings.Index(s, "// README:BEGIN")+len("// README:BEGIN") : strings.Index(s, "// README:END")])
	for _, path := range []string{"../../README.md", "../../../README.md"} {
		readme, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(readme), "```go\n"+code+"\n```") {
			t.Errorf("%s does not show the sample as in sample.go:\n%s", path, code)
		}
	}
}
