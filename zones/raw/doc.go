// Package raw owns the raw zone's input: what lands there, how it is
// listed, and in which order the processing layer reads it.
//
// # Landing
//
// Land puts bytes as they are (JSON lines, CSV, any file) into the raw zone
// under <source>/<dataset>/ingest_date=YYYY-MM-DD/<ingest time>-<sha256
// prefix><ext>, with metadata (the Meta* keys: source, dataset, content type
// and encoding, ingest time, SHA-256, original name, record count). It
// streams: at most LandOptions.MemoryLimit bytes stay in memory. A checksum
// index under _lakekit/raw/<source>/<dataset>/sha256/, written with
// create-if-absent, makes duplicate detection race-free across processes,
// and a retried landing never makes a second object.
//
// Land returns a *Landed together with an error in exactly one case:
// landing content that is already in the lake returns the existing object's
// description and an error matching ErrDuplicate (nothing was written).
// Every other error comes with a nil *Landed:
//
//	l, err := raw.Land(ctx, lk, "partner", "orders", name, f, nil)
//	switch {
//	case errors.Is(err, raw.ErrDuplicate):
//		log.Printf("already landed as %s", l.Key) // l is the existing object
//	case err != nil:
//		return err // l is nil
//	}
//
// # Ingestion buffer
//
// Buffer does what Amazon Data Firehose does, inside your service: Add is
// safe for many goroutines; batches flush into the raw zone by size, record
// count or age, optionally gzip or zstd compressed; when MaxBufferedBytes is
// held, Add blocks (back-pressure) instead of growing. A failed flush is
// retried with jittered backoff and never drops records; each batch's object
// name is fixed when it is sealed, so a retry after an ambiguous failure
// replaces its own object instead of adding a copy. Close flushes
// everything, or says how many records it could not land. Stats and
// BufferOptions.OnFlush report records, bytes, flushes and errors.
//
// # Listing
//
// List yields the raw objects of a source and dataset in the order the
// processing layer must read them (key, size, ETag, ingest date, metadata),
// optionally since a date; Landed.Open reads an object decompressed.
package raw
