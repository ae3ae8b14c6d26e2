package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/traces"
	"github.com/pgm-explorer/pgm-explorer/traces/session"
)

// The analysis commands (analyze, compare, diff, export) read a trace
// once, event by event; this is their common loop, with replay's error
// messages and progress line.

// overrideFlags declares the header overrides replay has.
func overrideFlags(fs *flag.FlagSet, o *replayOptions) {
	fs.StringVar(&o.host, "host", "", "host paging mode, overriding the trace header: "+strings.Join(engine.HostModeNames(), ", "))
	fs.StringVar(&o.paging, "paging", "", "shadow, nested or ept, overriding the trace header")
	fs.IntVar(&o.pool, "pool", 0, fmt.Sprintf("shadow page pool size in pages (%d..%d), overriding the trace header", engine.MinPoolPages, engine.MaxPoolPages))
}

// traceFile is an open trace, replayed through a session (s) or, for
// commands that run engines of their own, only read (src).
type traceFile struct {
	src   session.Source
	s     *session.Session // nil: read only
	path  string
	prog  *progress
	count uint64 // events read so far
	// ctx ends at the first Ctrl-C (or SIGTERM); next then reports
	// errInterrupted, between two events.
	ctx  context.Context
	stop context.CancelFunc
}

// errInterrupted is what next returns after Ctrl-C: the commands stop
// there, print what they have (or, writing a file, leave it as it was)
// and exit with status 130.
var errInterrupted = errors.New("interrupted")

// testHookNext, when set (by tests), is called before each event is read
// with the number read so far.
var testHookNext func(n uint64)

// interrupted is the error a command returns when stopped by Ctrl-C
// after n events.
func interrupted(n uint64, what string) error {
	return &exitError{130, fmt.Errorf("interrupted after %d events; %s", n, what)}
}

// openTrace opens the trace at path; with o, replayed through the shadow
// engine with o's overrides, else only to be read.
func openTrace(path, what string, o *replayOptions, stderr io.Writer) (*traceFile, error) {
	src, err := session.File(path)
	if err != nil {
		return nil, err
	}
	t := &traceFile{src: src, path: path}
	if o != nil {
		ro := *o
		ro.engine = "shadow"
		if t.s, err = openSession(src, ro); err != nil {
			return nil, err
		}
	}
	total := uint64(0)
	if f, ok := src.(interface{ EventCount() (uint64, bool) }); ok {
		total, _ = f.EventCount()
	}
	t.ctx, t.stop = interruptContext()
	t.prog = newProgress(stderr, what+" "+filepath.Base(path), "events", total)
	return t, nil
}

func (t *traceFile) Close() error {
	t.stop()
	t.prog.Done()
	return t.src.Close()
}

func (t *traceFile) Header() traces.Header { return t.src.Header() }

// shadow is the engine of a replayed trace.
func (t *traceFile) shadow() *engine.Shadow { return t.s.Shadow() }

// next reads the next event (for a replayed trace, without applying it:
// apply does); io.EOF at the end, errInterrupted after Ctrl-C.
func (t *traceFile) next() (engine.Event, error) {
	if testHookNext != nil {
		testHookNext(t.count)
	}
	if t.count%256 == 0 && t.ctx.Err() != nil {
		return engine.Event{}, errInterrupted
	}
	var ev engine.Event
	var err error
	if t.s != nil {
		ev, err = t.s.Peek()
	} else {
		ev, err = t.src.Next(nil)
	}
	if err == nil {
		t.count++
		t.prog.Add(1)
	}
	return ev, err
}

// apply applies the event next returned, naming the trace position on
// error as replay does.
func (t *traceFile) apply() (engine.Outcome, error) { return t.s.Step() }

// isEOF reports the end of the events.
func isEOF(err error) bool { return errors.Is(err, io.EOF) }

// permute lets the analysis commands take their flags after the FILE as
// well as before it (`explorer analyze FILE --by va`, as the README
// writes them): the flag package stops at the first argument that is not
// a flag, so what follows it is parsed again. "--" ends the flags.
func permute(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for len(args) > 0 {
		a := args[0]
		switch {
		case a == "--":
			return append(pos, args[1:]...), nil
		case len(a) > 1 && a[0] == '-':
			if err := fs.Parse(args); err != nil {
				return nil, usageErrorf("%v", err)
			}
			args = fs.Args()
		default:
			pos = append(pos, a)
			args = args[1:]
		}
	}
	return pos, nil
}
