package pcapfile

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// FuzzRead: the reader never panics, and whatever it accepts round-trips
// through the writer unchanged.
func FuzzRead(f *testing.F) {
	f.Add(encode(frames(3)))
	f.Add(encode(nil))
	f.Add(handFile(binary.BigEndian, magicNano, 1, frames(2)))
	f.Add(handFile(binary.LittleEndian, magicMicro, 113, frames(1)))
	f.Add([]byte{0xd4, 0xc3, 0xb2, 0xa1})
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, err := index(data, "fuzz")
		if err != nil {
			return
		}
		fs := make([][]byte, len(recs))
		for i, r := range recs {
			fs[i] = data[r.off : r.off+r.n]
		}
		again, err := index(encode(fs), "again")
		if err != nil {
			t.Fatalf("re-encoded file rejected: %v", err)
		}
		if len(again) != len(fs) {
			t.Fatalf("%d frames became %d", len(fs), len(again))
		}
		enc := encode(fs)
		for i, r := range again {
			if !bytes.Equal(enc[r.off:r.off+r.n], fs[i]) {
				t.Fatalf("frame %d changed", i)
			}
		}
	})
}
