package dp

import "time"

// Poll gaps.
//
// A worker that does not poll its receive queues for longer than its
// ring lasts loses frames at the ring's tail (an AF_PACKET V2 ring of
// 7936 slots lasts 1.6 s at 5000 frames a second). Run measures, on the
// worker's thread, the time between the starts of two consecutive polls,
// less the time the worker slept in poll(2) waiting for frames, up to
// that sleep's timeout: the time it was meant to poll and did not (its
// own processing, the thread waiting for a P after a system call or for
// a CPU, the runtime stopping the world, page faults). A sleep that
// overruns its timeout counts by its overrun. Counters.PollGapMaxNs is
// the longest such gap since the worker started, Counters.PollGaps the
// gaps longer than PollGapLong. Two clock reads per poll and two per
// sleep; nothing per packet.

// PollGapLong is the gap between two polls that counts in PollGaps.
const PollGapLong = 100 * time.Millisecond

// pollGap records the gap that ends with a poll starting at now (ns
// since gapEpoch) and starts the next one.
func (w *Worker) pollGap(now int64) {
	if w.gapLast != 0 {
		if g := now - w.gapLast - w.gapExcused; g > 0 {
			if uint64(g) > w.c.PollGapMaxNs {
				w.c.PollGapMaxNs = uint64(g)
			}
			if g > int64(PollGapLong) {
				w.c.PollGaps++
			}
		}
	}
	w.gapLast, w.gapExcused = now, 0
}

// gapEpoch is the origin of the monotonic clock pollGap reads.
var gapEpoch = time.Now()

// gapNow is the monotonic clock in ns since gapEpoch (never 0 after the
// first nanosecond).
func gapNow() int64 { return int64(time.Since(gapEpoch)) + 1 }

// excuse adds the part of a sleep of d with timeout to that the worker
// was meant to sleep (the rest is a gap).
func (w *Worker) excuse(d, timeout time.Duration) {
	w.gapExcused += int64(min(d, timeout))
}
