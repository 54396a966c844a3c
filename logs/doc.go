// Package logs holds softnet's logging helpers: the log/slog handler the
// flags choose (text or JSON, a level) and a Sampler that rate-limits
// noisy control-plane events (ARP failures, a full punt ring, port
// errors) so a storm costs a few lines a second, each saying how many
// were suppressed.
//
// Hot path: no. Nothing logs per packet: events are found by comparing
// counters the control side reads.
package logs
