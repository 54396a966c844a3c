// Package logs holds softnet's logging helpers: the log/slog handler the
// flags choose (text or JSON, a level) and a Sampler that rate-limits
// noisy control-plane events (ARP failures, a full punt ring, port
// errors) so a storm costs a few lines a second, each saying how many
// were suppressed.
//
// No Go formatting reaches the log: durations are Go durations ("1.5s")
// in JSON too, not nanoseconds; in text, counts by name read "a 1, b 2"
// and lists of strings "x, y", not map[a:1 b:2] and [x y].
//
// Hot path: no. Nothing logs per packet: events are found by comparing
// counters the control side reads.
package logs
