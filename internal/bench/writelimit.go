package main

import (
	"encoding/binary"
	"math"
	"runtime"
	"sync"
	"time"

	"github.com/parquet-go/parquet-go/compress/zstd"

	"github.com/lakekit/lakekit/internal/eventgen"
)

// zstdLimit is the write scenarios' ceiling from compression alone: the
// rows' column values laid out as PLAIN pages of the writer's page size
// (16 KiB), compressed with parquet-go's zstd codec (the writer's) on
// GOMAXPROCS goroutines. No writer of these rows with this codec can be
// faster than RowsPerSec on this machine; how close lakekit gets says how
// much of its time is compression.
type zstdLimit struct {
	RowsPerSec    float64
	MBPerSecCore  float64 // uncompressed MB/s of one core
	RawBytes      int64
	CompressedOut int64
	Cores         int
}

const limitPageSize = 16 << 10

func measureZstdLimit(rows []eventgen.Event) zstdLimit {
	pages := plainPages(rows)
	cores := runtime.GOMAXPROCS(0)
	var raw int64
	for _, p := range pages {
		raw += int64(len(p))
	}
	codec := &zstd.Codec{}
	var out int64
	var mu sync.Mutex
	next := make(chan []byte, len(pages))
	for _, p := range pages {
		next <- p
	}
	close(next)
	t0 := time.Now()
	var wg sync.WaitGroup
	for range cores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var dst []byte
			var n int64
			for p := range next {
				dst, _ = codec.Encode(dst[:0], p)
				n += int64(len(dst))
			}
			mu.Lock()
			out += n
			mu.Unlock()
		}()
	}
	wg.Wait()
	d := math.Max(time.Since(t0).Seconds(), 1e-9)
	return zstdLimit{RowsPerSec: float64(len(rows)) / d, MBPerSecCore: float64(raw) / 1e6 / d / float64(cores),
		RawBytes: raw, CompressedOut: out, Cores: cores}
}

// plainPages lays each column of rows out as PLAIN values (strings with
// their 4-byte length) cut into pages of limitPageSize bytes.
func plainPages(rows []eventgen.Event) [][]byte {
	var pages [][]byte
	cols := []func(*eventgen.Event, []byte) []byte{
		func(e *eventgen.Event, b []byte) []byte { return binary.LittleEndian.AppendUint64(b, uint64(e.ID)) },
		func(e *eventgen.Event, b []byte) []byte {
			return binary.LittleEndian.AppendUint64(b, uint64(e.TS.UnixMicro()))
		},
		func(e *eventgen.Event, b []byte) []byte { return appendPlainString(b, e.User) },
		func(e *eventgen.Event, b []byte) []byte {
			return binary.LittleEndian.AppendUint64(b, math.Float64bits(e.Amount))
		},
		func(e *eventgen.Event, b []byte) []byte { return appendPlainString(b, e.Country) },
		func(e *eventgen.Event, b []byte) []byte { return appendPlainString(b, e.URL) },
	}
	for _, col := range cols {
		page := make([]byte, 0, limitPageSize+128)
		for i := range rows {
			page = col(&rows[i], page)
			if len(page) >= limitPageSize {
				pages = append(pages, page)
				page = make([]byte, 0, limitPageSize+128)
			}
		}
		if len(page) > 0 {
			pages = append(pages, page)
		}
	}
	return pages
}

func appendPlainString(b []byte, s string) []byte {
	b = binary.LittleEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}
