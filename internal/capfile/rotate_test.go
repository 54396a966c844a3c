package capfile

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestCreateResumes: a rotating capture started where an earlier run
// left files goes on from the highest number and keeps only the newest
// MaxFiles; other files next to them are left alone.
func TestCreateResumes(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.pcapng")
	for _, n := range []string{"c.pcapng.0", "c.pcapng.1", "c.pcapng.7", "c.pcapng.x", "c.pcapng.01", "other"} {
		if err := os.WriteFile(filepath.Join(dir, n), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f, err := Create(Options{Path: path, Format: "pcapng", MaxSize: 4096, MaxFiles: 2})
	if err != nil {
		t.Fatal(err)
	}
	if f.Name() != path+".8" {
		t.Errorf("writes %s, want %s.8", f.Name(), path)
	}
	for range 100 {
		if err := f.WritePacket(&Packet{Time: 1, Interface: "lan0", Point: "rx", Len: 100, Data: make([]byte, 100)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(dir)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	last := fmt.Sprintf("c.pcapng.%d", 8+f.Files()-1)
	want := []string{"c.pcapng.01", fmt.Sprintf("c.pcapng.%d", 8+f.Files()-2), last, "c.pcapng.x", "other"}
	slices.Sort(want)
	if f.Files() < 3 || !slices.Equal(names, want) {
		t.Errorf("files %v after %d opened, want %v", names, f.Files(), want)
	}
	if _, err := New("pcapx", os.Stdout, 0); err == nil {
		t.Error("New accepts format pcapx")
	}
}
