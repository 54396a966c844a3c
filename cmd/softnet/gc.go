package main

import (
	"os"
	"runtime/debug"
)

// gcPercent is the garbage collector's target (GOGC) softnet sets unless
// GOGC is in its environment (issue 16, the soak's lost packets).
//
// Each collection stops the world twice, and a worker that returns from
// poll(2) while the world is stopped waits for it to start again. On a
// loaded machine stopping the world waits for every thread that holds a
// P to get a CPU, and the soak's pauses reached 40 ms to 1.3 s (more with
// GOMAXPROCS 4 than 2: more threads to stop), which is as long as an
// AF_PACKET ring lasts at 5000 frames a second. A full-table reload or
// replace allocates hundreds of MB, so at the default 100 a 90 s soak made
// about 45 collections; at 400 the heap may grow to five times what is
// live before one starts (a full table: about 200 MB live) and there are
// a fraction as many pauses. The live heap is what it was.
const gcPercent = 400

// tuneGC sets the collector's target to gcPercent unless GOGC is set (the
// operator's choice wins).
func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
}
