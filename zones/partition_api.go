package zones

import (
	"fmt"

	"github.com/lakekit/lakekit/lake"
)

// PartitionOf returns the partition *row belongs to (from the partition
// fields or Options.PartitionBy), validated: what Write would file it
// under. Transforms use it to know which partitions new rows touch. It
// takes a pointer so that checking rows in a slice copies none.
func (d *Dataset[T]) PartitionOf(row *T) (lake.Partition, error) {
	p, err := d.partitionOf(row)
	if err != nil {
		return nil, fmt.Errorf("zones: %s: partition: %w: %w", d.table.prefix, ErrInvalid, err)
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("zones: %s: %w: %w", d.table.prefix, ErrInvalid, err)
	}
	return p, nil
}

// ClearPartitions makes an OverwritePartitions write replace these
// partitions even when no row of the write falls into them: the commit
// removes their current files, so a partition whose rows were all deleted
// (a CDC merge) becomes empty. Other modes refuse it with ErrInvalid.
func (w *Writer[T]) ClearPartitions(parts ...lake.Partition) error {
	if w.fw != nil { // Options.Format: see format.go
		return w.d.unsupported("Writer.ClearPartitions")
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return fmt.Errorf("zones: clear partitions of %s: %w", w.d.table.prefix, ErrWriterClosed)
	}
	if w.opts.Mode != OverwritePartitions {
		return fmt.Errorf("zones: clear partitions of %s: only an OverwritePartitions write can clear partitions: %w", w.d.table.prefix, ErrInvalid)
	}
	for _, p := range parts {
		if err := w.checkPartition(p); err != nil {
			return fmt.Errorf("zones: clear partitions of %s: %w: %w", w.d.table.prefix, ErrInvalid, err)
		}
	}
	for _, p := range parts {
		w.tx.Touch(p)
	}
	return nil
}
