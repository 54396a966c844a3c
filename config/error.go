package config

import (
	"fmt"
	"strings"
)

// Pos is a position in the config file: 1-based line and column.
type Pos struct {
	Line, Col int
}

// Error is one problem with a config, at a position in its file.
type Error struct {
	File  string
	Pos   Pos    // zero if the problem has no position (e.g. an unreadable file)
	Field string // e.g. "interfaces[1].addresses[0]"; empty for the whole file
	Msg   string // what is wrong and what to do about it
	// More is set on the one summary line that says how many further
	// errors were found but not listed.
	More int
}

// Error formats the error as FILE:LINE:COL: FIELD: MSG, the form editors
// and compilers use, so a terminal or an editor can jump to it.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Pos.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Pos.Line)
		if e.Pos.Col > 0 {
			fmt.Fprintf(&b, ":%d", e.Pos.Col)
		}
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// MaxErrors is how many errors one parse or check reports before it
// stops looking: beyond that the file is more wrong than right.
const MaxErrors = 20

// Errors is every problem found, in file order. It is returned as an
// error only when it is not empty.
type Errors []*Error

// Error joins the errors, one per line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap lets errors.As find an individual *Error.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// errs collects errors up to MaxErrors.
type errs struct {
	file  string
	found Errors
	more  int // errors beyond MaxErrors, counted only
}

func (c *errs) add(at Pos, field, format string, args ...any) {
	if len(c.found) >= MaxErrors {
		c.more++
		return
	}
	c.found = append(c.found, &Error{File: c.file, Pos: at, Field: field, Msg: fmt.Sprintf(format, args...)})
}

// err returns the collected errors, nil if there are none.
func (c *errs) err() error {
	if len(c.found) == 0 {
		return nil
	}
	if c.more > 0 {
		out := append(Errors(nil), c.found...)
		return append(out, moreErrors(c.file, c.more))
	}
	return c.found
}

// moreErrors is the summary line for n errors found but not listed.
func moreErrors(file string, n int) *Error {
	return &Error{File: file, More: n, Msg: fmt.Sprintf("%d more errors not shown: fix the ones above first", n)}
}
