// Package readerr keeps the first read error of a reader that a
// bufio.Scanner reads: a scanner may hand out the start of a line cut by
// that error (a truncated gzip stream) before it reports the error, and
// the list parsers (fib's route files, early-drop's blocklists) must
// report the error, not that line.
package readerr

import "io"

// Reader reads R and keeps in Err its first error other than io.EOF.
type Reader struct {
	R   io.Reader
	Err error
}

func (r *Reader) Read(p []byte) (int, error) {
	n, err := r.R.Read(p)
	if err != nil && err != io.EOF && r.Err == nil {
		r.Err = err
	}
	return n, err
}
