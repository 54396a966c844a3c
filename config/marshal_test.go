package config

import (
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// everyField is a config that sets every field config accepts (somewhere:
// pcap fields on a pcap interface, stack_drop on an afpacket one, ...).
const everyField = `workers: 2
poll_mode: adaptive
poll_window: 750us
interfaces:
  - name: lan0
    backend: afpacket
    device: eth0
    mac: 02:00:00:00:00:01
    mtu: 1400
    addresses: [10.0.1.1/24, 2001:db8:1::1/64]
    down: true
    stack_drop: true
    router_advertisements: true
  - name: cap0
    backend: pcap
    rx: /data/in.pcap
    tx: /data/out.pcap
    loop: true
    rate: 1000.5
    limit: 77
    addresses: [10.0.2.1/24]
  - name: lan0.100
    parent: lan0
    vlan: 100
    outer_vlan: 200
    tpid: 0x9100
  - name: bvi0
    bridge: br0
    addresses: [10.0.3.1/24]
  - name: p1
    backend: mem
  - name: p2
    backend: mem
bridges:
  - {name: br0, members: [p1, p2], max_macs: 100, ageing: 60, flood_rate: 500, flood_burst: 50}
routes:
  - {prefix: 198.18.0.0/15, via: 10.0.2.2}
  - {prefix: 203.0.113.0/24, blackhole: true}
route_files:
  - {path: /data/table.txt, via: 10.0.2.2, via6: 2001:db8:1::2}
  - {path: /data/bh.txt, blackhole: true}
neighbors:
  - {interface: cap0, address: 10.0.2.2, mac: 02:bb:00:00:00:02}
blocklists:
  - {name: flood, file: /data/flood.txt.gz, match: dst, interfaces: [lan0]}
icmp: {rate: 10, burst: 5}
api: {socket: /run/x.sock, group: wheel, metrics: 127.0.0.1:9977}
linux_cp: {namespace: router, interfaces: [cap0], tables: [main, 100], protocols: [bgp, 17], rcvbuf: 1048576}
filter:
  default: block
  limit: 1000
  timeouts: {tcp_opening: 1, tcp_established: 2, tcp_closing: 3, tcp_closed: 4, udp: 5, icmp: 6, other: 7}
  tables:
    - {name: t1, file: /data/t1.txt, addresses: [10.0.0.0/8, 192.0.2.1/32]}
  rules:
    - pass out
    - pass in on lan0.100 inet proto tcp from <t1> to ! 10.9.0.0/16 port {22, 80:90} flags S/SA keep state
captures:
  - {name: lan, interface: lan0, point: drop, reason: ip4-lookup/blackhole, filter: icmp, snaplen: 128, path: /data/lan.pcapng, max_size: 10MB, max_files: 3, format: pcap}
`

// TestMarshalEveryField: a config with every field set comes back the same
// after Marshal and Parse. It fails when a field is added to the config
// (to its structs or to the fields Parse accepts) and not to Marshal or to
// everyField: set it in everyField and write it in Marshal.
func TestMarshalEveryField(t *testing.T) {
	c, err := Parse("/data/t.yaml", []byte(everyField))
	if err != nil {
		t.Fatal(err)
	}
	// everyField must set every field of every struct somewhere.
	cv := reflect.ValueOf(*c)
	for i := 0; i < cv.NumField(); i++ {
		f := cv.Type().Field(i)
		if !f.IsExported() || f.Name == "File" {
			continue
		}
		v := cv.Field(i)
		if v.IsZero() {
			t.Errorf("everyField does not set Config.%s: set it (and write it in Marshal)", f.Name)
			continue
		}
		elems := []reflect.Value{v}
		if v.Kind() == reflect.Slice {
			elems = nil
			for j := 0; j < v.Len(); j++ {
				elems = append(elems, v.Index(j))
			}
		}
		if elems[0].Kind() != reflect.Struct {
			continue
		}
		st := elems[0].Type()
		for k := 0; k < st.NumField(); k++ {
			if st.Field(k).Name == "Field" {
				continue
			}
			set := false
			for _, e := range elems {
				set = set || !e.Field(k).IsZero()
			}
			if !set {
				t.Errorf("everyField does not set %s.%s anywhere: set it (and write it in Marshal)", st.Name(), st.Field(k).Name)
			}
		}
	}
	// Every key Parse knows is written.
	y, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Top        map[string]any   `yaml:",inline"`
		Interfaces []map[string]any `yaml:"interfaces"`
	}
	if err := yaml.Unmarshal(y, &doc); err != nil {
		t.Fatal(err)
	}
	for _, k := range topFields {
		if _, ok := doc.Top[k]; !ok && k != "interfaces" {
			t.Errorf("Marshal does not write %s:\n%s", k, y)
		}
	}
	for _, k := range ifaceFields {
		found := false
		for _, ic := range doc.Interfaces {
			_, ok := ic[k]
			found = found || ok
		}
		if !found {
			t.Errorf("Marshal does not write the interface field %s:\n%s", k, y)
		}
	}
	// And it reads back the same.
	c2, err := Parse("/data/t.yaml", y)
	if err != nil {
		t.Fatalf("%v\n%s", err, y)
	}
	if !reflect.DeepEqual(strip(c), strip(c2)) {
		t.Errorf("round trip changed the config:\n got %+v\nwant %+v\n%s", strip(c2), strip(c), y)
	}
	if !strings.Contains(string(y), "stack_drop: true") {
		t.Errorf("stack_drop lost:\n%s", y)
	}
}

// strip is c without what Parse records of the file (positions, Field).
func strip(c *Config) Config {
	out := *c
	out.pos = nil
	clear := func(v reflect.Value) {
		for i := 0; i < v.Len(); i++ {
			if f := v.Index(i).FieldByName("Field"); f.IsValid() {
				f.SetString("")
			}
		}
	}
	out.Interfaces = append([]Interface(nil), c.Interfaces...)
	out.Bridges = append([]Bridge(nil), c.Bridges...)
	out.Routes = append([]Route(nil), c.Routes...)
	out.RouteFiles = append([]RouteFile(nil), c.RouteFiles...)
	out.Neighbors = append([]Neighbor(nil), c.Neighbors...)
	out.Blocklists = append([]Blocklist(nil), c.Blocklists...)
	for _, s := range []any{out.Interfaces, out.Bridges, out.Routes, out.RouteFiles, out.Neighbors, out.Blocklists} {
		clear(reflect.ValueOf(s))
	}
	return out
}
