// Command bench measures lakekit against the strongest peers on the same
// generated rows, in one run, so a noisy machine cannot fool a comparison
// made across runs.
//
//	go run ./internal/bench                    # every scenario: JSON lines, then a table
//	go run ./internal/bench -json              # JSON lines only
//	go run ./internal/bench -only read_pruned_bytes -reps 5
//	go run ./internal/bench -short             # CI smoke run: tiny sizes, 1 rep
//	go run ./internal/bench -out docs/bench    # also writes bench.svg, bench.json, bench.md
//
// Every scenario runs lakekit and its peer on the same rows
// (internal/eventgen: 6 columns, -partitions daily partitions), -reps times
// each, interleaved (lakekit then peer, then peer then lakekit, ...), and
// reports the medians as one JSON object per line (timed scenarios first
// run one untimed warm-up round of both sides):
//
//	{"name", "unit", "lakekit", "peer", "peer_value", "ratio", "value", "target", "met", ...}
//
// ratio is lakekit / peer_value when higher is better for lakekit
// (throughput) and peer_value / lakekit when lower is better (time, bytes,
// requests, memory); unit says which, so a ratio above 1 always means
// lakekit did better than its peer. value is the number the target is
// stated on (a time ratio, a byte ratio, a request count), and target is
// that condition as text, e.g. "<= 1.1"; met says whether it held.
//
// Scenarios (names are stable; -only takes one):
//
//	write_vs_parquetgo         zone writer, 100 partitions, zstd, file lake vs parquet-go GenericWriter into 100 files
//	write_vs_duckdb            the same vs DuckDB COPY ... (FORMAT parquet, PARTITION_BY (dt), COMPRESSION zstd)
//	read_vs_parquetgo          typed read of the whole table vs GenericReader over the same files
//	read_pruned_bytes          bytes read for a one-partition filter / that partition's bytes
//	memory_10m                 peak RSS of a child process writing 10M rows, and its growth over 1M rows
//	transform_rerun_reads      data-file reads of an incremental transform rerun with no new input
//	query_vs_read_parquet      DuckDB engine over the catalog vs DuckDB read_parquet on the same files
//	s3_gets_per_projected_read GET requests to read one column of one file through the S3 store (gofakes3)
//	glue_calls_10k_partitions  Glue API calls to register 10,000 partitions (moto_server)
//	commit_depth               one small append, and opening the table, after 1,000 commits / after 1
//	s3_write                   rows committed to S3 (gofakes3; moto too when installed) vs the same writer encoding into memory + transfermanager uploading
//	transform_json_to_parquet  raw JSON lines, 1% malformed -> cleaned Parquet + quarantine vs DuckDB read_json ... COPY TO
//	ingest_buffer              records/s through raw.Buffer from 32 goroutines (zstd) vs one os.File + zstd encoder
//
// Sizes: -rows rows (default 1,000,000) over -partitions days (default
// 100) for the write, read, query and pruning scenarios; the transform
// scenario takes the first 200,000 of them (it counts file reads, which
// depend on the partitions, not the rows); the S3 scenario writes up to
// 1,000,000 rows into one file; memory_10m writes 10M and 1M rows in a
// child process (100k and 10k with -short) and runs once unless -reps is
// given; commit_depth builds tables of 1, 100, 1,000 and -depth commits
// (default 10,000; 100 with -short) and compares the 1,000th with the
// first; s3_write, transform_json_to_parquet and ingest_buffer take all
// -rows. -short uses 20,000 rows over 10 partitions, 1,000 Glue
// partitions, one rep.
//
// Other flags: -cpuprofile FILE writes a CPU profile whose samples carry
// the labels scenario and side (go tool pprof -tagfocus side=lakekit -top
// FILE); -render bench.json -out DIR redraws the chart and the Markdown
// table without running anything; -keep keeps the scratch directory.
//
// Peak memory is the child's own VmHWM from /proc/self/status: getrusage's
// ru_maxrss of a child started by os/exec begins at the parent's peak,
// since Linux keeps the high-water mark across exec (ru_maxrss is reported
// too, in extra).
//
// A scenario whose peer is missing (moto_server) is skipped with a message
// on stderr, except with CI=true, where that is a failure. The exit status
// is non-zero when a scenario fails or produces no number.
package main
