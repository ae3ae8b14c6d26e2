package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/pgm-explorer/pgm-explorer/traces"
)

func init() {
	register(&command{
		name:    "convert",
		summary: "convert a trace between the text and binary forms (OUT ending in .txt is text, any other name binary, - standard output)",
		usage:   "IN OUT",
		flags:   convertFlags,
	})
}

func convertFlags(fs *flag.FlagSet) func([]string, io.Writer, io.Writer) error {
	partial := fs.Bool("partial", false, "when IN is damaged (truncated, corrupt) or the conversion is interrupted, keep in OUT the events before instead of leaving OUT as it was; the exit status is still non-zero")
	return func(args []string, stdout, stderr io.Writer) error {
		if len(args) != 2 {
			return usageErrorf("want IN and OUT, got %d arguments", len(args))
		}
		ctx, stop := interruptContext()
		defer stop()
		return convert(ctx, args[0], args[1], *partial, stdout, stderr)
	}
}

// convert copies every event of in to out, in the form out's name asks
// for. Both forms hold the same things, so nothing is lost either way.
// A failed or interrupted conversion leaves OUT as it was, unless
// partial is set (then OUT holds the events before, a complete trace).
func convert(ctx context.Context, in, out string, partial bool, stdout, stderr io.Writer) error {
	src, err := traces.Open(in)
	if err != nil {
		return err
	}
	defer src.Close()

	var total uint64
	known := false
	if br, ok := src.Reader.(*traces.BinaryReader); ok && !partial {
		total, known = br.EventCount()
	}
	w, err := createTrace(out, stdout, src.Header(), total, known, in)
	if err != nil {
		return err
	}
	defer w.Abort()
	prog := newProgress(stderr, "convert", "events", total)
	var n uint64
	var readErr error
	for {
		if n%1024 == 0 && ctx.Err() != nil {
			readErr = fmt.Errorf("interrupted after %d events", n)
			break
		}
		ev, err := src.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			readErr = err
			break
		}
		if err := w.WriteEvent(ev); err != nil {
			prog.Done()
			return fmt.Errorf("%s: %w", src.Position(), err)
		}
		n++
		prog.Add(1)
	}
	prog.Done()
	code := 1
	if ctx.Err() != nil {
		code = 130
	}
	if readErr != nil && !partial {
		return &exitError{code, fmt.Errorf("%w (%s)", readErr, w.out.AbortNote())}
	}
	if err := w.Commit(); err != nil {
		return err
	}
	if readErr != nil {
		return &exitError{code, fmt.Errorf("%w (%s keeps the %d events before)", readErr, out, n)}
	}
	if out == "-" {
		return nil
	}
	fmt.Fprintf(stdout, "%s (%s) -> %s (%s): %d events", in, src.Form, out, traces.FormOf(out), n)
	if st, err := os.Stat(out); err == nil && n > 0 {
		fmt.Fprintf(stdout, ", %d bytes (%.2f bytes/event)", st.Size(), float64(st.Size())/float64(n))
	}
	fmt.Fprintln(stdout)
	return nil
}
