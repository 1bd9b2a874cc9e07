package zones

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// OpenDeletedIn lets the external tests count a writer's unlinked spill
// files (internal/spill): this process's open files that were in dir and
// are deleted now; -1 where that cannot be seen (not Linux).
func OpenDeletedIn(dir string) int {
	if runtime.GOOS != "linux" {
		return -1
	}
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	n := 0
	for _, fd := range fds {
		target, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name()))
		if err != nil {
			continue
		}
		if strings.HasPrefix(target, dir+string(filepath.Separator)) && strings.HasSuffix(target, " (deleted)") {
			n++
		}
	}
	return n
}
