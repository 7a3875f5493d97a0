package main

import (
	"errors"
	"io"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"

	"golang.org/x/term"
)

// output is standard output or standard error as the commands write to
// them. It remembers whether a write failed because nothing reads the
// other end any more: `cutover run 2>&1 | head`, or a pager quit early.
//
// A Go program that asks for no SIGPIPE is killed by the first such write
// to file descriptor 1 or 2, in the middle of whatever it was doing: a run
// would stop at its next progress line, with no cleanup and no reason
// recorded. keepRunningWithoutReaders asks for SIGPIPE, so that the write
// fails with EPIPE instead, and the command goes on to its end. main then
// exits 141 (128 + SIGPIPE, what a shell reports for a process that
// signal ended), so that a script still sees that the output was cut.
type output struct {
	f      *os.File
	broken atomic.Bool
}

func (o *output) Write(b []byte) (int, error) {
	n, err := o.f.Write(b)
	if errors.Is(err, syscall.EPIPE) {
		o.broken.Store(true)
	}
	return n, err
}

// Fd is the file's descriptor, for the terminal checks (isTerminal).
func (o *output) Fd() uintptr { return o.f.Fd() }

// Broken reports whether a write found no reader.
func (o *output) Broken() bool { return o.broken.Load() }

// keepRunningWithoutReaders turns a write to a closed pipe on standard
// output or standard error into an EPIPE error instead of the end of the
// process. Sockets already get EPIPE (the runtime ignores their SIGPIPE),
// and the channel is never read: the signal itself means nothing here.
// Asking for it, unlike ignoring it, is not inherited by the programs the
// commands start (PostgreSQL's initdb, pgcopydb).
func keepRunningWithoutReaders() {
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
}

// isTerminal reports whether w writes to a terminal: an *os.File or an
// output over one.
func isTerminal(w io.Writer) bool {
	f, ok := w.(interface{ Fd() uintptr })
	return ok && term.IsTerminal(int(f.Fd()))
}
