//go:build race

package control_test

// raceEnabled: the test binary is built with -race, whose instrumentation
// (checkptr among it) allocates where a normal build does not.
const raceEnabled = true
