package api_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/softnet/softnet/api"
	"github.com/softnet/softnet/config"
)

// TestSameValidationEverywhere (issue 17, defect 11): the same bad route or
// neighbour is refused with the same message by softnet check (the config
// file), the control API (route add, neighbor add) and reload; a route
// file's prefixes follow the rules of config routes. Nothing is changed by
// the refusals.
func TestSameValidationEverywhere(t *testing.T) {
	r, _, c, file := start(t, configText("", "", 1000))
	ctx := context.Background()
	dir := filepath.Dir(file)
	probes := []string{"198.18.0.1", "192.0.2.1", "10.0.2.2", "10.0.1.1", "10.0.2.255", "10.0.2.7"}
	before := fingerprint(t, c, probes)
	pub := r.Control().Stats().Publishes

	type route struct{ prefix, via string } // via "" is a blackhole
	type nbr struct{ iface, addr, mac string }
	cases := []struct {
		name string
		rt   *route
		nb   *nbr
		file bool // the route goes in a route file too
		want string
		code int // the API's status
	}{
		{"next hop is the router's", &route{"192.0.2.0/24", "10.0.2.1"}, nil, false,
			"10.0.2.1 is wan0's own address: a next hop must be another host on its subnet", 422},
		{"next hop is a network address", &route{"192.0.2.0/24", "10.0.2.0"}, nil, false,
			"10.0.2.0 is the network address of wan0's subnet 10.0.2.0/24: a next hop must be another host on the subnet", 422},
		{"next hop is a broadcast address", &route{"192.0.2.0/24", "10.0.2.255"}, nil, false,
			"10.0.2.255 is the broadcast address of wan0's subnet 10.0.2.0/24: a next hop must be another host on the subnet", 422},
		{"next hop off every subnet", &route{"192.0.2.0/24", "192.168.9.1"}, nil, false,
			"192.168.9.1 is on no interface's subnet (lan0 10.0.1.0/24, wan0 10.0.2.0/24): add an address on its subnet to an interface, or fix the next hop", 422},
		{"route to the router's address", &route{"10.0.1.1/32", ""}, nil, true,
			"10.0.1.1/32 is lan0's own address (local route): that route belongs to the interface and a configured route cannot replace it; remove this route, route a more specific prefix, or change the interface's address", 422},
		{"route to a connected subnet", &route{"10.0.2.0/24", "10.0.2.2"}, nil, true,
			"10.0.2.0/24 is wan0's connected subnet: that route belongs to the interface", 422},
		{"route to a broadcast address", &route{"10.0.2.255/32", ""}, nil, true,
			"10.0.2.255/32 is the broadcast address of wan0's subnet 10.0.2.0/24: that route belongs to the interface", 422},
		{"route with host bits", &route{"192.0.2.1/24", "10.0.2.2"}, nil, true,
			`"192.0.2.1/24" has host bits set: write 192.0.2.0/24`, 400},
		{"neighbour MAC all zeros", nil, &nbr{"wan0", "10.0.2.7", "00:00:00:00:00:00"}, false,
			"00:00:00:00:00:00 is not a unicast MAC address: the first byte must be even and the address not all zeros (e.g. 02:00:00:00:00:01)", 400},
		{"neighbour MAC broadcast", nil, &nbr{"wan0", "10.0.2.7", "ff:ff:ff:ff:ff:ff"}, false,
			"ff:ff:ff:ff:ff:ff is not a unicast MAC address", 400},
		{"neighbour MAC multicast", nil, &nbr{"wan0", "10.0.2.7", "01:00:5e:00:00:01"}, false,
			"01:00:5e:00:00:01 is not a unicast MAC address", 400},
		{"neighbour is the router", nil, &nbr{"wan0", "10.0.2.1", "02:bb:00:00:00:07"}, false,
			"10.0.2.1 is wan0's own address: a neighbour must be another host on its subnet", 422},
		{"neighbour is a network address", nil, &nbr{"wan0", "10.0.2.0", "02:bb:00:00:00:07"}, false,
			"10.0.2.0 is the network address of wan0's subnet 10.0.2.0/24: a neighbour must be another host on the subnet", 422},
		{"neighbour is a broadcast address", nil, &nbr{"wan0", "10.0.2.255", "02:bb:00:00:00:07"}, false,
			"10.0.2.255 is the broadcast address of wan0's subnet 10.0.2.0/24: a neighbour must be another host on the subnet", 422},
		{"neighbour off the interface's subnets", nil, &nbr{"lan0", "10.0.2.7", "02:bb:00:00:00:07"}, false,
			"10.0.2.7 is not on a subnet of lan0 (10.0.1.0/24): fix the address or the interface", 422},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var routes, nbrs string
			var apiErr error
			if tc.rt != nil {
				req := api.RouteRequest{Prefix: tc.rt.prefix, Via: tc.rt.via, Blackhole: tc.rt.via == ""}
				if req.Blackhole {
					routes = "  - {prefix: " + tc.rt.prefix + ", blackhole: true}"
				} else {
					routes = "  - {prefix: " + tc.rt.prefix + ", via: " + tc.rt.via + "}"
				}
				apiErr = c.AddRoute(ctx, req)
			} else {
				nbrs = "  - {interface: " + tc.nb.iface + ", address: " + tc.nb.addr + ", mac: \"" + tc.nb.mac + "\"}"
				apiErr = c.AddNeighbor(ctx, api.NeighborRequest{Interface: tc.nb.iface, Address: tc.nb.addr, MAC: tc.nb.mac})
			}
			srcs := map[string]string{"config": configText(routes, nbrs, 1000)}
			if tc.file {
				rf := filepath.Join(dir, "bad-routes.txt")
				if err := os.WriteFile(rf, []byte("# a route file\n203.0.113.0/24\n"+tc.rt.prefix+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				via := "via: 10.0.2.2"
				if tc.rt.via == "" {
					via = "blackhole: true"
				}
				srcs["route file"] = configText("", "", 1000) + "route_files:\n  - {path: bad-routes.txt, " + via + "}\n"
			}

			var ae *api.APIError
			if !errors.As(apiErr, &ae) || ae.Status != tc.code || !strings.Contains(ae.Error(), tc.want) {
				t.Errorf("API: %v, want %d and %q", apiErr, tc.code, tc.want)
			}
			for what, src := range srcs {
				bad := filepath.Join(dir, "bad.yaml")
				if err := os.WriteFile(bad, []byte(src), 0o644); err != nil {
					t.Fatal(err)
				}
				_, _, err := config.Check(bad)
				var ce config.Errors
				if !errors.As(err, &ce) || len(ce) != 1 || !strings.Contains(ce[0].Msg, tc.want) || ce[0].Pos.Line == 0 {
					t.Errorf("check (%s): %v, want one error at a line with %q", what, err, tc.want)
				}
				if what == "route file" && (ce == nil || !strings.Contains(ce[0].Msg, "bad-routes.txt: fib: line 3: ")) {
					t.Errorf("check (%s): %v, want the route file's line 3", what, err)
				}
				_, err = c.Reload(ctx, bad)
				if !errors.As(err, &ae) || ae.Status != 422 || len(ae.Details) != 1 || ce == nil || ae.Details[0] != ce[0].Error() {
					t.Errorf("reload (%s): %v, want check's error %v", what, err, ce)
				}
			}
		})
	}
	if after := fingerprint(t, c, probes); after != before {
		t.Errorf("the refusals changed the router:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if p := r.Control().Stats().Publishes; p != pub {
		t.Errorf("%d snapshots published by refused changes", p-pub)
	}
}
