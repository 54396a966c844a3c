package control_test

import (
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/softnet/softnet/control"
	"github.com/softnet/softnet/dp/dptest"
)

// TestLinkDownLetsGoOfTheLock (issue 16, the soak's API answers of
// seconds): parking the routes through an interface whose link or admin
// state went down, and putting them back when it comes up, lets go of the
// router's lock midway, as a full-table replace does. With the full table
// through a flapping link, each flap held the lock for seconds (4-5 s to
// park 900,000 routes on the shared machine) and every API call waited.
// While the park is stopped midway the router answers and takes a route;
// after it, every route through the interface is parked (the route added
// meanwhile too), and after the link is up again every one is back.
func TestLinkDownLetsGoOfTheLock(t *testing.T) {
	for _, how := range []string{"link", "admin"} {
		t.Run(how, func(t *testing.T) {
			l := dptest.New(t, dptest.Options{})
			ctl := l.Router
			set := ctl.SetLinkUp
			if how == "admin" {
				set = ctl.SetInterfaceUp
			}
			ps := table(60000)
			if err := ctl.AddRoutes(ps, func(int) netip.Addr { return dptest.HostB }); err != nil {
				t.Fatal(err)
			}
			paused, resume := make(chan struct{}), make(chan struct{})
			var once sync.Once
			ctl.SetReplaceHookForTest(func() {
				once.Do(func() {
					close(paused)
					<-resume
				})
			})
			done := make(chan error, 1)
			go func() { done <- set(1, false) }()
			select {
			case <-paused:
			case err := <-done:
				t.Fatalf("%s down of an interface with %d routes returned (%v) without letting go of the router's lock midway", how, len(ps), err)
			case <-time.After(2 * time.Minute):
				t.Fatal("the park neither paused nor returned in 2 minutes")
			}
			if m, ok := ctl.Lookup(dptest.HostA); !ok || m.Via != dptest.HostA {
				t.Errorf("Lookup(host A) during the park: %+v %v", m, ok)
			}
			late := netip.MustParsePrefix("198.51.100.0/24")
			if err := ctl.AddRoute(late, dptest.HostB); err != nil {
				t.Errorf("AddRoute during the park: %v", err)
			}
			close(resume)
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			ctl.Publish()
			for _, p := range []netip.Prefix{ps[0], ps[len(ps)/2], ps[len(ps)-1], late} {
				if m, ok := ctl.LookupPrefix(p); ok && m.Prefix == p {
					t.Errorf("%v still in the FIB after its interface went down: %+v", p, m)
				}
			}
			if err := set(1, true); err != nil {
				t.Fatal(err)
			}
			ctl.Publish()
			for _, p := range []netip.Prefix{ps[0], ps[len(ps)/2], ps[len(ps)-1], late} {
				if m, ok := ctl.LookupPrefix(p); !ok || m.Prefix != p || m.Via != dptest.HostB {
					t.Errorf("%v after its interface came up: %+v %v, want it via host B", p, m, ok)
				}
			}
		})
	}
}

// TestLinkDownDuringReplace: a link that goes down while a full-table
// replace through it has let go of the lock parks the routes (letting go
// of the lock itself, so the replace goes on in its pauses); once both are
// done every route of the replace is parked, not in the FIB, and once the
// link is up again every one is back through the replace's gateway.
func TestLinkDownDuringReplace(t *testing.T) {
	l := dptest.New(t, dptest.Options{})
	ctl := l.Router
	old := table(60000)
	if err := ctl.AddRoutes(old, func(int) netip.Addr { return dptest.HostA }); err != nil {
		t.Fatal(err)
	}
	ps := table(65000) // the old ones through another gateway, and more
	release, done, err := pausedReplace(t, l, ps, dptest.HostB)
	downDone := make(chan error, 1)
	go func() { downDone <- ctl.SetLinkUp(1, false) }()
	time.Sleep(10 * time.Millisecond) // let it start; either order must end the same
	release()
	<-done
	if *err != nil {
		t.Fatal(*err)
	}
	if err := <-downDone; err != nil {
		t.Fatal(err)
	}
	ctl.Publish()
	for _, p := range []netip.Prefix{ps[0], ps[len(old)/2], ps[len(ps)-1]} {
		if m, ok := ctl.LookupPrefix(p); ok && m.Prefix == p {
			t.Errorf("%v in the FIB with if1 down: %+v", p, m)
		}
	}
	if err := ctl.SetLinkUp(1, true); err != nil {
		t.Fatal(err)
	}
	ctl.Publish()
	for _, p := range []netip.Prefix{ps[0], ps[len(old)/2], ps[len(ps)-1]} {
		if m, ok := ctl.LookupPrefix(p); !ok || m.Prefix != p || m.Via != dptest.HostB {
			t.Errorf("%v after if1 came up: %+v %v, want it via host B", p, m, ok)
		}
	}
}

// TestRuntimeRoutesLetsGoOfTheLock: RuntimeRoutes (which softnet run's
// reload calls to warn of run-time routes it removes) passes over every
// configured route, the full table; it lets go of the lock midway, and
// finds the run-time route among them.
func TestRuntimeRoutesLetsGoOfTheLock(t *testing.T) {
	l := dptest.New(t, dptest.Options{})
	ctl := l.Router
	ps := table(60000)
	if err := ctl.AddRoutes(ps, func(int) netip.Addr { return dptest.HostB }); err != nil {
		t.Fatal(err)
	}
	ctl.MarkConfigured()
	late := netip.MustParsePrefix("198.51.100.0/24")
	if err := ctl.AddRoute(late, dptest.HostB); err != nil {
		t.Fatal(err)
	}
	yields := 0
	ctl.SetReplaceHookForTest(func() { yields++ })
	rt := ctl.RuntimeRoutes()
	if yields == 0 {
		t.Errorf("RuntimeRoutes over %d configured routes never let go of the lock", len(ps))
	}
	if len(rt) != 1 || rt[0] != late {
		t.Errorf("RuntimeRoutes: %v, want [%v]", rt, late)
	}
}

// TestDownEmptyInterfaceSkipsTheTable: an interface no route can go
// through (no address, no neighbour: a bridge member, a bare VLAN) going
// down does not pass over every configured route. softnet's soak toggles
// a bridge member's down flag by reload: each toggle passed over the full
// table under the lock (seconds), and API calls waited.
func TestDownEmptyInterfaceSkipsTheTable(t *testing.T) {
	l := dptest.New(t, dptest.Options{})
	ctl := l.Router
	ps := table(60000)
	if err := ctl.AddRoutes(ps, func(int) netip.Addr { return dptest.HostB }); err != nil {
		t.Fatal(err)
	}
	idx, err := ctl.AddInterface(control.IfaceConfig{Name: "if1.999", Parent: "if1", VLAN: 999})
	if err != nil {
		t.Fatal(err)
	}
	passes := 0
	ctl.SetReplaceHookForTest(func() { passes++ })
	if err := ctl.SetInterfaceUp(idx, false); err != nil {
		t.Fatal(err)
	}
	if passes != 0 {
		t.Errorf("admin down of %s, which no route goes through, passed over the %d routes (let go of the lock %d times)", "if1.999", len(ps), passes)
	}
	ctl.Publish()
	if m, ok := ctl.LookupPrefix(ps[0]); !ok || m.Prefix != ps[0] {
		t.Errorf("%v after if1.999 went down: %+v %v, want it in the FIB", ps[0], m, ok)
	}
	// if1 itself has them: they go.
	if err := ctl.SetInterfaceUp(1, false); err != nil {
		t.Fatal(err)
	}
	ctl.Publish()
	if m, ok := ctl.LookupPrefix(ps[0]); ok && m.Prefix == ps[0] {
		t.Errorf("%v after if1 went down: %+v, want it parked", ps[0], m)
	}
}
