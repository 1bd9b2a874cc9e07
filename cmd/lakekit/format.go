// Output: aligned tables, numbers, and progress on a terminal.

package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// table is text laid out in aligned columns; right-aligned columns hold
// numbers.
type table struct {
	head  []string
	right []bool
	rows  [][]string
}

// newTable returns a table with the given headings; a heading that starts
// with ">" names a right-aligned column.
func newTable(head ...string) *table {
	t := &table{}
	for _, h := range head {
		r := strings.HasPrefix(h, ">")
		t.head = append(t.head, strings.TrimPrefix(h, ">"))
		t.right = append(t.right, r)
	}
	return t
}

// add appends a row (one cell per heading).
func (t *table) add(cells ...string) { t.rows = append(t.rows, cells) }

// print writes the table, two spaces between columns and no trailing
// blanks.
func (t *table) print(w io.Writer) {
	width := make([]int, len(t.head))
	for _, r := range append([][]string{t.head}, t.rows...) {
		for i, c := range r {
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	for _, r := range append([][]string{t.head}, t.rows...) {
		var b strings.Builder
		for i, c := range r {
			pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(c))
			if i > 0 {
				b.WriteString("  ")
			}
			if t.right[i] {
				b.WriteString(pad + c)
			} else {
				b.WriteString(c + pad)
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
}

// fmtCount formats n with thousands separators.
func fmtCount(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// fmtBytes formats a size in B, KiB, MiB or GiB.
func fmtBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// fmtTime formats a commit time in UTC to the second.
func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

// orDash returns s, or "-" when it is empty.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// isTerminal reports whether w is a terminal (a character device), where
// progress may be drawn; a pipe or a file gets none.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// progress is one status line redrawn in place on a terminal: what a long
// operation is doing and for how long. It draws nothing when stderr is not
// a terminal.
type progress struct {
	w     io.Writer
	on    bool
	start time.Time
	mu    sync.Mutex
	text  string
	stop  chan struct{}
	done  sync.WaitGroup
	once  sync.Once
}

// startProgress shows label and the time spent, redrawn every 200ms until
// end is called.
func (env *cli) startProgress(label string) *progress {
	p := &progress{w: env.stderr, on: env.progress, start: time.Now(), text: label, stop: make(chan struct{})}
	if !p.on {
		return p
	}
	p.done.Add(1)
	go func() {
		defer p.done.Done()
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			p.draw()
			select {
			case <-p.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return p
}

// set changes what the line says ("checking 3/40 tables").
func (p *progress) set(format string, args ...any) {
	p.mu.Lock()
	p.text = fmt.Sprintf(format, args...)
	p.mu.Unlock()
}

func (p *progress) draw() {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "\r\x1b[K%s … %.1fs", p.text, time.Since(p.start).Seconds())
}

// end clears the line; later calls do nothing.
func (p *progress) end() {
	if !p.on {
		return
	}
	p.once.Do(func() {
		close(p.stop)
		p.done.Wait()
		fmt.Fprint(p.w, "\r\x1b[K")
	})
}
