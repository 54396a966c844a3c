package linuxcp

import (
	"fmt"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/softnet/softnet/control"
)

// cpuTime is the process's CPU time (user and system, every thread: the
// garbage collector's too).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkApplyFullTable is the applier's share of the
// netlink-full-table burst without the kernel: the whole table (IPv4 and
// IPv6, one next hop each) as route notifications, applied in batches of
// MaxBatch to a real control.Router (ApplyKernel, FIB, one snapshot a
// batch: router) or to one that keeps nothing (nop: the mirror alone);
// batches of 4096 are about what the applier takes at a time in the
// netlink-full-table bench (its reader a step ahead), 65,536 the most.
// cpu-ns/route is the process's CPU time a route (garbage collection
// included), what the applier takes from a worker on the same CPU.
// go test -run X -bench ApplyFullTable -benchtime 1x ./linuxcp
func BenchmarkApplyFullTable(b *testing.B) {
	ps := burstTable(b, 0)
	via4, via6 := netip.MustParseAddr("10.0.1.2"), netip.MustParseAddr("2001:db8:1::2")
	evs := make([]Event, len(ps))
	for i, p := range ps {
		via := via4
		if p.Addr().Is6() {
			via = via6
		}
		evs[i] = Event{Kind: RouteAdd, Route: Route{Prefix: p, Table: 254, Proto: 186, Hops: []Hop{{Link: 2, Via: via, Weight: 1}}}}
	}
	for _, c := range []struct {
		real  bool
		batch int
	}{{true, 65536}, {true, 4096}, {false, 65536}} {
		real := c.real
		name := "nop"
		if real {
			name = "router"
		}
		b.Run(fmt.Sprintf("%s/batch=%d", name, c.batch), func(b *testing.B) {
			var cpu time.Duration
			for range b.N {
				var r Router = nopRouter{}
				var cr *control.Router
				if real {
					cr = control.New(control.Options{})
					if _, err := cr.AddInterface(control.IfaceConfig{Name: "wan0", MAC: [6]byte{2, 0, 0, 0, 0, 1},
						Addrs: []netip.Prefix{netip.MustParsePrefix("10.0.1.1/24"), netip.MustParsePrefix("2001:db8:1::1/64")}}); err != nil {
						b.Fatal(err)
					}
					r = cr
				}
				m := New(newFake(), r, Options{MaxBatch: c.batch})
				m.links[2] = Link{Index: 2, Name: "wan0", Up: true}
				c0 := cpuTime()
				for i := 0; i < len(evs); i += m.o.MaxBatch {
					m.apply(evs[i:min(i+m.o.MaxBatch, len(evs))])
				}
				cpu += cpuTime() - c0
				if st := m.Stats(); st.Routes != len(ps) {
					b.Fatalf("%d routes mirrored, want %d (%+v)", st.Routes, len(ps), st)
				}
				if cr != nil {
					if in, _ := cr.KernelRoutes(); in != len(ps) {
						b.Fatalf("%d routes installed, want %d", in, len(ps))
					}
				}
			}
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N*len(ps)), "cpu-ns/route")
		})
	}
}
