package zones

// DefaultMemoryBudget is the memory a writer keeps Parquet pages and
// unfinished files in when Options.MemoryBudget is 0. Chosen on the
// 100-partition bench (internal/bench memory_10m: 10M rows must peak at
// ≤ 256 MiB RSS and ≤ 1.3× the peak at 1M rows): the buffers live on the Go
// heap, so with the default GOGC a budget costs up to about twice its size
// in RSS. 32 MiB peaked at 210 MiB (1M rows: 188), 48 MiB at 252 MiB and
// 64 MiB at 280 MiB; in zones' BenchmarkWrite (200k rows, 100 partitions)
// any budget of 16 MiB or more wrote 1.5–3× faster than spilling
// everything. The pool that enforces it is internal/spill.
const DefaultMemoryBudget = 32 << 20
