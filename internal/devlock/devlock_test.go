package devlock

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestAcquire: a held device cannot be taken again (flock locks belong to
// the open file, so this holds within one process too), the error names
// the device and the holder's pid and is ErrBusy; after Release it can.
func TestAcquire(t *testing.T) {
	old := Dir
	Dir = t.TempDir()
	defer func() { Dir = old }()
	l, err := Acquire("eth9")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(l.Path())
	if err != nil || strings.TrimSpace(string(b)) != strconv.Itoa(os.Getpid()) {
		t.Fatalf("lock file %s holds %q (%v), want our pid", l.Path(), b, err)
	}
	_, err = Acquire("eth9")
	if err == nil || !errors.Is(err, ErrBusy) || !strings.Contains(err.Error(), "device eth9") ||
		!strings.Contains(err.Error(), "pid "+strconv.Itoa(os.Getpid())) {
		t.Fatalf("second Acquire: %v", err)
	}
	other, err := Acquire("eth10")
	if err != nil {
		t.Fatalf("another device: %v", err)
	}
	other.Release()
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	l.Release() // twice is fine
	if _, err := os.Stat(l.Path()); !os.IsNotExist(err) {
		t.Errorf("lock file left behind: %v", err)
	}
	l2, err := Acquire("eth9")
	if err != nil {
		t.Fatalf("after Release: %v", err)
	}
	l2.Release()
	if _, err := Acquire("a/b"); err == nil {
		t.Error("a device name with a slash was accepted")
	}
}
