package logs

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
)

// New returns a logger writing to w in format "text" or "json" at level
// "debug", "info", "warn" or "error".
func New(w io.Writer, level, format string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: use debug, info, warn or error", level)
	}
	switch strings.ToLower(format) {
	case "text", "":
		return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l, ReplaceAttr: readable})), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l, ReplaceAttr: durationString})), nil
	}
	return nil, fmt.Errorf("log format %q: use text or json", format)
}

// durationString writes durations as Go durations ("1.5s") rather than
// the JSON handler's nanoseconds.
func durationString(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindDuration {
		a.Value = slog.StringValue(a.Value.Duration().String())
	}
	return a
}

// Counts formats counts by name for people: "a 1, b 2", sorted by name
// ("" for none), not Go's map[a:1 b:2].
func Counts(m map[string]uint64) string {
	s := make([]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		s = append(s, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(s, ", ")
}

// readable writes the text handler's counts (map[string]uint64) as
// "a 1, b 2", sorted, and lists of strings as "x, y", not in Go's %v
// form (map[a:1 b:2], [x y]).
func readable(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() != slog.KindAny {
		return a
	}
	switch v := a.Value.Any().(type) {
	case map[string]uint64:
		a.Value = slog.StringValue(Counts(v))
	case []string:
		a.Value = slog.StringValue(strings.Join(v, ", "))
	}
	return a
}

// Sampler logs at most Burst events of each kind per Interval; the rest
// are counted, and the next event of the kind that is logged carries
// "suppressed": how many were not. Safe for concurrent use.
type Sampler struct {
	Log      *slog.Logger
	Burst    int           // events per interval per kind (default 5)
	Interval time.Duration // default 1 s
	Now      func() time.Time

	mu    sync.Mutex
	kinds map[string]*window
}

type window struct {
	start      time.Time
	n          int
	suppressed uint64
}

// NewSampler returns a sampler of burst events per kind per second.
func NewSampler(log *slog.Logger, burst int) *Sampler {
	return &Sampler{Log: log, Burst: burst}
}

// Event logs msg at level with attrs unless kind has had its Burst this
// interval. It reports whether it logged.
func (s *Sampler) Event(level slog.Level, kind, msg string, attrs ...any) bool {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	t := now()
	burst, iv := s.Burst, s.Interval
	if burst <= 0 {
		burst = 5
	}
	if iv <= 0 {
		iv = time.Second
	}
	s.mu.Lock()
	if s.kinds == nil {
		s.kinds = map[string]*window{}
	}
	w := s.kinds[kind]
	if w == nil {
		w = &window{start: t}
		s.kinds[kind] = w
	}
	if t.Sub(w.start) >= iv || t.Before(w.start) {
		w.start, w.n = t, 0
	}
	if w.n >= burst {
		w.suppressed++
		s.mu.Unlock()
		return false
	}
	w.n++
	sup := w.suppressed
	w.suppressed = 0
	s.mu.Unlock()
	if sup > 0 {
		attrs = append(attrs, "suppressed", sup)
	}
	s.Log.Log(context.Background(), level, msg, append([]any{"event", kind}, attrs...)...)
	return true
}

// Suppressed returns how many events of kind were not logged since the
// last one that was.
func (s *Sampler) Suppressed(kind string) uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if w := s.kinds[kind]; w != nil {
		return w.suppressed
	}
	return 0
}
