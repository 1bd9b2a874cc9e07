module github.com/lakekit/lakekit

go 1.24.9

require github.com/google/go-cmp v0.7.0
