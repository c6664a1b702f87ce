// Package testtree writes trees of files for tests: a module, a
// Dockerfile, a Makefile, given as path -> content.
package testtree

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// Write writes files (slash-separated paths relative to dir) under dir.
func Write(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// New writes files into a new temporary directory and returns it.
func New(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	Write(t, dir, files)
	return dir
}

// Link makes a symbolic link name (slash-separated, relative to dir) to
// target, as a repository may commit one.
func Link(t testing.TB, dir, name, target string) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, p); err != nil {
		t.Fatal(err)
	}
}

// Fifo makes a named pipe name (slash-separated, relative to dir): a file
// whose open or read blocks until something writes to it.
func Fifo(t testing.TB, dir, name string) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(p, 0o644); err != nil {
		t.Fatal(err)
	}
}

// Returns runs f and fails the test if f has not returned after a
// generous deadline: for code that must refuse a file rather than wait on
// it (a named pipe). It does not measure speed.
func Returns(t testing.TB, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("still blocked after 30s: it waited on a file instead of refusing it")
	}
}
