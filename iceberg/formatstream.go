package iceberg

import (
	"context"

	"github.com/lakekit/lakekit/zones"
)

// The Iceberg format streams a zones.Dataset's writes and prunes its
// partition reads before opening data files.
var (
	_ zones.FormatStreamer[struct{}]        = (*DatasetTable[struct{}])(nil)
	_ zones.FormatPartitionReader[struct{}] = (*DatasetTable[struct{}])(nil)
)

// StreamWriter implements zones.FormatStreamer: a zones.Dataset Writer on
// the Iceberg format encodes its rows into data files as they come
// (NewWriter with FormatOptions.Writer: bounded memory) and commits them
// as one snapshot, instead of keeping every row until Commit.
func (d *DatasetTable[T]) StreamWriter(ctx context.Context, mode zones.Mode, metadata map[string]string) (zones.FormatWriter[T], error) {
	w, err := d.NewWriter(ctx, mode, metadata, d.wopts)
	if err != nil {
		return nil, err
	}
	return w, nil
}
