package netns

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
)

// IP runs ip(8) with args and returns its standard output. The error
// carries ip's standard error, which is where it says what was wrong.
func IP(ctx context.Context, args ...string) (string, error) {
	return Output(ctx, "", "ip", args...)
}

// Output runs name with args inside namespace ns ("" for the current one)
// and returns its standard output; a non-zero exit is an error that
// includes the command and its standard error.
func Output(ctx context.Context, ns, name string, args ...string) (string, error) {
	cmd := Command(ctx, ns, name, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%s: %w: %s", strings.Join(cmd.Args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// Command returns a command that runs name with args inside namespace ns
// ("" for the current one) through `ip netns exec`, which execs the
// program: the process's pid is the program's. The child gets its own
// process group (a terminal's Ctrl-C reaches only the caller, which then
// stops its children in order) and is killed if the caller dies.
func Command(ctx context.Context, ns, name string, args ...string) *exec.Cmd {
	var cmd *exec.Cmd
	if ns == "" {
		cmd = exec.CommandContext(ctx, name, args...)
	} else {
		cmd = exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns, name}, args...)...)
	}
	cmd.SysProcAttr = procAttr()
	// On cancellation, ask politely first: tools print their statistics on
	// SIGINT (ping, iperf3, trafgen, softnet). The whole group gets it:
	// trafgen sends from forked children.
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGINT) }
	cmd.WaitDelay = 3e9 // then SIGKILL after 3 s
	return cmd
}

// Add creates namespace name with its loopback up.
func Add(ctx context.Context, name string) error {
	if _, err := IP(ctx, "netns", "add", name); err != nil {
		return err
	}
	_, err := IP(ctx, "-n", name, "link", "set", "lo", "up")
	return err
}

// Delete kills every process left in namespace name and removes it
// (which destroys its veths, and so their peers). A namespace that does
// not exist is not an error.
func Delete(ctx context.Context, name string) error {
	if _, err := os.Stat("/run/netns/" + name); os.IsNotExist(err) {
		return nil
	}
	if out, err := IP(ctx, "netns", "pids", name); err == nil {
		for _, f := range strings.Fields(out) {
			var pid int
			if _, err := fmt.Sscan(f, &pid); err == nil && pid > 1 && pid != os.Getpid() {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
	_, err := IP(ctx, "netns", "del", name)
	return err
}

// List returns the names of the namespaces in /run/netns.
func List() ([]string, error) {
	ents, err := os.ReadDir("/run/netns")
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(ents))
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names, nil
}

// End is one end of a veth pair: its name, namespace and MAC.
type End struct {
	NS   string
	Name string
	MAC  string // "" for a random one
}

// AddVeth creates a veth pair with its ends directly in their namespaces
// (never in the caller's) and sets both up.
func AddVeth(ctx context.Context, a, b End, mtu int) error {
	args := []string{"link", "add", "name", a.Name, "netns", a.NS}
	if a.MAC != "" {
		args = append(args, "address", a.MAC)
	}
	if mtu > 0 {
		args = append(args, "mtu", fmt.Sprint(mtu))
	}
	args = append(args, "type", "veth", "peer", "name", b.Name, "netns", b.NS)
	if b.MAC != "" {
		args = append(args, "address", b.MAC)
	}
	if mtu > 0 {
		args = append(args, "mtu", fmt.Sprint(mtu))
	}
	if _, err := IP(ctx, args...); err != nil {
		return err
	}
	for _, e := range []End{a, b} {
		if _, err := IP(ctx, "-n", e.NS, "link", "set", e.Name, "up"); err != nil {
			return err
		}
	}
	return nil
}

// Stats is an interface's kernel counters (ip -s link).
type Stats struct {
	RxPackets, RxBytes, RxDropped, RxErrors uint64
	TxPackets, TxBytes, TxDropped, TxErrors uint64
}

// LinkStats reads dev's counters in namespace ns.
func LinkStats(ctx context.Context, ns, dev string) (Stats, error) {
	out, err := IP(ctx, "-n", ns, "-j", "-s", "link", "show", "dev", dev)
	if err != nil {
		return Stats{}, err
	}
	var links []struct {
		Stats64 struct {
			Rx struct{ Packets, Bytes, Dropped, Errors uint64 } `json:"rx"`
			Tx struct{ Packets, Bytes, Dropped, Errors uint64 } `json:"tx"`
		} `json:"stats64"`
	}
	if err := json.Unmarshal([]byte(out), &links); err != nil || len(links) != 1 {
		return Stats{}, fmt.Errorf("ip -s link show %s in %s: unexpected output %q", dev, ns, out)
	}
	s := links[0].Stats64
	return Stats{
		RxPackets: s.Rx.Packets, RxBytes: s.Rx.Bytes, RxDropped: s.Rx.Dropped, RxErrors: s.Rx.Errors,
		TxPackets: s.Tx.Packets, TxBytes: s.Tx.Bytes, TxDropped: s.Tx.Dropped, TxErrors: s.Tx.Errors,
	}, nil
}

// Sub returns s - o, counter by counter.
func (s Stats) Sub(o Stats) Stats {
	return Stats{
		RxPackets: s.RxPackets - o.RxPackets, RxBytes: s.RxBytes - o.RxBytes,
		RxDropped: s.RxDropped - o.RxDropped, RxErrors: s.RxErrors - o.RxErrors,
		TxPackets: s.TxPackets - o.TxPackets, TxBytes: s.TxBytes - o.TxBytes,
		TxDropped: s.TxDropped - o.TxDropped, TxErrors: s.TxErrors - o.TxErrors,
	}
}

// Sysctl sets key (dotted, e.g. net.ipv4.ip_forward) to value inside ns
// (per-namespace keys only: net.ipv4.*, net.ipv6.conf.*).
func Sysctl(ctx context.Context, ns, key, value string) error {
	path := "/proc/sys/" + strings.ReplaceAll(key, ".", "/")
	_, err := Output(ctx, ns, "sh", "-c", fmt.Sprintf("echo %s > %s", value, path))
	return err
}
