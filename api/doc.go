// Package api is softnet's control API: JSON over HTTP on a Unix socket,
// served by softnet run, and the small client the CLI (softnet show,
// route, neighbor, reload) uses. docs/api.md lists every endpoint with
// its request and response.
//
// The server reads what the workers publish (their counters, summed on
// read: run.Router.Counters, WorkerCounters, Status) and changes state
// only through the control plane (control.Router), which publishes a new
// immutable snapshot: a request never blocks a worker, and the data path
// has no lock, atomic or check added for the API. The same counters are
// exported to Prometheus at /metrics by a Collector that sums them at
// scrape time.
//
// Paths are versioned (/v1/...); errors are {"error": "..."} with a 4xx or
// 5xx status (and "details": one line per config error for a rejected
// reload). Adding an endpoint is one Server.Handle call; the client's Do
// calls any endpoint. POST /v1/capture (capture.go) is the one answer
// that streams: JSON lines, read with Client.Capture (Client.Stream).
//
// Hot path: no. A Server is safe for concurrent requests.
package api
