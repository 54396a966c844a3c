package control

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/internal/pcapfilter"
)

// CaptureRequest is a packet capture as a user asks for it (see
// StartCapture and docs/api.md, POST /v1/capture).
type CaptureRequest struct {
	Interface string // "": every interface
	Rx, Tx    bool   // none of Rx, Tx, Drop: rx and tx
	Drop      bool
	Reason    string // drop: one reason, "node/name" or "name" (every node's); "": all
	Filter    string // tcpdump's language; "": every packet
	Snap      int    // bytes kept of each packet (0: all)
	RingBytes int    // per worker (0: dp.DefaultCapRing)
}

// maxSharedProgs bounds the compiled filters kept for sharing (a
// Program is immutable: one dropped from the map stays valid for the
// captures that use it).
const maxSharedProgs = 1024

// ErrNoCapture is returned by StopCapture for a capture not running.
var ErrNoCapture = errors.New("no such capture running")

// ResolveCapture turns a request into a dp.CaptureSpec: the interface
// and reason names checked against the running router, the filter
// compiled (a *pcapfilter.SyntaxError names its column).
func (r *Router) ResolveCapture(q CaptureRequest) (dp.CaptureSpec, error) {
	spec := dp.CaptureSpec{Rx: q.Rx, Tx: q.Tx, Drop: q.Drop, Snap: q.Snap, RingBytes: q.RingBytes}
	if !q.Rx && !q.Tx && !q.Drop {
		spec.Rx, spec.Tx = true, true
	}
	if q.Snap < 0 || q.Snap > 0xffff {
		return spec, fmt.Errorf("snap length %d: give 0 (whole packets) to 65535 bytes", q.Snap)
	}
	if q.RingBytes != 0 && (q.RingBytes < dp.MinCapRing || q.RingBytes > dp.MaxCapRing) {
		return spec, fmt.Errorf("ring of %d bytes: give %d to %d bytes per worker", q.RingBytes, dp.MinCapRing, dp.MaxCapRing)
	}
	if q.Reason != "" {
		if !q.Drop {
			return spec, fmt.Errorf("drop reason %q without a drop capture: ask for drop too", q.Reason)
		}
		rs := ReasonsNamed(q.Reason)
		if len(rs) == 0 {
			return spec, fmt.Errorf("no drop reason %q: give one of those softnet show errors lists (such as %s), as node/reason or reason", q.Reason, dp.Reason(1).String())
		}
		spec.Reasons = rs
	}
	vlanTags := 0
	if q.Interface != "" {
		r.mu.Lock()
		i, tags := -1, 0
		var names []string
		for j := range r.ifaces {
			if r.ifaces[j].Deleted {
				continue
			}
			names = append(names, r.ifaces[j].Name)
			if r.ifaces[j].Name == q.Interface {
				i, tags = j, int(r.ifaces[j].TagLen)/dp.TagLen
			}
		}
		r.mu.Unlock()
		if i < 0 {
			return spec, fmt.Errorf("no interface %q: give one of %s", q.Interface, strings.Join(names, ", "))
		}
		spec.Ifaces = []int{i}
		vlanTags = tags
	}
	if strings.TrimSpace(q.Filter) != "" {
		raw, err := pcapfilter.Compile(q.Filter)
		if err != nil {
			return spec, err // its columns are the user's
		}
		expr := q.Filter
		if vlanTags > 0 {
			// A VLAN sub-interface's frames carry their tags: the filter
			// is about what is inside them, as "vlan and (EXPR)".
			expr = strings.Repeat("vlan and ", vlanTags) + "(" + q.Filter + ")"
			if raw, err = pcapfilter.Compile(expr); err != nil {
				return spec, fmt.Errorf("filter %q inside the tags of %s: %w", q.Filter, q.Interface, err)
			}
		}
		// Captures of the same expression share one program: a worker
		// meeting many taps keeps one program in its caches.
		r.mu.Lock()
		p := r.progs[expr]
		r.mu.Unlock()
		if p == nil {
			if p, err = pcapfilter.NewProgram(raw); err != nil {
				return spec, fmt.Errorf("filter %q: %w", q.Filter, err)
			}
			r.mu.Lock()
			if r.progs == nil || len(r.progs) >= maxSharedProgs {
				r.progs = map[string]*pcapfilter.Program{}
			}
			r.progs[expr] = p
			r.mu.Unlock()
		}
		spec.Filter = p
	}
	return spec, nil
}

// ReasonsNamed is the drop reasons named s: "node/name" (one) or "name"
// (that reason of every node that has it).
func ReasonsNamed(s string) []dp.Reason {
	var out []dp.Reason
	for rs := dp.Reason(1); rs < dp.NumReasons; rs++ {
		if rs.String() == s || rs.Name() == s {
			out = append(out, rs)
		}
	}
	return out
}

// StartCaptures installs captures (dp.NewCapture, for the attached
// workers) with one publish: from the next batch each worker feeds
// their rings. Stop them with StopCaptures.
func (r *Router) StartCaptures(specs ...dp.CaptureSpec) ([]*dp.Capture, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, w := range r.workers {
		n = max(n, w.ID+1)
	}
	var cs []*dp.Capture
	for _, s := range specs {
		c, err := dp.NewCapture(s, n)
		if err != nil {
			return nil, err
		}
		cs = append(cs, c)
	}
	r.captures = append(r.captures, cs...)
	r.publish()
	return cs, nil
}

// StopCaptures removes captures with one publish. Records already in
// their rings stay readable (Drain).
func (r *Router) StopCaptures(cs ...*dp.Capture) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	before := len(r.captures)
	r.captures = slices.DeleteFunc(r.captures, func(c *dp.Capture) bool { return slices.Contains(cs, c) })
	ended := false
	r.goneMu.Lock()
	for _, c := range cs {
		if _, ok := r.gone[c]; ok {
			delete(r.gone, c)
			ended = true
		}
	}
	r.goneMu.Unlock()
	if len(r.captures) == before {
		if ended {
			return nil // already out: its interface was deleted
		}
		return ErrNoCapture
	}
	if len(r.captures) == 0 {
		r.progs = nil
	}
	r.publish()
	return nil
}

// Captures is the number of captures running.
func (r *Router) Captures() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.captures)
}

// CaptureGone reports whether capture c ended because its interface, a
// VLAN sub-interface, was deleted (DeleteVLAN), and that interface's name.
// The workers feed it no more: its ring holds what they captured before.
func (r *Router) CaptureGone(c *dp.Capture) (iface string, gone bool) {
	r.goneMu.Lock()
	defer r.goneMu.Unlock()
	iface, gone = r.gone[c]
	return iface, gone
}

// endCaptures removes the captures of interface i alone, being deleted as
// name: its index may go to another VLAN later, whose packets are not
// theirs (CaptureGone tells their readers). The caller publishes. Caller
// holds mu.
func (r *Router) endCaptures(i int, name string) {
	r.goneMu.Lock()
	defer r.goneMu.Unlock()
	r.captures = slices.DeleteFunc(r.captures, func(c *dp.Capture) bool {
		if len(c.Spec.Ifaces) != 1 || c.Spec.Ifaces[0] != i {
			return false
		}
		if r.gone == nil {
			r.gone = map[*dp.Capture]string{}
		}
		r.gone[c] = name
		return true
	})
}
