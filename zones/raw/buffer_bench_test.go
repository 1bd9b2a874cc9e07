package raw_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/zones/raw"
)

// BenchmarkBufferAdd sends 200,000 records of about 200 bytes (the
// quickstart's load) through a Buffer into a file lake (with fsync), from 1
// and from 8 goroutines, and reports records/s including Close (every
// record landed).
func BenchmarkBufferAdd(b *testing.B) {
	const n = 200_000
	recs := make([][]byte, n)
	for i := range recs {
		r := fmt.Sprintf(`{"event_id":%d,"ts":"2024-05-01T12:%02d:%02d.%06dZ","user":"u%06d","page":"/products/%d","referrer":"https://example.com/search?q=item%d","agent":"Mozilla/5.0 (X11; Linux x86_64)","ms":%d}`,
			i, i/60%60, i%60, i%1000000, i%50000, i%997, i%313, i%5000)
		recs[i] = []byte(r + strings.Repeat(" ", max(0, 200-len(r))))
	}
	for _, c := range []struct {
		comp raw.BufferCompression
		g    int
	}{{raw.BufferUncompressed, 1}, {raw.BufferUncompressed, 8}, {raw.BufferZstd, 8}, {raw.BufferGzip, 8}} {
		name := string(c.comp)
		if name == "" {
			name = "none"
		}
		b.Run(fmt.Sprintf("%s/goroutines=%d", name, c.g), func(b *testing.B) {
			ctx := context.Background()
			var bytesIn int64
			for _, r := range recs {
				bytesIn += int64(len(r) + 1)
			}
			b.SetBytes(bytesIn)
			b.ReportAllocs()
			var total time.Duration
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				lk, err := lake.Open(ctx, "file://"+b.TempDir(), nil)
				if err != nil {
					b.Fatal(err)
				}
				buf, err := raw.NewBuffer(lk, "bench", "events", &raw.BufferOptions{Compression: c.comp})
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				start := time.Now()
				var wg sync.WaitGroup
				for g := 0; g < c.g; g++ {
					wg.Add(1)
					go func(g int) {
						defer wg.Done()
						for j := g; j < n; j += c.g {
							if err := buf.Add(ctx, recs[j]); err != nil {
								b.Error(err)
								return
							}
						}
					}(g)
				}
				wg.Wait()
				if err := buf.Close(ctx); err != nil {
					b.Fatal(err)
				}
				total += time.Since(start)
				b.StopTimer()
				if s := buf.Stats(); s.RecordsFlushed != n {
					b.Fatalf("flushed %d records, want %d", s.RecordsFlushed, n)
				}
				lk.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(n*b.N)/total.Seconds(), "records/s")
		})
	}
}
