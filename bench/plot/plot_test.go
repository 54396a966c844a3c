package plot

import (
	"bytes"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func sample() Chart {
	return Chart{
		Title:    "softnet bench: ip4-forward, 64-byte frames, 901,899 routes",
		Subtitle: "2026-11-29 07:00 UTC, host test, 2 CPUs",
		Bars: []Bar{
			{Impl: "softnet", Scenario: "ip4-forward", Workers: 1, Mpps: []float64{9.1, 9.6, 9.3}},
			{Impl: "softnet", Scenario: "ip4-forward", Workers: 2, Mpps: []float64{15.2, 17.9, 16.4}},
			{Impl: "gvisor-netstack", Scenario: "ip4-forward", Workers: 1, Mpps: []float64{0.61}},
		},
	}
}

// decode checks data is a PNG of w × h pixels that is not blank: it has
// white background, dark (text, axes) and coloured (bars) pixels.
func decode(t *testing.T, data []byte, w, h int) image.Image {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != w || b.Dy() != h {
		t.Fatalf("PNG is %d × %d, want %d × %d", b.Dx(), b.Dy(), w, h)
	}
	var white, dark, blue, orange int
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			r, g, bl = r>>8, g>>8, bl>>8
			switch {
			case r > 250 && g > 250 && bl > 250:
				white++
			case r < 60 && g < 60 && bl < 60:
				dark++
			case r == 0x1f && g == 0x77 && bl == 0xb4:
				blue++
			case r == 0xff && g == 0x7f && bl == 0x0e:
				orange++
			}
		}
	}
	total := w * h
	if white < total/3 || dark < total/500 || blue < total/200 || orange == 0 {
		t.Errorf("pixels: %d white, %d dark, %d softnet blue, %d peer orange of %d: blank or unreadable?", white, dark, blue, orange, total)
	}
	return img
}

func TestWritePNG(t *testing.T) {
	var buf bytes.Buffer
	c := sample()
	c.Width, c.Height = 900, 500
	if err := WritePNG(&buf, c); err != nil {
		t.Fatal(err)
	}
	decode(t, buf.Bytes(), 900, 500)
}

func TestSave(t *testing.T) {
	name := filepath.Join(t.TempDir(), "out.png")
	if err := Save(name, sample()); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	decode(t, data, 1200, 700)
	if dir := os.Getenv("PLOT_KEEP"); dir != "" {
		// For looking at the chart: PLOT_KEEP=/tmp go test ./bench/plot
		if err := os.WriteFile(filepath.Join(dir, "plot-sample.png"), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A single run per bar draws too (no whiskers).
	one := sample()
	for i := range one.Bars {
		one.Bars[i].Mpps = one.Bars[i].Mpps[:1]
	}
	if err := Save(name, one); err != nil {
		t.Fatal(err)
	}
}

func TestErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		c    Chart
		want string
	}{
		{Chart{}, "no results"},
		{Chart{Bars: []Bar{{Impl: "softnet", Scenario: "x", Workers: 1}}}, "has no runs"},
		{Chart{Bars: sample().Bars, Width: 10, Height: 10}, "too small"},
	} {
		name := filepath.Join(dir, "bad.png")
		err := Save(name, tc.c)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Save(%+v): %v, want %q", tc.c, err, tc.want)
		}
		if _, err := os.Stat(name); !os.IsNotExist(err) {
			t.Errorf("a failed Save left %s behind", name)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("temporary files left: %v", entries)
	}
	if err := Save(filepath.Join(dir, "no", "such", "dir.png"), sample()); err == nil {
		t.Error("Save into a missing directory succeeded")
	}
}

func TestSummarize(t *testing.T) {
	s := Summarize([]float64{2, 4, 9})
	if s.Mean != 5 || s.Min != 2 || s.Max != 9 || s.N != 3 {
		t.Errorf("%+v", s)
	}
	if s := Summarize(nil); s != (Stats{}) {
		t.Errorf("empty: %+v", s)
	}
}

func TestTicks(t *testing.T) {
	var major []string
	for _, tk := range ticks(0, 22) {
		if tk.Label != "" {
			major = append(major, tk.Label)
		}
	}
	if got := strings.Join(major, " "); got != "0 5 10 15 20" {
		t.Errorf("ticks 0..22: %s", got)
	}
	major = nil
	for _, tk := range ticks(0, 0.8) {
		if tk.Label != "" {
			major = append(major, tk.Label)
		}
	}
	if got := strings.Join(major, " "); got != "0.0 0.1 0.2 0.3 0.4 0.5 0.6 0.7 0.8" {
		t.Errorf("ticks 0..0.8: %s", got)
	}
}

func TestMppsLabel(t *testing.T) {
	for v, want := range map[float64]string{16.504: "16.50", 0.61: "0.61", 0.000104609: "0.000105", 0.0000764: "0.0000764", 0.05: "0.0500", 0: "0.00"} {
		if got := mppsLabel(v); got != want {
			t.Errorf("mppsLabel(%v) = %q, want %q", v, got, want)
		}
	}
}
