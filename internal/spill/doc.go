// Package spill is the memory-bounded buffer allocator zones' writer keeps
// Parquet pages and unfinished files in.
//
// A Pool is a parquet.BufferPool (parquet.ColumnPageBuffers takes it) and
// hands out Buffers, each an io.ReadWriteSeeker, io.ReaderAt and
// io.WriterTo. A buffer lives in memory while the pool's in-memory total
// stays within its budget; a write that would push the total over it
// moves that buffer to the pool's one temporary file, unlinked as soon as
// it is created, so a process killed at any point leaves nothing behind.
// Releasing a buffer (PutBuffer) gives its memory back to the budget and
// its file extents to the pool; buffers and chunks are reused.
//
// What it owns: the budget accounting, the memory chunks, the spill file
// and its extents. What it does not: choosing the budget (zones'
// Options.MemoryBudget and zones.DefaultMemoryBudget) or what is written
// into the buffers.
package spill
