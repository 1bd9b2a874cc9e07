package zones

// SetMaxHeldChunkBytes lets the external tests read through the path for
// row groups too large to hold; it returns a function restoring the bound.
func SetMaxHeldChunkBytes(n int64) (restore func()) {
	old := maxHeldChunkBytes
	maxHeldChunkBytes = n
	return func() { maxHeldChunkBytes = old }
}
