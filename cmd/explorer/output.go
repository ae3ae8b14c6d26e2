package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/pgm-explorer/pgm-explorer/internal/safeout"
	"github.com/pgm-explorer/pgm-explorer/traces"
)

// Every command that writes a file the user named goes through
// createOutput, that is package safeout, which keeps the promises the
// README makes about a user's files (never over an input, never
// half-written, nothing removed that the run did not create, "-" for
// standard output). The desktop window writes its screenshots and
// exports through the same package.

// output is one file being written (safeout.File).
type output = safeout.File

// errSameFile is returned when OUT is one of the inputs.
var errSameFile = safeout.ErrSameFile

// createOutput opens name for writing; stdout is what "-" means. inputs
// are the files the command reads: name must not be any of them.
func createOutput(name string, stdout io.Writer, inputs ...string) (*output, error) {
	return safeout.Create(name, stdout, inputs...)
}

// notAnInput refuses an output that is the same file as an input.
func notAnInput(name string, inputs []string) error { return safeout.NotAnInput(name, inputs) }

// interruptContext is done at the first SIGINT (Ctrl-C) or SIGTERM, so
// that a command can stop between two steps and leave its output whole.
// After that first signal the default action returns: a second Ctrl-C
// kills the program at once.
func interruptContext() (context.Context, context.CancelFunc) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	context.AfterFunc(ctx, stop)
	return ctx, stop
}

// traceOutput is a trace being written to an output, in the form OUT's
// name asks for (traces.FormOf; standard output gets the binary form).
type traceOutput struct {
	traces.Writer
	out *output
}

// createTrace opens name with createOutput and writes h to it; count,
// when known, is the number of events the binary header announces.
func createTrace(name string, stdout io.Writer, h traces.Header, count uint64, known bool, inputs ...string) (*traceOutput, error) {
	out, err := createOutput(name, stdout, inputs...)
	if err != nil {
		return nil, err
	}
	var w traces.Writer
	if name != "-" && traces.FormOf(name) == traces.FormText {
		tw := traces.NewTextWriter(out)
		err, w = tw.WriteHeader(h), tw
	} else {
		bw := traces.NewBinaryWriter(out)
		if known {
			err = bw.WriteHeaderCount(h, count)
		} else {
			err = bw.WriteHeader(h)
		}
		w = bw
	}
	if err != nil {
		out.Abort()
		return nil, err
	}
	return &traceOutput{Writer: w, out: out}, nil
}

// Commit completes the trace and puts it in place.
func (t *traceOutput) Commit() error {
	if err := t.Writer.Close(); err != nil {
		t.out.Abort()
		return fmt.Errorf("%s: %w", t.out.Name(), err)
	}
	return t.out.Commit()
}

// Abort leaves OUT as it was (see output.Abort).
func (t *traceOutput) Abort() { t.out.Abort() }
