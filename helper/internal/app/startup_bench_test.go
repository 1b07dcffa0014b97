package app

import (
	"context"
	"io"
	"testing"
)

// BenchmarkVersion is `shipgate --version` in-process: the part of start-up after package
// initialisation (issue 15; the whole-process figures are in bench/STARTUP.md).
func BenchmarkVersion(b *testing.B) {
	getenv := func(string) string { return "" }
	for b.Loop() {
		if code := run(context.Background(), []string{"shipgate", "--version"}, io.Discard, io.Discard, getenv); code != 0 {
			b.Fatalf("exit %d", code)
		}
	}
}

// BenchmarkNewApp is building the command tree, which every invocation pays.
func BenchmarkNewApp(b *testing.B) {
	s := &streams{stdout: io.Discard, stderr: io.Discard, getenv: func(string) string { return "" }, deps: defaultDeps()}
	for b.Loop() {
		newApp(s)
	}
}
