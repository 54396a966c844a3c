package run

import (
	"time"

	"github.com/softnet/softnet/config"
	"github.com/softnet/softnet/control"
	"github.com/softnet/softnet/dp/filter"
)

// filterConfig is the control plane's form of cfg's filter section (nil:
// no section).
func filterConfig(cfg *config.Config) control.FilterConfig {
	f := cfg.Filter
	if f == nil {
		return control.FilterConfig{} // pass everything, keep no state
	}
	sec := func(s int) int64 { return int64(time.Duration(s) * time.Second) }
	t := f.Timeouts
	c := control.FilterConfig{Default: f.Default, Rules: f.Rules, Limit: f.Limit,
		Timeouts: filter.Timeouts{TCPOpening: sec(t.TCPOpening), TCPEstablished: sec(t.TCPEstablished), TCPClosing: sec(t.TCPClosing),
			TCPClosed: sec(t.TCPClosed), UDP: sec(t.UDP), ICMP: sec(t.ICMP), Other: sec(t.Other)}}
	for _, tb := range f.Tables {
		ft := control.FilterTable{Name: tb.Name, Addrs: tb.Addresses}
		if tb.File != "" {
			ft.File = cfg.Path(tb.File)
		}
		c.Tables = append(c.Tables, ft)
	}
	return c
}

// filterSpread reports whether every receive queue must be spread in
// software (dp.Spread: rss's symmetric Toeplitz hash) so that both
// directions of each flow reach the worker that holds its state: when
// the config has a filter, several workers, and a port that is not a
// multi-queue AF_PACKET port. AF_PACKET's PACKET_FANOUT_HASH is the
// kernel's flow hash, symmetric and the same on every port, so a router
// of AF_PACKET ports alone needs nothing more; an AF_XDP queue is the
// NIC's choice (veth: the sending queue's), not symmetric in general
// (TestFilterWorkersSymmetric saw SYN-ACKs on the other worker), and a
// single-queue port is polled by one worker whatever the flow. It is
// decided at start-up: a filter added by a reload to such a router is
// not spread (restart it).
func filterSpread(cfg *config.Config, ifaces []*iface, workers int) bool {
	if cfg.Filter == nil || workers < 2 {
		return false
	}
	for _, ifc := range ifaces {
		if ifc.cfg.Backend != config.AFPacket || ifc.queues < workers {
			return true
		}
	}
	return false
}

// applyFilter sets the filter of cfg (start-up and reload): on a reload,
// the rules change and every worker's states stay.
func (r *Router) applyFilter(cfg *config.Config, reload bool) error {
	if cfg.Filter == nil && !reload {
		return nil
	}
	if cfg.Filter == nil && !r.ctl.FilterOn() {
		return nil
	}
	if err := r.ctl.SetFilter(filterConfig(cfg)); err != nil {
		field := "filter"
		return config.Errors{cfg.Errorf(field, "%v", err)}
	}
	return nil
}
