// Package plot draws benchmark results as a PNG bar chart (gonum.org/v1/plot):
// Mpps per scenario and worker count, one bar per implementation (softnet,
// and peers such as gVisor's netstack), the bar at the mean of repeated
// runs with whiskers from the lowest to the highest run.
//
// Hot path: no. It is what `softnet bench --plot FILE.png` calls after the
// measurements; it allocates freely and is not safe for concurrent use of
// one Chart.
package plot

import (
	"errors"
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Bar is one measured configuration: an implementation running a scenario
// with a worker count, and the Mpps of each repeated run.
type Bar struct {
	Impl     string    // legend entry: "softnet", "gvisor-netstack", ...
	Scenario string    // "ip4-forward", ...
	Workers  int       // worker count (peers: the goroutines they used)
	Mpps     []float64 // one per run, at least one
}

// Chart is what to draw.
type Chart struct {
	Title    string // first line of the title
	Subtitle string // second line: date, host, CPUs, ...
	Bars     []Bar
	// Width and Height in pixels (default 1200 × 700).
	Width, Height int
}

// DPI is the resolution the PNG is drawn at: a Chart of Width pixels is
// Width × 72 / DPI points wide.
const DPI = 96

// Stats are a bar's figures: the mean, lowest and highest run.
type Stats struct {
	Mean, Min, Max float64
	N              int
}

// Summarize returns the mean, min and max of runs.
func Summarize(runs []float64) Stats {
	s := Stats{N: len(runs), Min: math.Inf(1), Max: math.Inf(-1)}
	for _, v := range runs {
		s.Mean += v
		s.Min, s.Max = min(s.Min, v), max(s.Max, v)
	}
	if s.N > 0 {
		s.Mean /= float64(s.N)
	} else {
		s.Min, s.Max = 0, 0
	}
	return s
}

// group is one position on the x axis: a scenario and a worker count.
type group struct {
	scenario string
	workers  int
}

func (g group) label() string {
	w := "workers"
	if g.workers == 1 {
		w = "worker"
	}
	return fmt.Sprintf("%s\n%d %s", g.scenario, g.workers, w)
}

// palette: distinguishable, print-friendly colours, one per
// implementation (softnet first).
var palette = []color.RGBA{
	{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}, // blue
	{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff}, // orange
	{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff}, // green
	{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}, // red
	{R: 0x94, G: 0x67, B: 0xbd, A: 0xff}, // purple
	{R: 0x8c, G: 0x56, B: 0x4b, A: 0xff}, // brown
}

// build makes the gonum plot of c.
func build(c Chart) (*gplot.Plot, error) {
	if len(c.Bars) == 0 {
		return nil, errors.New("plot: no results to draw")
	}
	var groups []group
	var impls []string
	gi := map[group]int{}
	ii := map[string]int{}
	repeats := 0
	for _, b := range c.Bars {
		if len(b.Mpps) == 0 {
			return nil, fmt.Errorf("plot: %s %s with %d workers has no runs", b.Impl, b.Scenario, b.Workers)
		}
		g := group{b.Scenario, b.Workers}
		if _, ok := gi[g]; !ok {
			gi[g] = len(groups)
			groups = append(groups, g)
		}
		if _, ok := ii[b.Impl]; !ok {
			ii[b.Impl] = len(impls)
			impls = append(impls, b.Impl)
		}
		repeats = max(repeats, len(b.Mpps))
	}

	p := gplot.New()
	p.Title.Text = c.Title
	if c.Subtitle != "" {
		p.Title.Text += "\n" + c.Subtitle
	}
	p.Title.TextStyle.Font.Size = vg.Points(14)
	p.Title.Padding = vg.Points(8)
	p.Y.Label.Text = "Mpps (million packets per second)"
	p.Y.Min = 0
	p.Y.Tick.Marker = gplot.TickerFunc(ticks)
	p.X.Label.Text = barsNote(repeats)
	p.X.Label.TextStyle.Font.Size = vg.Points(10)
	p.X.Tick.Label.Font.Size = vg.Points(11)
	p.Y.Tick.Label.Font.Size = vg.Points(11)
	p.Add(plotter.NewGrid())

	// Bars of a group sit side by side around its tick: width w each.
	w := vg.Points(min(60, 360/float64(len(groups)*len(impls))))
	top := 0.0
	legend := make([]*plotter.BarChart, len(impls))
	var whiskers []whisker
	for _, b := range c.Bars {
		s := Summarize(b.Mpps)
		i := ii[b.Impl]
		bc, err := plotter.NewBarChart(plotter.Values{s.Mean}, w)
		if err != nil {
			return nil, fmt.Errorf("plot: %s: %w", b.Impl, err)
		}
		bc.XMin = float64(gi[group{b.Scenario, b.Workers}])
		bc.Offset = (vg.Length(i) - vg.Length(len(impls)-1)/2) * w
		bc.Color = palette[i%len(palette)]
		bc.LineStyle.Width = vg.Points(0.5)
		p.Add(bc)
		if legend[i] == nil {
			legend[i] = bc
		}
		whiskers = append(whiskers, whisker{x: bc.XMin, off: bc.Offset, s: s})
		top = max(top, s.Max)
	}
	p.Add(&whiskerPlot{w: whiskers, capWidth: w / 3})
	for i, name := range impls {
		p.Legend.Add(name, legend[i])
	}
	p.Legend.Top = true
	p.Legend.Left = false
	p.Legend.TextStyle.Font.Size = vg.Points(11)
	p.Y.Max = top * 1.25 // room for the value labels and the legend
	if p.Y.Max == 0 {
		p.Y.Max = 1
	}
	names := make([]string, len(groups))
	for i, g := range groups {
		names[i] = g.label()
	}
	p.NominalX(names...)
	p.X.Min, p.X.Max = -0.6, float64(len(groups))-0.4
	return p, nil
}

// ticks labels the Mpps axis every 1, 2 or 5 × 10^k, about eight times.
func ticks(lo, hi float64) []gplot.Tick {
	if hi <= lo {
		return []gplot.Tick{{Value: lo, Label: strconv.FormatFloat(lo, 'g', 3, 64)}}
	}
	step := math.Pow(10, math.Floor(math.Log10((hi-lo)/8)))
	for _, m := range []float64{1, 2, 5, 10} {
		if (hi-lo)/(step*m) <= 10 {
			step *= m
			break
		}
	}
	prec := max(0, -int(math.Floor(math.Log10(step))))
	var t []gplot.Tick
	for v := math.Ceil(lo/step) * step; v <= hi+step/1e6; v += step {
		t = append(t, gplot.Tick{Value: v, Label: strconv.FormatFloat(v, 'f', prec, 64)})
		t = append(t, gplot.Tick{Value: v + step/2}) // minor
	}
	return t
}

func barsNote(repeats int) string {
	if repeats <= 1 {
		return "bars: one run each (no error bars: use --repeat to get them)"
	}
	return "bars: mean of " + strconv.Itoa(repeats) + " runs; whiskers: lowest to highest run"
}

// whisker is one bar's error bar and value label.
type whisker struct {
	x   float64   // group (data units)
	off vg.Length // the bar's offset from the group's tick
	s   Stats
}

// whiskerPlot draws min-max whiskers and a value label over each bar. It
// exists because plotter.YErrorBars places bars in data units and cannot
// follow a BarChart's Offset, which is in canvas units.
type whiskerPlot struct {
	w        []whisker
	capWidth vg.Length
}

func (wp *whiskerPlot) Plot(c draw.Canvas, p *gplot.Plot) {
	trX, trY := p.Transforms(&c)
	line := draw.LineStyle{Color: color.Black, Width: vg.Points(1.2)}
	txt := draw.TextStyle{Color: color.Black, Font: p.Y.Tick.Label.Font, XAlign: draw.XCenter, YAlign: draw.YBottom, Handler: p.Y.Tick.Label.Handler}
	txt.Font.Size = vg.Points(10)
	for _, w := range wp.w {
		x := trX(w.x) + w.off
		if w.s.N > 1 {
			lo, hi := trY(w.s.Min), trY(w.s.Max)
			c.StrokeLine2(line, x, lo, x, hi)
			c.StrokeLine2(line, x-wp.capWidth/2, lo, x+wp.capWidth/2, lo)
			c.StrokeLine2(line, x-wp.capWidth/2, hi, x+wp.capWidth/2, hi)
		}
		label := mppsLabel(w.s.Mean)
		c.FillText(txt, vg.Point{X: x, Y: trY(max(w.s.Max, w.s.Mean)) + vg.Points(3)}, label)
	}
}

// mppsLabel prints a rate with two decimals, or three significant digits
// below 0.1 so that a slow peer's bar does not read 0.00.
func mppsLabel(v float64) string {
	if v >= 0.1 || v == 0 {
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	return strconv.FormatFloat(v, 'f', 2-int(math.Floor(math.Log10(v))), 64)
}

// DataRange covers the whiskers' tops, so the axis leaves room for them.
func (wp *whiskerPlot) DataRange() (xmin, xmax, ymin, ymax float64) {
	xmin, xmax = math.Inf(1), math.Inf(-1)
	for _, w := range wp.w {
		xmin, xmax = min(xmin, w.x), max(xmax, w.x)
		ymax = max(ymax, w.s.Max)
	}
	return xmin, xmax, 0, ymax
}

// WritePNG draws c as a PNG on out.
func WritePNG(out io.Writer, c Chart) error {
	p, err := build(c)
	if err != nil {
		return err
	}
	if c.Width == 0 {
		c.Width = 1200
	}
	if c.Height == 0 {
		c.Height = 700
	}
	if c.Width < 200 || c.Height < 150 {
		return fmt.Errorf("plot: %d × %d pixels is too small to read: use at least 200 × 150", c.Width, c.Height)
	}
	pt := func(px int) vg.Length { return vg.Length(px) * vg.Inch / DPI }
	cv := vgimg.NewWith(vgimg.UseWH(pt(c.Width), pt(c.Height)), vgimg.UseDPI(DPI), vgimg.UseBackgroundColor(color.White))
	p.Draw(draw.New(cv))
	_, err = vgimg.PngCanvas{Canvas: cv}.WriteTo(out)
	return err
}

// Save draws c into the PNG file name, replacing it only once the whole
// image is written (a failed draw leaves no half-written file).
func Save(name string, c Chart) error {
	f, err := os.CreateTemp(filepath.Dir(name), ".plot-*.png")
	if err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	tmp := f.Name()
	if err := WritePNG(f, c); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("plot: %w", err)
	}
	if err := os.Chmod(tmp, 0o644); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("plot: %w", err)
	}
	if err := os.Rename(tmp, name); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("plot: %w", err)
	}
	return nil
}
