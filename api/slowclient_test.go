package api_test

import (
	"context"
	"io"
	"net"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/softnet/softnet/port/mem"
)

// TestSlowClient (docs/faults.md): a client that opens the socket and
// never finishes its request holds up neither the other clients nor the
// data plane, and the server cuts it off after its header timeout (5 s).
func TestSlowClient(t *testing.T) {
	r, _, c, file := start(t, configText("", "", 1000))
	slow, err := net.Dial("unix", filepath.Join(filepath.Dir(file), "api.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	if _, err := io.WriteString(slow, "GET /v1/status HTTP/1.1\r\nHost: softnet\r\n"); err != nil { // no blank line: never ends
		t.Fatal(err)
	}
	t0 := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := c.Status(ctx); err != nil {
		t.Fatalf("another client while one is slow: %v", err)
	}
	lan, wan := r.Port("lan0").(*mem.Queue), r.Port("wan0").(*mem.Queue)
	lan.Push(udpTo(netip.MustParseAddr("198.18.1.1")))
	var out int
	waitFor(t, "a frame forwarded while the slow client waits", func() bool { out += len(wan.Take()); return out == 1 })
	slow.SetReadDeadline(time.Now().Add(15 * time.Second))
	b, err := io.ReadAll(slow)
	el := time.Since(t0)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("the slow client still connected after %v", el)
	}
	if el < 4*time.Second || el > 12*time.Second {
		t.Errorf("slow client cut after %v (read %q, %v), want about 5 s (ReadHeaderTimeout)", el, b, err)
	}
}
