package api

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReloadFileNeedsRoot: a caller that is not root may not point the
// router at a file of its choice.
func TestReloadFileNeedsRoot(t *testing.T) {
	s := New(nil, nil)
	req := httptest.NewRequest("POST", "/v1/reload", strings.NewReader(`{"file": "/etc/shadow"}`))
	req = req.WithContext(context.WithValue(req.Context(), uidKey{}, 1000))
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "root only") {
		t.Fatalf("non-root reload of another file: %d %s", rec.Code, rec.Body.String())
	}
}

// TestPeerUID reads the peer's user id over a real Unix socket.
func TestPeerUID(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	got := make(chan int, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			got <- -2
			return
		}
		defer c.Close()
		got <- peerUID(c)
	}()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if uid := <-got; uid != os.Getuid() {
		t.Fatalf("peer uid %d, want %d", uid, os.Getuid())
	}
}
