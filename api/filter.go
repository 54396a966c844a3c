package api

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"github.com/softnet/softnet/control"
)

// FilterRules is GET /v1/filter/rules: the state tables' counters summed
// over the workers and the rules in force with their counters, the
// default policy last (number 0).
type FilterRules struct {
	Stats control.FilterStats `json:"stats"`
	Rules []control.RuleInfo  `json:"rules"`
}

// StateQuery selects states (GET /v1/filter/states, POST
// /v1/filter/states/flush): by an address of either side, a port of
// either side, a protocol (tcp, udp, icmp, ipv6-icmp); empty: all.
type StateQuery struct {
	Addr  string `json:"addr,omitempty"`
	Port  int    `json:"port,omitempty"`
	Proto string `json:"proto,omitempty"`
}

// FlushResult is the answer of POST /v1/filter/states/flush.
type FlushResult struct {
	Flushed int `json:"flushed"`
}

func (q StateQuery) filter() (control.StateFilter, error) {
	var f control.StateFilter
	if q.Addr != "" {
		a, err := netip.ParseAddr(q.Addr)
		if err != nil {
			return f, fmt.Errorf("addr %q is not an IPv4 or IPv6 address", q.Addr)
		}
		f.Addr = a
	}
	if q.Port < 0 || q.Port > 65535 {
		return f, fmt.Errorf("port %d: want 1..65535", q.Port)
	}
	f.Port = uint16(q.Port)
	switch q.Proto {
	case "":
	case "tcp":
		f.Proto = 6
	case "udp":
		f.Proto = 17
	case "icmp":
		f.Proto = 1
	case "ipv6-icmp", "icmp6":
		f.Proto = 58
	default:
		return f, fmt.Errorf("proto %q: want tcp, udp, icmp or ipv6-icmp", q.Proto)
	}
	return f, nil
}

var errNoFilter = fmt.Errorf("no filter: add a filter section to the config and run softnet reload")

func (s *Server) filterRules(w http.ResponseWriter, _ *http.Request) {
	ctl := s.src.Control()
	st, ok := ctl.FilterStats()
	if !ok {
		Error(w, http.StatusNotFound, errNoFilter)
		return
	}
	JSON(w, http.StatusOK, FilterRules{Stats: st, Rules: ctl.FilterRules()})
}

func (s *Server) filterStates(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	q := StateQuery{Addr: v.Get("addr"), Proto: v.Get("proto")}
	if p := v.Get("port"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil {
			Error(w, http.StatusBadRequest, fmt.Errorf("port=%q: give a number 1..65535", p))
			return
		}
		q.Port = n
	}
	max := 0
	if m := v.Get("max"); m != "" {
		n, err := strconv.Atoi(m)
		if err != nil || n < 0 {
			Error(w, http.StatusBadRequest, fmt.Errorf("max=%q: give the most states to list (0: all)", m))
			return
		}
		max = n
	}
	f, err := q.filter()
	if err != nil {
		Error(w, http.StatusBadRequest, err)
		return
	}
	if !s.src.Control().FilterOn() {
		Error(w, http.StatusNotFound, errNoFilter)
		return
	}
	out, err := s.src.Control().FilterStates(f, max)
	if err != nil {
		Error(w, http.StatusServiceUnavailable, err)
		return
	}
	if out == nil {
		out = []control.StateInfo{}
	}
	JSON(w, http.StatusOK, out)
}

func (s *Server) filterFlush(w http.ResponseWriter, r *http.Request) {
	var q StateQuery
	if err := decode(w, r, &q); err != nil {
		Error(w, bodyStatus(err), err)
		return
	}
	f, err := q.filter()
	if err != nil {
		Error(w, http.StatusBadRequest, err)
		return
	}
	if !s.src.Control().FilterOn() {
		Error(w, http.StatusNotFound, errNoFilter)
		return
	}
	n, err := s.src.Control().FlushStates(f)
	if err != nil {
		Error(w, http.StatusServiceUnavailable, err)
		return
	}
	JSON(w, http.StatusOK, FlushResult{Flushed: n})
}

// FilterRules is GET /v1/filter/rules.
func (c *Client) FilterRules(ctx context.Context) (out FilterRules, err error) {
	return out, c.get(ctx, "/v1/filter/rules", &out)
}

// FilterStates is GET /v1/filter/states (max 0: all).
func (c *Client) FilterStates(ctx context.Context, q StateQuery, max int) (out []control.StateInfo, err error) {
	v := url.Values{}
	if q.Addr != "" {
		v.Set("addr", q.Addr)
	}
	if q.Port != 0 {
		v.Set("port", strconv.Itoa(q.Port))
	}
	if q.Proto != "" {
		v.Set("proto", q.Proto)
	}
	if max > 0 {
		v.Set("max", strconv.Itoa(max))
	}
	p := "/v1/filter/states"
	if len(v) > 0 {
		p += "?" + v.Encode()
	}
	return out, c.get(ctx, p, &out)
}

// FlushStates is POST /v1/filter/states/flush.
func (c *Client) FlushStates(ctx context.Context, q StateQuery) (out FlushResult, err error) {
	return out, c.Do(ctx, http.MethodPost, "/v1/filter/states/flush", q, &out)
}

// ParseStateQuery reads the CLI's state filter words: an address, a port
// number, or a protocol name, in any order, each at most once.
func ParseStateQuery(words []string) (StateQuery, error) {
	var q StateQuery
	// A kind given twice is refused, not overridden: a flush of
	// "10.0.1.2 10.0.1.3" would remove every state of 10.0.1.3.
	second := func(w, kind, first string) error {
		return fmt.Errorf("%q: a second %s (after %s): give at most one address, one port and one protocol", w, kind, first)
	}
	for _, w := range words {
		switch {
		case w == "tcp" || w == "udp" || w == "icmp" || w == "ipv6-icmp" || w == "icmp6":
			if q.Proto != "" {
				return q, second(w, "protocol", q.Proto)
			}
			q.Proto = w
		case strings.ContainsAny(w, ".:"):
			if _, err := netip.ParseAddr(w); err != nil {
				return q, fmt.Errorf("%q is not an address: give one address of either side, e.g. 10.0.1.2 (prefixes are not matched)", w)
			}
			if q.Addr != "" {
				return q, second(w, "address", q.Addr)
			}
			q.Addr = w
		default:
			n, err := strconv.Atoi(w)
			if err != nil || n < 1 || n > 65535 {
				return q, fmt.Errorf("%q: a filter word is an address, a port (1..65535) or tcp, udp, icmp, ipv6-icmp", w)
			}
			if q.Port != 0 {
				return q, second(w, "port", strconv.Itoa(q.Port))
			}
			q.Port = n
		}
	}
	return q, nil
}
