package api

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"

	"github.com/softnet/softnet/dp"
)

// VLAN is one VLAN sub-interface in GET /v1/vlans.
type VLAN struct {
	Name      string   `json:"name"`
	Parent    string   `json:"parent"`
	VLAN      int      `json:"vlan"`
	OuterVLAN int      `json:"outer_vlan,omitempty"` // QinQ
	TPID      string   `json:"tpid,omitempty"`       // the outer tag's, QinQ only
	MTU       int      `json:"mtu"`
	State     string   `json:"state"` // up, down
	Addresses []string `json:"addresses"`
	RxPackets uint64   `json:"rx_packets"`
	RxBytes   uint64   `json:"rx_bytes"`
	TxPackets uint64   `json:"tx_packets"`
	TxBytes   uint64   `json:"tx_bytes"`
}

// Bridge is one bridge in GET /v1/bridges.
type Bridge struct {
	Name    string   `json:"name"`
	Members []string `json:"members"`
	BVI     string   `json:"bvi,omitempty"`
	MACs    []MAC    `json:"macs"`
}

// MAC is one learned MAC of a bridge: the member it was learned on, in
// which worker's table (each worker learns what it sees).
type MAC struct {
	MAC    string `json:"mac"`
	Member string `json:"member"`
	Worker int    `json:"worker"`
}

func (s *Server) vlans(w http.ResponseWriter, _ *http.Request) {
	out := []VLAN{}
	for _, v := range s.src.Control().VLANs() {
		o := VLAN{Name: v.Name, Parent: v.Parent, VLAN: v.VLAN, OuterVLAN: v.OuterVLAN, MTU: v.MTU, State: updown(v.Up),
			Addresses: []string{}, RxPackets: v.RxPackets, RxBytes: v.RxBytes, TxPackets: v.TxPackets, TxBytes: v.TxBytes}
		if v.OuterVLAN != 0 {
			o.TPID = fmt.Sprintf("%#04x", v.TPID)
		}
		for _, a := range v.Addrs {
			o.Addresses = append(o.Addresses, prefixOf(a).String())
		}
		out = append(out, o)
	}
	JSON(w, http.StatusOK, out)
}

func prefixOf(a dp.IfaceAddr) netip.Prefix {
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(a.Addr >> 24), byte(a.Addr >> 16), byte(a.Addr >> 8), byte(a.Addr)}), int(a.Len))
}

// bridges is GET /v1/bridges[?name=NAME].
func (s *Server) bridges(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("name")
	out := []Bridge{}
	var names []string
	for _, b := range s.src.Control().Bridges() {
		names = append(names, b.Name)
		if name != "" && b.Name != name {
			continue
		}
		o := Bridge{Name: b.Name, Members: b.Members, BVI: b.BVI, MACs: []MAC{}}
		for _, m := range b.MACs {
			o.MACs = append(o.MACs, MAC{MAC: net.HardwareAddr(m.MAC[:]).String(), Member: m.Member, Worker: m.Worker})
		}
		slices.SortFunc(o.MACs, func(a, b MAC) int { return strings.Compare(a.MAC, b.MAC) })
		out = append(out, o)
	}
	if name != "" && len(out) == 0 {
		Error(w, http.StatusNotFound, fmt.Errorf("no bridge %q: the router has %s", name, orNone(names)))
		return
	}
	JSON(w, http.StatusOK, out)
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}
