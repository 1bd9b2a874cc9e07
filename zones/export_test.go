package zones

// OpenDeletedIn lets the external tests count a writer's unlinked spill
// files (deletedFilesIn, pagebuf_test.go).
var OpenDeletedIn = deletedFilesIn
