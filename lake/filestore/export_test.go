package filestore

import (
	"os"
	"sync"
)

// RecordFsyncs makes the driver record the path of every fsync until the
// returned function is called, which returns them.
func RecordFsyncs() func() []string {
	var (
		mu    sync.Mutex
		paths []string
	)
	prev := fsync
	fsync = func(f *os.File) error {
		mu.Lock()
		paths = append(paths, f.Name())
		mu.Unlock()
		return prev(f)
	}
	return func() []string {
		fsync = prev
		mu.Lock()
		defer mu.Unlock()
		return paths
	}
}
