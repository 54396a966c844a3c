package readerr

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// TestReader: the first error other than io.EOF is kept, io.EOF is not.
func TestReader(t *testing.T) {
	r := &Reader{R: strings.NewReader("abc")}
	if b, err := io.ReadAll(r); string(b) != "abc" || err != nil || r.Err != nil {
		t.Errorf("a whole read: %q %v, Err %v", b, err, r.Err)
	}
	cut := errors.New("cut")
	r = &Reader{R: io.MultiReader(strings.NewReader("ab"), iotest.ErrReader(cut))}
	if _, err := io.ReadAll(r); err != cut || r.Err != cut {
		t.Errorf("a cut read: %v, Err %v, want %v", err, r.Err, cut)
	}
}
