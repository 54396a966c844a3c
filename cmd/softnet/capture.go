package main

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/signal"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/softnet/softnet/api"
	"github.com/softnet/softnet/control"
	"github.com/softnet/softnet/internal/capfile"
)

// dropAll is --drop given without a reason.
const dropAll = "*"

func captureCmd() *cobra.Command {
	var (
		iface, drop, write, format string
		rx, tx                     bool
		count, snap, buffer        int
		timeout                    time.Duration
		client                     func() *api.Client
	)
	cmd := &cobra.Command{
		Use:   "capture [-i IFACE] [--rx|--tx|--drop [REASON]] [-c N] [-s SNAPLEN] [-w FILE|-] [--timeout D] [EXPRESSION]",
		Short: "Capture a running router's packets, filtered in tcpdump's language",
		Long: `capture asks the running router (over its API socket, --api) to copy the
packets it sees at a capture point into the capture's ring, and prints them
one line per packet as tcpdump does, or writes them as pcapng (--format
pcapng, the default: interface names, direction, and the worker and drop
reason as packet comments) or pcap (--format pcap) to a file (-w FILE) or
to standard output (-w -; FILE is replaced only once the router has taken
the capture: one it refuses leaves FILE as it was), so that

  softnet capture -i wan0 -w - | tcpdump -r -
  softnet capture -i wan0 -w - | wireshark -k -i -

work. Capture points: --rx (what a port received, before any node; a frame
tagged for a VLAN sub-interface is the sub-interface's), --tx (what the
router gives the port), --drop (what the drop node frees, with its reason;
--drop REASON only that reason, as softnet show errors names it, node/reason
or reason; --drop=REASON cannot be read as the expression). Neither: --rx
and --tx. A packet the stateful filter dropped (--drop blocked, --drop
no-state: pflog's view) also names the rule that blocked it, "rule N (TEXT)"
as softnet show rules numbers them or "default policy block", after its
reason in the line and in its pcapng comment. -i limits it to one interface (a port
or a VLAN sub-interface; with --drop, the interface the packet came in on);
without it, every interface.

EXPRESSION is a filter in tcpdump's language (pcap-filter(7): host, net,
port, portrange, src/dst, ether, ip, ip6, arp, tcp, udp, icmp, vlan, proto,
greater/less, tcp[13] & 2 != 0, and/or/not; parentheses, not and unary minus
nest at most 100 levels deep); an error points at its column.

It ends after -c packets, after --timeout, or on Ctrl-C, and prints to
standard error how many packets it captured and how many the router's
capture rings dropped (a slow reader loses packets; it never slows the
router). A router that does not answer (stopped, or busy loading a table)
fails the capture with a message saying so (exit 1): one that has not
ended it 5s after --timeout, or that sends nothing for 30s (a running
capture hears from it every half second); Ctrl-C before the router took
the capture says so too (exit 1). A capture on a VLAN sub-interface that is deleted while it runs
ends too, with an error saying so (exit 1; what it captured is written in
full). Up to 64 captures may run at once. A capture costs the workers one
table index per packet at the points it taps; none costs nothing.`,
		Example: `  softnet capture -i wan0 icmp
  softnet capture -i wan0 -w - 'tcp port 80' | tcpdump -nr -
  softnet capture --drop ip4-lookup/blackhole -c 10
  softnet capture --drop blocked -w blocked.pcapng
  softnet capture -i eth0.100 --rx -s 128 -w vlan100.pcapng --timeout 1m`,
		RunE: func(cmd *cobra.Command, args []string) error {
			q := api.CaptureRequest{Interface: iface, Rx: rx, Tx: tx, Count: count, Snaplen: snap, Buffer: buffer}
			if cmd.Flags().Changed("drop") {
				q.Drop = true
				if drop == dropAll {
					// --drop REASON with a space: pflag leaves REASON
					// to the arguments. A known reason name is one.
					if len(args) > 0 && len(control.ReasonsNamed(args[0])) > 0 {
						drop, args = args[0], args[1:]
					} else {
						drop = ""
					}
				}
				q.Reason = drop
			}
			if count < 0 {
				return fmt.Errorf("-c %d: give a number of packets (0: no limit)", count)
			}
			if snap < 0 || snap > 65535 {
				return fmt.Errorf("-s %d: give a snap length of 0 (whole packets) to 65535 bytes", snap)
			}
			if timeout < 0 {
				return fmt.Errorf("--timeout %v: give a positive duration such as 30s (0: none)", timeout)
			}
			if timeout > 0 {
				q.Timeout = timeout.String()
			}
			if format != "pcapng" && format != "pcap" {
				return fmt.Errorf("--format %q: give pcapng or pcap", format)
			}
			q.Filter = strings.Join(args, " ")

			var out io.Writer
			var sink packetSink
			var of *outFile // -w FILE
			switch write {
			case "":
				sink = &textSink{w: cmd.OutOrStdout()}
			default:
				if write == "-" {
					out = cmd.OutOrStdout()
				} else {
					var err error
					if of, err = openOutFile(write); err != nil {
						return fmt.Errorf("-w %s: %v", write, err)
					}
					defer of.close()
					out = of
				}
				bw := bufio.NewWriter(out)
				defer func() {
					if of == nil || of.accepted {
						bw.Flush()
					}
				}()
				w, err := capfile.New(format, bw, snap)
				if err != nil {
					return err
				}
				sink = &fileSink{w: w}
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			var captured, dropped uint64
			ended, deleted := "", ""
			started := false // the router took the capture (its first event)
			c := client()
			// The router sends stats every half second while the capture
			// runs, and ends it at --timeout: one silent for longer than
			// defaultWait, or that has not ended it answerGrace after
			// --timeout, is stopped or busy (api.NoAnswerError).
			c.Wait = defaultWait
			if timeout > 0 {
				c.By = time.Now().Add(timeout + answerGrace)
			}
			err := c.Capture(ctx, q, func(ev *api.CaptureEvent) error {
				started = true
				if of != nil {
					of.accepted = true // the router took the capture: FILE may be replaced
				}
				switch ev.Type {
				case "packet":
					captured++
					if err := sink.packet(ev); err != nil {
						return err
					}
				case "stats", "end":
					dropped = ev.Dropped
					if ev.Type == "end" {
						ended, deleted = ev.End, ev.Interface
					}
					return sink.flush()
				}
				return nil
			})
			if of == nil || of.accepted {
				if ferr := sink.flush(); err == nil && ferr != nil {
					err = ferr
				}
			}
			var ae *api.APIError
			var na *api.NoAnswerError
			switch {
			case errors.As(err, &ae):
				return filterError(ae, q.Filter)
			case errors.As(err, &na) && !started:
				return fmt.Errorf("capture: %v: nothing captured", na)
			case errors.As(err, &na):
				return fmt.Errorf("capture: %v: it ended after %d packets (those are written in full)", na, captured)
			case ctx.Err() != nil && !started:
				// Ctrl-C before the router took the capture: nothing ran.
				return fmt.Errorf("capture: interrupted before the router at %s answered: nothing captured (is it stopped, or busy loading a table?)", c.Socket)
			case err != nil && ctx.Err() == nil && errors.Is(err, io.ErrUnexpectedEOF):
				return fmt.Errorf("capture: the router closed the connection after %d packets (is it stopping?)", captured)
			case err != nil && ctx.Err() == nil:
				return err
			case err == nil && ended == "":
				return fmt.Errorf("capture: the router ended the capture early (%d packets captured): is it stopping?", captured)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "%d packets captured\n%d packets dropped by the router's capture rings\n", captured, dropped)
			if ended == api.EndDeleted {
				return fmt.Errorf("capture: interface %s was deleted while the capture ran: it ended after %d packets (those are written in full)", deleted, captured)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&iface, "interface", "i", "", "capture on this interface (a port or a VLAN sub-interface); default every interface")
	f.BoolVar(&rx, "rx", false, "capture what the interfaces receive, before any node")
	f.BoolVar(&tx, "tx", false, "capture what the router gives the interfaces to send")
	f.StringVar(&drop, "drop", "", "capture dropped packets, of every reason or of REASON (node/reason or reason)")
	f.Lookup("drop").NoOptDefVal = dropAll
	f.IntVarP(&count, "count", "c", 0, "stop after this many packets (0: no limit)")
	f.IntVarP(&snap, "snaplen", "s", 0, "bytes kept of each packet (0: whole packets)")
	f.StringVarP(&write, "write", "w", "", "write the packets to FILE, or to standard output with -, instead of printing them")
	f.StringVar(&format, "format", "pcapng", "file format with -w: pcapng or pcap")
	f.DurationVar(&timeout, "timeout", 0, "stop after this long, such as 30s (0: on Ctrl-C or -c)")
	f.IntVar(&buffer, "buffer", 0, "bytes of each worker's capture ring (4096 to 67108864; 0: 1 MiB)")
	client = apiFlag(cmd, 0)
	return cmd
}

var columnRE = regexp.MustCompile(`column (\d+)`)

// filterError adds to an error about the filter the expression with a
// caret under the column it names.
func filterError(ae *api.APIError, expr string) error {
	m := columnRE.FindStringSubmatch(ae.Error())
	if m == nil || expr == "" || !strings.HasPrefix(ae.Error(), "expression:") {
		return ae
	}
	col, _ := strconv.Atoi(m[1])
	if col < 1 || col > len(expr)+1 {
		return ae
	}
	return fmt.Errorf("%s\n  %s\n  %s^", ae.Error(), expr, strings.Repeat(" ", col-1))
}

// packetSink is where captured packets go.
type packetSink interface {
	packet(ev *api.CaptureEvent) error
	flush() error
}

// textSink prints one line per packet, as tcpdump does.
type textSink struct{ w io.Writer }

func (s *textSink) packet(ev *api.CaptureEvent) error {
	t := time.Unix(0, ev.Time)
	where := ev.Interface + " " + ev.Point
	if ev.Reason != "" {
		where += " " + ev.Reason
	}
	if ev.Rule != "" {
		where += " by " + ev.Rule
	}
	_, err := fmt.Fprintf(s.w, "%s %s %s\n", t.Format("15:04:05.000000"), where, describeFrame(ev.Data, ev.Len))
	return err
}

func (s *textSink) flush() error { return nil }

// fileSink writes pcapng or pcap (package capfile).
// outFile is -w FILE: opened before the router is asked (a path that
// cannot be written fails first) but not truncated until the router has
// taken the capture (accepted, its first event): a capture it refuses
// (no such interface, a filter error, no router) leaves an existing FILE
// as it was, and removes the one it created.
type outFile struct {
	f         *os.File
	created   bool
	accepted  bool
	truncated bool
}

func openOutFile(name string) (*outFile, error) {
	_, err := os.Stat(name)
	created := errors.Is(err, os.ErrNotExist)
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE, 0o666)
	if err != nil {
		return nil, err
	}
	o := &outFile{f: f, created: created}
	if st, err := f.Stat(); err == nil && !st.Mode().IsRegular() {
		o.truncated = true // /dev/null, a FIFO: nothing to truncate
	}
	return o, nil
}

func (o *outFile) Write(p []byte) (int, error) {
	if !o.truncated {
		if err := o.f.Truncate(0); err != nil {
			return 0, err
		}
		o.truncated = true
	}
	return o.f.Write(p)
}

func (o *outFile) close() {
	o.f.Close()
	if !o.accepted && o.created {
		os.Remove(o.f.Name())
	}
}

type fileSink struct{ w capfile.Writer }

func (s *fileSink) packet(ev *api.CaptureEvent) error {
	return s.w.WritePacket(&capfile.Packet{Time: ev.Time, Interface: ev.Interface, Point: ev.Point, Reason: ev.Reason, Rule: ev.Rule,
		Worker: ev.Worker, Len: ev.Len, Data: ev.Data})
}

// flush writes the header of an empty capture too, so the file is valid.
func (s *fileSink) flush() error { return s.w.Flush() }

// describeFrame is a one-line summary of an Ethernet frame, after
// tcpdump -n's: VLAN tags, ARP, IPv4 and IPv6 with ICMP, TCP and UDP.
func describeFrame(f []byte, wire int) string {
	var b strings.Builder
	if len(f) < 14 {
		return fmt.Sprintf("truncated frame, length %d", wire)
	}
	et := binary.BigEndian.Uint16(f[12:])
	off := 14
	for (et == 0x8100 || et == 0x88a8 || et == 0x9100) && len(f) >= off+4 {
		fmt.Fprintf(&b, "vlan %d, ", binary.BigEndian.Uint16(f[off:])&0xfff)
		et = binary.BigEndian.Uint16(f[off+2:])
		off += 4
	}
	p := f[off:]
	switch {
	case et == 0x0806 && len(p) >= 28:
		spa, tpa := netip.AddrFrom4([4]byte(p[14:18])), netip.AddrFrom4([4]byte(p[24:28]))
		switch binary.BigEndian.Uint16(p[6:]) {
		case 1:
			fmt.Fprintf(&b, "ARP, Request who-has %s tell %s, length %d", tpa, spa, wire)
		case 2:
			fmt.Fprintf(&b, "ARP, Reply %s is-at %x, length %d", spa, p[8:14], wire)
		default:
			fmt.Fprintf(&b, "ARP, length %d", wire)
		}
	case et == 0x0800 && len(p) >= 20:
		ihl := int(p[0]&0xf) * 4
		src, dst := netip.AddrFrom4([4]byte(p[12:16])), netip.AddrFrom4([4]byte(p[16:20]))
		b.WriteString("IP ")
		frag := binary.BigEndian.Uint16(p[6:])&0x1fff != 0
		var l4 []byte
		if ihl >= 20 && len(p) >= ihl && !frag {
			l4 = p[ihl:]
		}
		ipLen := int(binary.BigEndian.Uint16(p[2:])) - ihl
		transport(&b, p[9], src.String(), dst.String(), l4, ipLen)
	case et == 0x86dd && len(p) >= 40:
		src, dst := netip.AddrFrom16([16]byte(p[8:24])), netip.AddrFrom16([16]byte(p[24:40]))
		b.WriteString("IP6 ")
		transport(&b, p[6], src.String(), dst.String(), p[40:], int(binary.BigEndian.Uint16(p[4:])))
	default:
		fmt.Fprintf(&b, "ethertype 0x%04x, length %d", et, wire)
	}
	return b.String()
}

// transport writes the rest of an IP line: ports, ICMP type, lengths.
func transport(b *strings.Builder, proto uint8, src, dst string, l4 []byte, n int) {
	switch {
	case (proto == 6 || proto == 17) && len(l4) >= 4:
		sp, dp := binary.BigEndian.Uint16(l4), binary.BigEndian.Uint16(l4[2:])
		fmt.Fprintf(b, "%s.%d > %s.%d: ", src, sp, dst, dp)
		if proto == 17 {
			fmt.Fprintf(b, "UDP, length %d", max(n-8, 0))
			return
		}
		if len(l4) >= 14 {
			fl := l4[13]
			var s []byte
			for i, c := range "FSRPUEW" {
				if i < 7 && fl&(1<<i) != 0 {
					s = append(s, byte(c))
				}
			}
			if fl&0x10 != 0 {
				s = append(s, '.')
			}
			fmt.Fprintf(b, "Flags [%s], length %d", s, max(n-int(l4[12]>>4)*4, 0))
			return
		}
		fmt.Fprintf(b, "tcp, length %d", n)
	case proto == 1 && len(l4) >= 8:
		fmt.Fprintf(b, "%s > %s: ICMP %s, length %d", src, dst, icmpName(l4), n)
	case proto == 58 && len(l4) >= 4:
		fmt.Fprintf(b, "%s > %s: ICMP6, type %d, code %d, length %d", src, dst, l4[0], l4[1], n)
	default:
		fmt.Fprintf(b, "%s > %s: ip-proto-%d %d", src, dst, proto, n)
	}
}

func icmpName(l4 []byte) string {
	id, seq := binary.BigEndian.Uint16(l4[4:]), binary.BigEndian.Uint16(l4[6:])
	switch l4[0] {
	case 8:
		return fmt.Sprintf("echo request, id %d, seq %d", id, seq)
	case 0:
		return fmt.Sprintf("echo reply, id %d, seq %d", id, seq)
	case 3:
		return fmt.Sprintf("unreachable, code %d", l4[1])
	case 11:
		return "time exceeded in-transit"
	}
	return fmt.Sprintf("type %d, code %d", l4[0], l4[1])
}
