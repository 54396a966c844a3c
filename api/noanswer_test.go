package api_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/softnet/softnet/api"
	"github.com/softnet/softnet/internal/testenv"
)

// fakeRouter listens on a socket in a temporary directory and hands each
// connection to serve (nil: accept nothing, as a stopped router's kernel
// queues connections nobody takes).
func fakeRouter(t *testing.T, serve func(net.Conn)) string {
	t.Helper()
	if serve == nil {
		return testenv.SilentSocket(t, t.TempDir())
	}
	sock := filepath.Join(t.TempDir(), "api.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
			go serve(c)
		}
	}()
	return sock
}

// headerThen reads a request and answers 200 with a chunked body, then
// calls body with the connection.
func headerThen(body func(w *bufio.Writer)) func(net.Conn) {
	return func(c net.Conn) {
		br := bufio.NewReader(c)
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		io.Copy(io.Discard, req.Body)
		w := bufio.NewWriter(c)
		w.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n")
		w.Flush()
		body(w)
	}
}

// TestNoAnswer: a call to a router that accepts and never answers fails
// after the client's Wait, or at its By, with a NoAnswerError that says
// so; one whose answer stops coming midway fails after Wait of silence;
// an answer that keeps coming, slower in all than Wait, succeeds.
func TestNoAnswer(t *testing.T) {
	ctx := context.Background()
	silent := fakeRouter(t, nil)
	within := func(name string, d, lo, hi time.Duration) {
		t.Helper()
		if d < lo || d > hi {
			t.Errorf("%s: failed after %v, want %v to %v", name, d, lo, hi)
		}
	}
	c := api.NewClient(silent)
	c.Wait = 300 * time.Millisecond
	t0 := time.Now()
	_, err := c.Interfaces(ctx)
	within("Wait", time.Since(t0), 250*time.Millisecond, 3*time.Second)
	var na *api.NoAnswerError
	if !errors.As(err, &na) || !na.ByWait || na.Midway || err.Error() != "the router at "+silent+" did not answer within 300ms (is it stopped, or busy loading a table?)" {
		t.Errorf("Wait: %v (%#v)", err, na)
	}

	err = c.AddRoute(ctx, api.RouteRequest{Prefix: "198.51.100.0/24", Blackhole: true})
	if !errors.As(err, &na) || !na.Change || !strings.HasSuffix(err.Error(), "; it may still make the change once it answers") {
		t.Errorf("a change: %v", err)
	}

	c = api.NewClient(silent)
	c.By = time.Now().Add(1200 * time.Millisecond)
	t0 = time.Now()
	err = c.Capture(ctx, api.CaptureRequest{}, func(*api.CaptureEvent) error { return nil })
	within("By", time.Since(t0), 1100*time.Millisecond, 4*time.Second)
	if !errors.As(err, &na) || na.ByWait || !strings.Contains(err.Error(), "did not answer within 1.2s") {
		t.Errorf("By: %v", err)
	}

	stalls := fakeRouter(t, headerThen(func(w *bufio.Writer) {
		w.WriteString(`{"type":"stats"}` + "\n")
		w.Flush() // then nothing, the connection open
	}))
	c = api.NewClient(stalls)
	c.Wait = 300 * time.Millisecond
	events := 0
	t0 = time.Now()
	err = c.Capture(ctx, api.CaptureRequest{}, func(*api.CaptureEvent) error { events++; return nil })
	within("midway", time.Since(t0), 250*time.Millisecond, 3*time.Second)
	if !errors.As(err, &na) || !na.Midway || events != 1 || !strings.Contains(err.Error(), "stopped answering: nothing came for 300ms") {
		t.Errorf("midway: %v, %d events", err, events)
	}

	slow := fakeRouter(t, headerThen(func(w *bufio.Writer) {
		for i := range 8 {
			time.Sleep(100 * time.Millisecond)
			if i == 7 {
				w.WriteString(`{"type":"end","end":"count"}` + "\n")
			} else {
				w.WriteString(`{"type":"stats"}` + "\n")
			}
			w.Flush()
		}
		w.Flush()
	}))
	c = api.NewClient(slow)
	c.Wait = 400 * time.Millisecond
	events = 0
	var last api.CaptureEvent
	err = c.Capture(ctx, api.CaptureRequest{}, func(ev *api.CaptureEvent) error {
		events++
		last = *ev
		if ev.Type == "end" {
			return io.EOF // the fake keeps the connection: stop here
		}
		return nil
	})
	if err != io.EOF || events != 8 || last.End != "count" {
		t.Errorf("an answer that keeps coming (800ms in all, Wait 400ms): %v, %d events, last %+v", err, events, last)
	}
}
