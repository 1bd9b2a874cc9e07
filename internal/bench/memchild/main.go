// Command memchild is the memory_10m scenario's child process (see
// internal/bench/memwrite): memchild -rows N -partitions P -dir DIR.
package main

import (
	"flag"
	"os"

	"github.com/lakekit/lakekit/internal/bench/memwrite"
)

func main() {
	rows := flag.Int("rows", 0, "rows to write")
	partitions := flag.Int("partitions", 0, "daily partitions")
	dir := flag.String("dir", "", "directory of the new file lake")
	flag.Parse()
	os.Exit(memwrite.Run(*rows, *partitions, *dir, os.Stdout, os.Stderr))
}
