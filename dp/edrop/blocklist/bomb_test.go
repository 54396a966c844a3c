package blocklist

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func gz(t *testing.T, write func(w *gzip.Writer)) []byte {
	t.Helper()
	var buf bytes.Buffer
	z, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	write(z)
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestParseBombs: a list file is the router's input, and a hostile or
// broken one must cost it neither memory nor a huge answer. A 16 KB gzip
// of 16 MiB of zero bytes (one line) was decompressed whole and the line
// quoted whole in the error (64 MiB of \x00; a 194 KB one took the router
// to 9 GB); a binary file's first line was quoted whole too. Now a line
// is at most MaxLine bytes, the text at most MaxText, and an error quotes
// at most the first 64 bytes of a line.
func TestParseBombs(t *testing.T) {
	zeros := gz(t, func(w *gzip.Writer) { w.Write(make([]byte, 16<<20)) })
	var e Entries
	err := Parse("z.gz", zeros, &e)
	if err == nil || !strings.Contains(err.Error(), "z.gz:1: a line longer than 4096 bytes") || len(err.Error()) > 400 {
		t.Errorf("zero bomb: %.400v (%d bytes)", err, len(errText(err)))
	}
	bin := bytes.Repeat([]byte{0xfe, 'x', 0, 0x81}, 1000)
	err = Parse("bin.txt", append(bin, '\n'), &e)
	if err == nil || !strings.HasPrefix(err.Error(), "bin.txt:1: ") || len(err.Error()) > 400 || !strings.Contains(err.Error(), "...") {
		t.Errorf("binary line: %.400v (%d bytes)", err, len(errText(err)))
	}
	if _, err := ParseEntry(strings.Repeat("1", 1<<20)); err == nil || len(err.Error()) > 400 {
		t.Errorf("a 1 MiB entry: %d bytes of error", len(errText(err)))
	}

	// More text than maxText (here 1 MiB) of valid lines: refused, not
	// parsed into entries without end.
	defer func(m int64) { maxText = m }(maxText)
	maxText = 1 << 20
	lines := gz(t, func(w *gzip.Writer) {
		for i := 0; i < 2<<20/10; i++ {
			w.Write([]byte("192.0.2.1\n"))
		}
	})
	e = Entries{}
	err = Parse("l.gz", lines, &e)
	if err == nil || !strings.Contains(err.Error(), "l.gz: more than 1 MiB of text") {
		t.Errorf("over maxText: %v", err)
	}
	// Exactly maxText is fine, plain and gzip, through Load too.
	ok := bytes.Repeat([]byte("192.0.2.1\n"), 1<<20/10)
	ok = append(ok, bytes.Repeat([]byte("#"), 1<<20-len(ok))...)
	for _, data := range [][]byte{ok, gz(t, func(w *gzip.Writer) { w.Write(ok) })} {
		e = Entries{}
		if err := Parse("ok", data, &e); err != nil || len(e.V4) != 1<<20/10 {
			t.Errorf("%d bytes at the limit: %v, %d entries", len(data), err, len(e.V4))
		}
		f := filepath.Join(t.TempDir(), "l")
		os.WriteFile(f, data, 0o644)
		if e, err := Load(f); err != nil || len(e.V4) != 1<<20/10 {
			t.Errorf("Load %d bytes at the limit: %v, %d entries", len(data), err, len(e.V4))
		}
	}
	// A truncated gzip is still bad gzip data.
	e = Entries{}
	if err := Parse("t.gz", lines[:len(lines)/2], &e); err == nil || !strings.Contains(err.Error(), "bad gzip data") {
		t.Errorf("truncated gzip: %v", err)
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestEntriesRemove: Remove deletes every copy of each entry of rm and
// keeps the rest in order, both families.
func TestEntriesRemove(t *testing.T) {
	var e, rm Entries
	for _, s := range []string{"192.0.2.1", "192.0.2.2", "10.0.0.0/8", "192.0.2.1", "2001:db8::/32", "2001:db8::1"} {
		p, _ := ParseEntry(s)
		e.Add(p)
	}
	for _, s := range []string{"192.0.2.1", "2001:db8::/32"} {
		p, _ := ParseEntry(s)
		rm.Add(p)
	}
	e.Remove(rm)
	got := Build(e).Prefixes()
	if len(e.V4) != 2 || len(e.V6) != 1 || len(got) != 3 || got[0].String() != "10.0.0.0/8" || got[1].String() != "192.0.2.2/32" || got[2].String() != "2001:db8::1/128" {
		t.Errorf("after Remove: %v %v: %v", e.V4, e.V6, got)
	}
}
