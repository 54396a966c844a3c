package e2e

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	"github.com/softnet/softnet/bench"
)

// TestNetlinkFullTableScenario drives softnet bench --scenario
// netlink-full-table through the real binary with a reduced table (20,000
// routes, IPv4 and IPv6): the burst goes into the router namespace's
// kernel, softnet's linux_cp mirrors it, and the one JSON line says the
// FIB converged to the kernel's (counts, a sample compared prefix by
// prefix, the kernel's own dump), with both forwarding figures.
func TestNetlinkFullTableScenario(t *testing.T) {
	need(t, "trafgen")
	const routes = 20000
	cmd := exec.Command(binary, "bench", "--scenario", bench.ScenarioNetlink, "--routes", "20000", "--duration", "1s", "--json")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("softnet bench --scenario %s: %v\nstdout: %s\nstderr: %s", bench.ScenarioNetlink, err, stdout.String(), stderr.String())
	}
	if n := strings.Count(strings.TrimSpace(stdout.String()), "\n"); n != 0 {
		t.Errorf("want one JSON line, got %d lines:\n%s", n+1, stdout.String())
	}
	var r bench.NetlinkResult
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatalf("JSON: %v\n%s", err, stdout.String())
	}
	t.Logf("%s", strings.TrimSpace(stdout.String()))
	if r.Scenario != bench.ScenarioNetlink || r.Routes != routes || r.RoutesV4 == 0 || r.RoutesV6 == 0 || r.RoutesV4+r.RoutesV6 != routes || r.KernelRefused != 0 {
		t.Errorf("routes %d (%d IPv4, %d IPv6, %d refused: %s): want %d, both families, none refused", r.Routes, r.RoutesV4, r.RoutesV6, r.KernelRefused, r.KernelError, routes)
	}
	if !r.Converged || r.KernelRoutes != routes || r.SampleChecked < 500 || r.SampleMismatch != 0 {
		t.Errorf("converged %v, kernel %d routes, sample %d with %d wrong (%s): want softnet's FIB equal to the kernel's", r.Converged, r.KernelRoutes, r.SampleChecked, r.SampleMismatch, r.Mismatch)
	}
	if r.LinuxCP.Routes != routes || r.LinuxCP.Installed != routes || r.LinuxCP.Events < routes {
		t.Errorf("linux_cp %+v: want %d routes mirrored and installed from at least as many events", r.LinuxCP, routes)
	}
	if !(r.InstallS > 0 && r.ConvergeS >= r.InstallS) {
		t.Errorf("install_s %v, converge_s %v: want the burst timed and the convergence after it", r.InstallS, r.ConvergeS)
	}
	if d := r.LagS - (r.ConvergeS - r.InstallS); r.LagS < 0 || d > 1e-6 || d < -1e-6 {
		t.Errorf("lag_s %v: want converge_s %v less install_s %v", r.LagS, r.ConvergeS, r.InstallS)
	}
	if r.MppsBefore <= 0 || r.MppsDuring <= 0 || r.DuringRatio <= 0 || r.SentMppsDuring <= 0 {
		t.Errorf("mpps_before %v, mpps_during %v (offered %v), ratio %v: want both floods forwarded", r.MppsBefore, r.MppsDuring, r.SentMppsDuring, r.DuringRatio)
	}
}
