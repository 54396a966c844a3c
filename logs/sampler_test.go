package logs

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestSampler(t *testing.T) {
	var buf bytes.Buffer
	now := time.Unix(1000, 0)
	s := &Sampler{Log: slog.New(slog.NewTextHandler(&buf, nil)), Burst: 3, Now: func() time.Time { return now }}
	logged := 0
	for range 100 {
		if s.Event(slog.LevelWarn, "arp-failed", "neighbour failed") {
			logged++
		}
	}
	s.Event(slog.LevelWarn, "punt-full", "punt ring full") // another kind has its own budget
	if logged != 3 {
		t.Fatalf("logged %d of 100 in one interval, want 3", logged)
	}
	if n := s.Suppressed("arp-failed"); n != 97 {
		t.Fatalf("suppressed %d, want 97", n)
	}
	now = now.Add(time.Second)
	if !s.Event(slog.LevelWarn, "arp-failed", "neighbour failed") {
		t.Fatal("not logged in the next interval")
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 5 {
		t.Fatalf("%d lines:\n%s", len(lines), buf.String())
	}
	if !strings.Contains(lines[4], "suppressed=97") || !strings.Contains(lines[4], "event=arp-failed") {
		t.Errorf("last line %q: want event=arp-failed suppressed=97", lines[4])
	}
	if strings.Contains(lines[0], "suppressed") {
		t.Errorf("first line %q has a suppressed count", lines[0])
	}
}

func TestNew(t *testing.T) {
	var buf bytes.Buffer
	l, err := New(&buf, "warn", "json")
	if err != nil {
		t.Fatal(err)
	}
	l.Info("hidden")
	l.Warn("shown", "k", 1)
	if got := buf.String(); strings.Contains(got, "hidden") || !strings.Contains(got, `"msg":"shown"`) || !strings.Contains(got, `"k":1`) {
		t.Errorf("json/warn output %q", got)
	}
	if _, err := New(&buf, "loud", "text"); err == nil || !strings.Contains(err.Error(), "debug, info, warn or error") {
		t.Errorf("bad level: %v", err)
	}
	if _, err := New(&buf, "info", "xml"); err == nil || !strings.Contains(err.Error(), "text or json") {
		t.Errorf("bad format: %v", err)
	}
}

// TestNewFormats: no Go formatting in the log: a duration is "1.5s" in
// both formats (not 1500000000 in JSON), and a map of counts or a list of
// strings reads "a 1, b 2" and "x, y" in text (not map[a:1 b:2], [x y]).
func TestNewFormats(t *testing.T) {
	var buf bytes.Buffer
	l, _ := New(&buf, "info", "json")
	l.Info("m", "setup", 1500*time.Millisecond)
	if got := buf.String(); !strings.Contains(got, `"setup":"1.5s"`) {
		t.Errorf("json duration: %s", got)
	}
	buf.Reset()
	l, _ = New(&buf, "info", "text")
	l.Info("m", "setup", 1500*time.Millisecond, "counts", map[string]uint64{"tx-busy": 2, "rx-oversize": 5}, "addresses", []string{"10.0.1.1/24", "10.0.9.1/24"})
	if got := buf.String(); !strings.Contains(got, `setup=1.5s counts="rx-oversize 5, tx-busy 2" addresses="10.0.1.1/24, 10.0.9.1/24"`) {
		t.Errorf("text: %s", got)
	}
}
