// Package storetest is the conformance suite every lake store driver runs,
// like gocloud.dev's drivertest: call RunConformance from a test named
// TestConformance with a function that returns a fresh, empty store.
package storetest

import (
	"context"
	"math/rand"
	"testing"

	"github.com/lakekit/lakekit/lake"
)

// Options adjust the suite to what a backend can show.
type Options struct {
	// NoSSEReadback: the backend does not report the KMS key in Stat (some
	// S3 fakes); the suite then skips that assertion.
	NoSSEReadback bool
	// Concurrency of the create-if-absent race; default 32.
	Concurrency int
}

// RunConformance runs the suite. newStore must return an empty store; each
// subtest gets its own.
func RunConformance(t *testing.T, newStore func(t *testing.T) *lake.Store, opts *Options) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Concurrency == 0 {
		o.Concurrency = 32
	}
	tests := []struct {
		name string
		fn   func(t *testing.T, s *lake.Store, o Options)
	}{
		{"PutGet", testPutGet},
		{"Overwrite", testOverwrite},
		{"EmptyObject", testEmpty},
		{"UnknownSize", testUnknownSize},
		{"NotFound", testNotFound},
		{"CreateIfAbsent", testCreate},
		{"CreateRace", testCreateRace},
		{"Ranges", testRanges},
		{"ReaderAt", testReaderAt},
		{"Attributes", testAttributes},
		{"Delete", testDelete},
		{"List", testList},
		{"ListDelimiter", testListDelimiter},
		{"ListUnusualKeys", testUnusualKeys},
		{"InvalidKeys", testInvalidKeys},
		{"Sub", testSub},
		{"EncryptionRequired", testEncryptionRequired},
		{"Canceled", testCanceled},
		{"ShortBody", testShortBody},
		{"Move", testMove},
		{"Copy", testCopy},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			tc.fn(t, s, o)
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func read(t *testing.T, s *lake.Store, key string) []byte {
	t.Helper()
	b, err := s.ReadAll(context.Background(), key)
	must(t, err)
	return b
}

func payload(n int, seed int64) []byte {
	b := make([]byte, n)
	rand.New(rand.NewSource(seed)).Read(b)
	return b
}
