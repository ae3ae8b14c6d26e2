package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/traces"
)

func init() {
	register(&command{
		name:    "replay",
		summary: "replay a trace through the engine and report outcomes and statistics",
		usage:   "FILE",
		flags:   replayFlags,
	})
}

type replayOptions struct {
	engine   string
	outcomes string
	stats    bool
	check    bool
	out      string
	host     string // overrides of the trace header, "" when not given
	paging   string
	pool     int
}

func replayFlags(fs *flag.FlagSet) func([]string, io.Writer, io.Writer) error {
	var o replayOptions
	fs.StringVar(&o.engine, "engine", "shadow", "engine to run: shadow (the PGM engine: shadow or nested paging) or ref (the reference CPU that walks the guest tables on every access)")
	fs.StringVar(&o.outcomes, "outcomes", "none", "print outcomes: none or jsonl (one JSON object per r, w, x and pr event)")
	fs.BoolVar(&o.stats, "stats", false, "print statistics when the replay ends")
	fs.StringVar(&o.out, "o", "-", "write outcomes to this file instead of standard output")
	fs.BoolVar(&o.check, "check", false, "run the invariant checker after every event and stop at the first violation (slow)")
	fs.StringVar(&o.host, "host", "", "host paging mode, overriding the trace header: "+strings.Join(engine.HostModeNames(), ", "))
	fs.StringVar(&o.paging, "paging", "", "shadow, nested or ept, overriding the trace header")
	fs.IntVar(&o.pool, "pool", 0, fmt.Sprintf("shadow page pool size in pages (%d..%d), overriding the trace header", engine.MinPoolPages, engine.MaxPoolPages))
	return func(args []string, stdout, stderr io.Writer) error {
		if len(args) != 1 {
			return usageErrorf("want exactly one trace FILE, got %d arguments", len(args))
		}
		return replay(args[0], o, stdout, stderr)
	}
}

func newEngine(kind string, cfg engine.Config) (engine.Engine, error) {
	switch kind {
	case "ref":
		return engine.NewReference(cfg)
	case "shadow":
		return engine.NewShadow(cfg)
	}
	return nil, usageErrorf("unknown engine %q (want shadow or ref)", kind)
}

// applyOverrides puts the command-line choices over the trace header's.
func applyOverrides(cfg engine.Config, o replayOptions) (engine.Config, error) {
	if o.host != "" {
		h, err := engine.ParseHostMode(o.host)
		if err != nil {
			return cfg, &exitError{2, err}
		}
		cfg.Host = h
	}
	if o.paging != "" {
		p, err := engine.ParsePaging(o.paging)
		if err != nil {
			return cfg, &exitError{2, err}
		}
		cfg.Paging = p
	}
	if o.pool != 0 {
		if o.pool < engine.MinPoolPages || o.pool > engine.MaxPoolPages {
			return cfg, usageErrorf("--pool %d outside %d..%d", o.pool, engine.MinPoolPages, engine.MaxPoolPages)
		}
		cfg.PoolPages = o.pool
	}
	return cfg, nil
}

// checker is an engine that can verify its own invariants.
type checker interface{ Check() error }

func replay(path string, o replayOptions, stdout, stderr io.Writer) error {
	if o.outcomes != "none" && o.outcomes != "jsonl" {
		return usageErrorf("unknown --outcomes %q (want none or jsonl)", o.outcomes)
	}
	if o.engine != "shadow" && o.engine != "ref" {
		return usageErrorf("unknown engine %q (want shadow or ref)", o.engine)
	}
	// Either form, told apart by content.
	rd, err := traces.Open(path)
	if err != nil {
		return err
	}
	defer rd.Close()
	cfg, err := applyOverrides(rd.Header().Config, o)
	if err != nil {
		return err
	}
	eng, err := newEngine(o.engine, cfg)
	if err != nil {
		return err
	}
	if sh, ok := eng.(*engine.Shadow); ok && o.stats {
		sh.SetTiming(true) // profiles show time per call; outcomes do not depend on it
	}
	chk, _ := eng.(checker)
	if o.check && chk == nil {
		return usageErrorf("--check needs the shadow engine")
	}
	var out *bufio.Writer
	if o.outcomes == "jsonl" {
		w := stdout
		if o.out != "-" {
			of, err := os.Create(o.out)
			if err != nil {
				return err
			}
			defer of.Close()
			w = of
		}
		out = bufio.NewWriterSize(w, 1<<16)
	}
	// fail stops the replay; the outcomes of the events before the
	// failing one are still printed, whatever the buffer held.
	fail := func(err error) error {
		if out != nil {
			out.Flush()
		}
		return err
	}
	var sum replaySummary
	start := time.Now()
	var buf []byte
	for {
		ev, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fail(err)
		}
		oc, err := eng.Apply(ev)
		if err != nil {
			// Name the position (FILE:LINE, or FILE: event N for a
			// binary trace) and the event, unless the error already
			// starts with the event (a #GP names register and value).
			text := string(traces.AppendEvent(nil, ev))
			if strings.HasPrefix(err.Error(), text) {
				return fail(fmt.Errorf("%s: %w", rd.Position(), err))
			}
			return fail(fmt.Errorf("%s: %s: %w", rd.Position(), text, err))
		}
		if o.check {
			if err := chk.Check(); err != nil {
				return fail(fmt.Errorf("%s: after %s: invariant violated:\n%w", rd.Position(), traces.AppendEvent(nil, ev), err))
			}
		}
		sum.add(&oc)
		if out != nil && oc.Reported() {
			buf = oc.AppendJSON(buf[:0])
			buf = append(buf, '\n')
			if _, err := out.Write(buf); err != nil {
				return err
			}
		}
	}
	sum.elapsed = time.Since(start)
	if out != nil {
		if err := out.Flush(); err != nil {
			return err
		}
	}
	if o.stats {
		sum.print(stderr, eng)
	}
	return nil
}
