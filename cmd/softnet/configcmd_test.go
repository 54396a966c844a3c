package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// failingFile is a temporary file whose Write or Sync fails (a full disk).
type failingFile struct {
	*os.File
	failWrite, failSync bool
}

func (f *failingFile) Write(p []byte) (int, error) {
	if f.failWrite {
		n, _ := f.File.Write(p[:len(p)/2]) // a short write, then ENOSPC
		return n, errors.New("no space left on device")
	}
	return f.File.Write(p)
}

func (f *failingFile) Sync() error {
	if f.failSync {
		return errors.New("input/output error")
	}
	return f.File.Sync()
}

// TestWriteAtomicFailureKeepsFile: a failed write or sync of the temporary
// file is an error, and the user's config is not replaced by a truncated
// file.
func TestWriteAtomicFailureKeepsFile(t *testing.T) {
	for _, tc := range []struct {
		name                string
		failWrite, failSync bool
		want                string
	}{
		{"write", true, false, "no space left on device"},
		{"sync", false, true, "input/output error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			file := filepath.Join(dir, "router.yaml")
			const old = "workers: 1\ninterfaces: []\n"
			if err := os.WriteFile(file, []byte(old), 0o644); err != nil {
				t.Fatal(err)
			}
			orig := createTemp
			t.Cleanup(func() { createTemp = orig })
			createTemp = func(dir, pattern string) (tempFile, error) {
				f, err := os.CreateTemp(dir, pattern)
				if err != nil {
					return nil, err
				}
				return &failingFile{File: f, failWrite: tc.failWrite, failSync: tc.failSync}, nil
			}
			err := writeAtomic(file, []byte(strings.Repeat("# the new config\n", 100)))
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), file) {
				t.Fatalf("writeAtomic = %v, want an error naming %s and %q", err, file, tc.want)
			}
			got, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != old {
				t.Errorf("%s was replaced after a failed %s: now %q", file, tc.name, got)
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 1 {
				t.Errorf("temporary file left behind: %v", ents)
			}
		})
	}
	// And a write that works replaces the file.
	dir := t.TempDir()
	file := filepath.Join(dir, "router.yaml")
	if err := writeAtomic(file, []byte("new\n")); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(file); string(got) != "new\n" {
		t.Errorf("after writeAtomic: %q, want %q", got, "new\n")
	}
}
