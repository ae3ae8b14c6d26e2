package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/traces"
	"github.com/pgm-explorer/pgm-explorer/traces/workload"
)

func init() {
	register(&command{
		name:    "record",
		summary: "run a live workload on the engine and write what it does as a trace",
		usage:   "",
		flags:   recordFlags,
	})
}

type recordOptions struct {
	workload string
	seed     uint64
	events   int
	params   paramFlag
	out      string
	check    bool
	every    int // --check-every
	// x86 guests (live.go): a program run in Unicorn instead of a model.
	x86, unicorn, paging, mmu string
	limits                    runLimits
	// afterEvent, when set, is called after each event is written with
	// the number written so far (tests use it to interrupt a recording).
	afterEvent func(n int)
}

// paramFlag collects repeated --param NAME=VALUE flags.
type paramFlag map[string]string

func (p paramFlag) String() string {
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(k + "=" + p[k])
	}
	return b.String()
}

func (p paramFlag) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	switch {
	case !ok || k == "":
		return fmt.Errorf("%q is not NAME=VALUE", s)
	case p[k] != "":
		return fmt.Errorf("parameter %s given twice", k)
	}
	p[k] = v
	return nil
}

func recordFlags(fs *flag.FlagSet) func([]string, io.Writer, io.Writer) error {
	o := recordOptions{params: paramFlag{}}
	fs.StringVar(&o.workload, "workload", "", "the workload to run: `NAME` is one of "+strings.Join(workload.Names(), ", "))
	fs.Uint64Var(&o.seed, "seed", 1, "seed `N` of the workload's random choices: the same seed and parameters give the same trace")
	fs.IntVar(&o.events, "events", 0, "record at most `N` events; 0 means the workload's default (its whole run, or a fixed number for workloads that never end)")
	fs.Var(o.params, "param", "a workload parameter, `NAME=VALUE` (repeat the flag for several; explorer workloads lists them)")
	fs.StringVar(&o.out, "o", "", "the trace `FILE` to write: text if its name ends in .txt, binary otherwise; - for standard output (binary)")
	fs.StringVar(&o.x86, "x86", "", "instead of a workload, run real x86 code in Unicorn: `PROGRAM` as for explorer live")
	fs.StringVar(&o.mmu, "mmu", "engine", "with --x86: record the engine as MMU (engine) or Unicorn's own MMU (unicorn, physical accesses)")
	fs.StringVar(&o.paging, "paging", "shadow", "with --x86: shadow or nested")
	fs.StringVar(&o.unicorn, "unicorn", "", "with --x86: the libunicorn.so.2 `PATH`")
	fs.BoolVar(&o.check, "check", false, "run the engine's invariant checker after every event and stop at the first violation: it checks what the event touched, and everything every --check-every events and at the end")
	fs.IntVar(&o.every, "check-every", engine.DefaultCheckEvery, "with --check, check everything every `N` events (1: after every event, slow on large guests)")
	o.limits.flags(fs) // for --x86
	return func(args []string, stdout, stderr io.Writer) error {
		if len(args) != 0 {
			return usageErrorf("unexpected arguments %q (the trace file goes after -o)", args)
		}
		// After the first Ctrl-C the recording winds down; a second one
		// kills the program as usual.
		ctx, stop := interruptContext()
		defer stop()
		return record(ctx, o, stdout, stderr)
	}
}

// record runs the workload live on the shadow engine of its header and
// writes each event as the model produces it. When ctx is done (Ctrl-C)
// the trace written so far is completed and the exit status is 130.
func record(ctx context.Context, o recordOptions, stdout, stderr io.Writer) error {
	if o.check && o.every < 1 {
		return usageErrorf("--check-every %d: want 1 or more", o.every)
	}
	if o.x86 != "" && o.out != "" && o.workload == "" {
		return recordX86(o, stdout, stderr)
	}
	switch {
	case o.workload == "":
		return usageErrorf("--workload is required: one of %s", strings.Join(workload.Names(), ", "))
	case o.out == "":
		return usageErrorf("-o FILE is required")
	case o.events < 0:
		return usageErrorf("--events %d is negative", o.events)
	}
	info, err := workload.Describe(o.workload)
	if err != nil {
		return &exitError{2, err}
	}
	w, err := workload.New(o.workload, o.seed, o.params)
	if err != nil {
		if errors.Is(err, workload.ErrParam) || errors.Is(err, workload.ErrParamValue) {
			return &exitError{2, err}
		}
		return err
	}
	defer w.Close()
	h := w.Header()
	eng, err := engine.NewShadow(h.Config)
	if err != nil {
		return err
	}
	tw, err := createTrace(o.out, stdout, h, 0, false)
	if err != nil {
		return err
	}
	defer tw.Abort()
	max := o.events
	if max == 0 {
		max = info.Events
	}
	prog := newProgress(stderr, "record "+o.workload, "events", uint64(max))
	n, err := workload.Run(ctx, w, eng, max, func(ev engine.Event, oc *engine.Outcome) error {
		if err := tw.WriteEvent(ev); err != nil {
			return &traceWriteError{err}
		}
		if o.check {
			full, err := eng.CheckAfter(oc.Index+1, o.every)
			if err != nil {
				what := ""
				if full {
					what = " (full check)"
				}
				return fmt.Errorf("after event %d %s: invariant violated%s:\n%w", oc.Index, traces.AppendEvent(nil, ev), what, err)
			}
		}
		prog.Add(1)
		if o.afterEvent != nil {
			o.afterEvent(int(oc.Index) + 1)
		}
		return nil
	})
	prog.Done()
	if o.check && err == nil {
		// What nothing touched since the last full check is checked here.
		if cerr := eng.Check(); cerr != nil {
			err = fmt.Errorf("at the end: invariant violated (full check):\n%w", cerr)
		}
	}
	// What was recorded is a complete trace of its events, kept also
	// when the workload fails or is interrupted; a failure to write is
	// not kept.
	var cerr error
	var we *traceWriteError
	if !errors.As(err, &we) {
		cerr = tw.Commit()
	}
	switch {
	case errors.Is(err, context.Canceled):
		if cerr != nil {
			return fmt.Errorf("interrupted, and completing %s failed: %w", o.out, cerr)
		}
		return &exitError{130, fmt.Errorf("interrupted: %s holds the first %d events, a complete trace", o.out, n)}
	case err != nil && cerr == nil && we == nil:
		return fmt.Errorf("%w (%s holds the %d events before)", err, o.out, n)
	case err != nil:
		return err
	case cerr != nil:
		return cerr
	}
	if o.out == "-" {
		stdout = stderr // the trace went there
	}
	fmt.Fprintf(stdout, "%s: %d events of %s (seed %d%s)\n", o.out, n, o.workload, o.seed, paramsNote(o.params))
	return nil
}

func paramsNote(p paramFlag) string {
	if len(p) == 0 {
		return ""
	}
	return ", " + p.String()
}

// traceWriteError is a failure to write the trace (a full disk), as
// opposed to one of the workload: nothing is kept.
type traceWriteError struct{ err error }

func (e *traceWriteError) Error() string { return e.err.Error() }
func (e *traceWriteError) Unwrap() error { return e.err }
