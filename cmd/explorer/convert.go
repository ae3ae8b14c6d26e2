package main

import (
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
		summary: "convert a trace between the text and binary forms (OUT ending in .txt is text, any other name binary)",
		usage:   "IN OUT",
		flags:   convertFlags,
	})
}

func convertFlags(fs *flag.FlagSet) func([]string, io.Writer, io.Writer) error {
	partial := fs.Bool("partial", false, "when IN is damaged (truncated, corrupt), keep in OUT the events before the damage instead of removing it; the exit status is still 1")
	return func(args []string, stdout, stderr io.Writer) error {
		if len(args) != 2 {
			return usageErrorf("want IN and OUT, got %d arguments", len(args))
		}
		return convert(args[0], args[1], *partial, stdout, stderr)
	}
}

// convert copies every event of in to out, in the form out's name asks
// for. Both forms hold the same things, so nothing is lost either way.
// A failed conversion leaves no output file unless partial is set.
func convert(in, out string, partial bool, stdout, stderr io.Writer) error {
	if sameFile(in, out) {
		return usageErrorf("IN and OUT are the same file")
	}
	src, err := traces.Open(in)
	if err != nil {
		return err
	}
	defer src.Close()

	var total uint64
	var w traces.Writer
	if br, ok := src.Reader.(*traces.BinaryReader); ok && !partial {
		if n, known := br.EventCount(); known {
			total = n
			w, err = traces.CreateCount(out, src.Header(), n)
		}
	}
	if w == nil && err == nil {
		w, err = traces.Create(out, src.Header())
	}
	if err != nil {
		return err
	}
	prog := newProgress(stderr, "convert", "events", total)
	var n uint64
	var readErr error
	for {
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
			w.Close()
			os.Remove(out)
			return fmt.Errorf("%s: %w", src.Position(), err)
		}
		n++
		prog.Add(1)
	}
	prog.Done()
	if readErr != nil && !partial {
		w.Close()
		os.Remove(out)
		return readErr
	}
	if err := w.Close(); err != nil {
		os.Remove(out)
		return err
	}
	if readErr != nil {
		return fmt.Errorf("%w (%s keeps the %d events before the damage)", readErr, out, n)
	}
	fmt.Fprintf(stdout, "%s (%s) -> %s (%s): %d events", in, src.Form, out, traces.FormOf(out), n)
	if st, err := os.Stat(out); err == nil && n > 0 {
		fmt.Fprintf(stdout, ", %d bytes (%.2f bytes/event)", st.Size(), float64(st.Size())/float64(n))
	}
	fmt.Fprintln(stdout)
	return nil
}

// sameFile reports whether a and b name the same existing file: writing one
// would destroy the other before it is read.
func sameFile(a, b string) bool {
	sa, err := os.Stat(a)
	if err != nil {
		return false
	}
	sb, err := os.Stat(b)
	return err == nil && os.SameFile(sa, sb)
}
