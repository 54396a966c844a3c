package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/softnet/softnet/api"
	"github.com/softnet/softnet/run"
)

// startRouter runs softnet run on config file with its API on a socket of
// the test's, as the binary's run command does, and waits until the API
// answers. The router is stopped when the test ends, and must stop
// without an error and take its socket away. logs is its log (and
// stderr) so far.
func startRouter(t *testing.T, file string) (c *api.Client, sock string, logs *syncBuffer) {
	t.Helper()
	sock = filepath.Join(t.TempDir(), "softnet.sock")
	ctx, cancel := context.WithCancel(context.Background())
	logs = &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- runRouter(ctx, slog.New(slog.NewTextHandler(logs, nil)), io.Discard, logs, file, 0, run.Options{}, serveOpts{socketSet: true, socket: sock})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("softnet run %s: %v\n%s", file, err, logs.String())
		}
		if _, err := os.Stat(sock); !os.IsNotExist(err) {
			t.Errorf("socket left behind: %v", err)
		}
	})
	c = api.NewClient(sock)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		_, err := c.Status(ctx)
		if err == nil {
			return c, sock, logs
		}
		select {
		case err := <-done:
			done <- err
			t.Fatalf("softnet run %s stopped before its API answered: %v\n%s", file, err, logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("softnet run %s: API not up after 10 s: %v\n%s", file, err, logs.String())
		}
	}
}
