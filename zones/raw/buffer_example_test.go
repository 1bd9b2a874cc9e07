package raw_test

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/zones/raw"
)

// An ingestion service adds events from many goroutines; the buffer lands
// them in the raw zone as zstd-compressed JSON-lines files, here every two
// records (in production: by size, count or age), and Close flushes the
// rest.
func ExampleBuffer() {
	ctx := context.Background()
	lk, err := lake.Open(ctx, "mem://", nil)
	if err != nil {
		panic(err)
	}
	defer lk.Close()

	b, err := raw.NewBuffer(lk, "web", "clicks", &raw.BufferOptions{
		Compression:          raw.BufferZstd,
		FlushRecords:         2,
		MaxConcurrentFlushes: 1,
		OnFlush: func(f raw.BufferFlush) {
			fmt.Printf("flush %d: %d records (%s)\n", f.Seq, f.Records, f.Reason)
		},
	})
	if err != nil {
		panic(err)
	}
	for i := 1; i <= 5; i++ {
		rec, _ := json.Marshal(map[string]any{"user": i, "page": "/home"})
		if err := b.Add(ctx, rec); err != nil {
			panic(err)
		}
	}
	if err := b.Close(ctx); err != nil { // flushes the last record
		panic(err)
	}
	st := b.Stats()
	fmt.Println("landed", st.RecordsFlushed, "records in", st.Flushes, "files")
	for o, err := range raw.List(ctx, lk, "web", "clicks", nil) {
		if err != nil {
			panic(err)
		}
		fmt.Println(o.ContentEncoding, o.Records)
	}
	// Output:
	// flush 1: 2 records (count)
	// flush 2: 2 records (count)
	// flush 3: 1 records (close)
	// landed 5 records in 3 files
	// zstd 2
	// zstd 2
	// zstd 1
}
