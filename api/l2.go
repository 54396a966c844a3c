package api

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/softnet/softnet/config"
	"github.com/softnet/softnet/control"
	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/internal/rules"
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
	// BVIMTU is the routed interface's MTU, capped to MemberMTU: the
	// smallest of the members' MTUs (MemberMTUOf's).
	BVIMTU      int    `json:"bvi_mtu,omitempty"`
	MemberMTU   int    `json:"member_mtu"`
	MemberMTUOf string `json:"member_mtu_of"`
	MACs        []MAC  `json:"macs"`
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

func prefixOf(a dp.IfaceAddr) netip.Prefix { return a.Prefix() }

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
		o := Bridge{Name: b.Name, Members: b.Members, BVI: b.BVI, BVIMTU: b.BVIMTU, MemberMTU: b.MemberMTU, MemberMTUOf: b.MemberMTUOf, MACs: []MAC{}}
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

// VLANRequest is the body of POST /v1/vlans: a VLAN sub-interface to
// create at run time.
type VLANRequest struct {
	Name      string   `json:"name"`
	Parent    string   `json:"parent"`
	VLAN      int      `json:"vlan"`
	OuterVLAN int      `json:"outer_vlan,omitempty"` // QinQ
	TPID      string   `json:"tpid,omitempty"`       // QinQ outer TPID: 0x88a8 (default), 0x8100, 0x9100
	MTU       int      `json:"mtu,omitempty"`        // default: the parent's less the tag bytes
	Addresses []string `json:"addresses,omitempty"`
	Down      bool     `json:"down,omitempty"`
}

// vlanAdd is POST /v1/vlans: it creates a VLAN sub-interface (one
// published snapshot, nothing half-applied).
func (s *Server) vlanAdd(w http.ResponseWriter, r *http.Request) {
	var req VLANRequest
	if err := decode(w, r, &req); err != nil {
		Error(w, bodyStatus(err), err)
		return
	}
	if req.Name == "" || req.Parent == "" {
		Error(w, http.StatusBadRequest, fmt.Errorf("vlan: give a name and a parent interface"))
		return
	}
	if !config.ValidName(req.Name) {
		Error(w, http.StatusBadRequest, fmt.Errorf("vlan %q: a name is letters, digits, '-', '_' and '.', e.g. eth0.100", req.Name))
		return
	}
	c := control.IfaceConfig{Name: req.Name, Parent: req.Parent, VLAN: req.VLAN, OuterVLAN: req.OuterVLAN, MTU: req.MTU, Down: req.Down}
	if req.TPID != "" {
		v, err := strconv.ParseUint(strings.TrimPrefix(strings.ToLower(req.TPID), "0x"), 16, 16)
		if err != nil {
			Error(w, http.StatusBadRequest, fmt.Errorf("vlan %s: tpid %q: write it in hex, e.g. 0x88a8", req.Name, req.TPID))
			return
		}
		c.TPID = uint16(v)
	}
	for _, a := range req.Addresses {
		p, err := netip.ParsePrefix(a)
		if err != nil || rules.Family(p.Addr()) != nil {
			Error(w, http.StatusBadRequest, fmt.Errorf("vlan %s: address %q is not an IPv4 prefix (write A.B.C.D/N, e.g. 192.0.2.1/24)", req.Name, a))
			return
		}
		c.Addrs = append(c.Addrs, p)
	}
	ctl := s.src.Control()
	if _, err := ctl.AddInterface(c); err != nil {
		Error(w, http.StatusUnprocessableEntity, err)
		return
	}
	ctl.Publish()
	JSON(w, http.StatusOK, req)
}

// vlanDel is DELETE /v1/vlans?name=NAME.
func (s *Server) vlanDel(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("name")
	if name == "" {
		Error(w, http.StatusBadRequest, fmt.Errorf("vlan: give the sub-interface to delete: DELETE /v1/vlans?name=NAME"))
		return
	}
	if err := s.src.Control().DeleteVLAN(name); err != nil {
		Error(w, http.StatusUnprocessableEntity, err)
		return
	}
	JSON(w, http.StatusOK, map[string]string{"deleted": name})
}
