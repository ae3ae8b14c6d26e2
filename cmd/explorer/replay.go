package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/phys"
	"github.com/pgm-explorer/pgm-explorer/traces"
	"github.com/pgm-explorer/pgm-explorer/traces/session"
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
	every    int // --check-every: a full check every this many events (1: after every event)
	out      string
	host     string // overrides of the trace header, "" when not given
	paging   string
	pool     int
	where    string   // --where: print only the outcomes this filter matches
	snapMem  sizeFlag // --snapshot-memory: the save events' limit, 0 for the engine's default
	// afterEvent, when set, is called after each event is applied with
	// the number applied so far (tests use it to interrupt a replay).
	afterEvent func(n uint64)
}

func replayFlags(fs *flag.FlagSet) func([]string, io.Writer, io.Writer) error {
	var o replayOptions
	fs.StringVar(&o.engine, "engine", "shadow", "engine to run: shadow (the PGM engine: shadow or nested paging) or ref (the reference CPU that walks the guest tables on every access)")
	fs.StringVar(&o.outcomes, "outcomes", "none", "print outcomes: none or jsonl (one JSON object per r, w, x and pr event)")
	fs.BoolVar(&o.stats, "stats", false, "print statistics when the replay ends")
	fs.StringVar(&o.out, "o", "-", "write outcomes to this file instead of standard output")
	fs.BoolVar(&o.check, "check", false, "run the invariant checker after every event and stop at the first violation: it checks what the event touched, and everything every --check-every events and at the end")
	fs.IntVar(&o.every, "check-every", 10000, "with --check, check everything every N events (1: after every event, slow on large guests)")
	fs.Var(&o.snapMem, "snapshot-memory", fmt.Sprintf("the guest memory the snapshots of save events may hold together, e.g. 4G (default %s)", phys.FormatSize(engine.DefaultSnapshotBytes)))
	fs.StringVar(&o.host, "host", "", "host paging mode, overriding the trace header: "+strings.Join(engine.HostModeNames(), ", "))
	fs.StringVar(&o.paging, "paging", "", "shadow, nested or ept, overriding the trace header")
	fs.StringVar(&o.where, "where", "", "print only the outcomes that match this filter (implies --outcomes=jsonl; see README, \"Filters\")")
	fs.IntVar(&o.pool, "pool", 0, fmt.Sprintf("shadow page pool size in pages (%d..%d), overriding the trace header", engine.MinPoolPages, engine.MaxPoolPages))
	return func(args []string, stdout, stderr io.Writer) error {
		if len(args) != 1 {
			return usageErrorf("want exactly one trace FILE, got %d arguments", len(args))
		}
		return replayInterruptible(args[0], o, stdout, stderr)
	}
}

// replayInterruptible is replay that Ctrl-C (SIGINT) or SIGTERM stops
// cleanly; a second Ctrl-C kills the program as usual.
func replayInterruptible(path string, o replayOptions, stdout, stderr io.Writer) error {
	ctx, stop := interruptContext()
	defer stop()
	return replay(ctx, path, o, stdout, stderr)
}

// overrides are the command line's choices over the trace header's.
func (o replayOptions) overrides() (session.Overrides, error) {
	ov := session.Overrides{Pool: o.pool, SnapshotLimit: uint64(o.snapMem)}
	if o.host != "" {
		h, err := engine.ParseHostMode(o.host)
		if err != nil {
			return ov, &exitError{2, err}
		}
		ov.Host = h
	}
	if o.paging != "" {
		p, err := engine.ParsePaging(o.paging)
		if err != nil {
			return ov, &exitError{2, err}
		}
		ov.Paging, ov.PagingSet = p, true
	}
	return ov, nil
}

// openSession replays src through the engine --engine names (shadow
// when not given), with the overrides of o. On error src is closed.
func openSession(src session.Source, o replayOptions) (*session.Session, error) {
	kind := session.Shadow
	if o.engine != "" {
		k, err := session.ParseKind(o.engine)
		if err != nil {
			src.Close()
			return nil, &exitError{2, err}
		}
		kind = k
	}
	ov, err := o.overrides()
	if err != nil {
		src.Close()
		return nil, err
	}
	s, err := session.Open(src, session.Options{Overrides: ov, Engine: kind})
	var pe *session.PoolError
	if errors.As(err, &pe) {
		return nil, usageErrorf("--pool %d outside %d..%d", pe.Pages, engine.MinPoolPages, engine.MaxPoolPages)
	}
	return s, err
}

// checker is an engine that can verify its own invariants, all of them
// or what the events since the last check touched.
type checker interface {
	Check() error
	CheckTouched() error
}

// replay replays the trace at path. When ctx is done (Ctrl-C) it stops
// between two events: the outcomes so far are written, with the
// statistics if asked for, and the error says how far it got, with exit
// status 130.
func replay(ctx context.Context, path string, o replayOptions, stdout, stderr io.Writer) error {
	where, err := parseWhere(o.where)
	if err != nil {
		return err
	}
	if where != nil && o.outcomes == "none" {
		o.outcomes = "jsonl"
	}
	if o.outcomes != "none" && o.outcomes != "jsonl" {
		return usageErrorf("unknown --outcomes %q (want none or jsonl)", o.outcomes)
	}
	if o.engine != "shadow" && o.engine != "ref" {
		return usageErrorf("unknown engine %q (want shadow or ref)", o.engine)
	}
	// Either form, told apart by content. The file is read through a
	// counter, to estimate the events of a trace that does not say.
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	src := &byteCounter{r: f, f: f}
	rd, _, err := traces.NewReader(src, path)
	if err != nil {
		return err
	}
	ss, err := openSession(session.FromReader(rd), o)
	if err != nil {
		return err
	}
	eng := ss.Engine()
	where.follow(eng)
	if sh, ok := eng.(*engine.Shadow); ok && o.stats {
		sh.SetTiming(true) // profiles show time per call; outcomes do not depend on it
	}
	chk, _ := eng.(checker)
	if o.check && chk == nil {
		return usageErrorf("--check needs the shadow engine")
	}
	if o.check && o.every < 1 {
		return usageErrorf("--check-every %d: want 1 or more", o.every)
	}
	// Outcomes go to a file only if the replay gets through (or is
	// interrupted: then the file holds those of the events replayed).
	var out *bufio.Writer
	var of *output
	if o.outcomes == "jsonl" {
		if of, err = createOutput(o.out, stdout, path); err != nil {
			return err
		}
		defer of.Abort()
		out = bufio.NewWriterSize(of, 1<<16)
	}
	finish := func() error {
		if out == nil {
			return nil
		}
		if err := out.Flush(); err != nil {
			return err
		}
		return of.Commit()
	}
	// The progress line: its total is the binary header's count, or
	// an estimate from the share of the file read so far.
	var size int64
	if st, err := f.Stat(); err == nil {
		size = st.Size()
	}
	total, known := uint64(0), false
	if br, ok := rd.(*traces.BinaryReader); ok {
		total, known = br.EventCount()
	}
	prog := newProgress(stderr, "replay "+filepath.Base(path), "events", total)
	// fail stops the replay; the outcomes of the events before the
	// failing one are still printed, whatever the buffer held.
	fail := func(err error) error {
		prog.Done()
		if out != nil {
			out.Flush()
			if of.Temporary() {
				err = fmt.Errorf("%w (%s)", err, of.AbortNote())
			}
		}
		return err
	}
	var sum replaySummary
	var lastFull uint64 // events before the last full check (--check)
	start := time.Now()
	var buf []byte
	for n := uint64(0); ; n++ {
		if n%256 == 0 && n > 0 {
			if ctx.Err() != nil {
				return replayInterrupted(ss, n, o, &sum, start, eng, out != nil, finish, prog, stderr)
			}
			if !known && n%(1<<16) == 0 {
				prog.estimate(n, src.n, size)
			}
		}
		// An error names the position (FILE:LINE, or FILE: event N for
		// a binary trace) and the event (session.StepError).
		oc, err := ss.Step()
		if errors.Is(err, io.EOF) {
			break
		}
		if errors.Is(err, engine.ErrSnapshotMemory) {
			err = fmt.Errorf("%w (--snapshot-memory raises the limit)", err)
		}
		if err != nil {
			return fail(err)
		}
		ev := oc.Event
		if o.check {
			check, what := chk.CheckTouched, ""
			if (n+1)%uint64(o.every) == 0 {
				check, what = chk.Check, fmt.Sprintf(" (full check; the previous one passed after event %d)", lastFull)
				lastFull = n + 1
			}
			if err := check(); err != nil {
				return fail(fmt.Errorf("%s: after %s: invariant violated%s:\n%w", ss.Position(), traces.AppendEvent(nil, ev), what, err))
			}
		}
		sum.add(&oc)
		if keep := where.keep(&oc); out != nil && keep && oc.Reported() {
			buf = traces.AppendOutcomeJSON(buf[:0], &oc)
			buf = append(buf, '\n')
			if _, err := out.Write(buf); err != nil {
				return fail(err)
			}
		}
		prog.Add(1)
		if o.afterEvent != nil {
			o.afterEvent(n + 1)
		}
	}
	if o.check {
		// What nothing touched since the last full check is checked here.
		if err := chk.Check(); err != nil {
			return fail(fmt.Errorf("%s: at the end: invariant violated (full check; the previous one passed after event %d):\n%w", path, lastFull, err))
		}
	}
	prog.Done()
	sum.elapsed = time.Since(start)
	if err := finish(); err != nil {
		return err
	}
	if o.stats {
		sum.print(stderr, eng)
	}
	return nil
}

// replayInterrupted ends a replay stopped by Ctrl-C after n events: what
// was printed is flushed, the statistics so far printed if asked for.
func replayInterrupted(rd *session.Session, n uint64, o replayOptions, sum *replaySummary, start time.Time,
	eng engine.Engine, out bool, finish func() error, prog *progress, stderr io.Writer) error {
	prog.Done()
	sum.elapsed = time.Since(start)
	err := finish()
	if o.stats {
		sum.print(stderr, eng)
	}
	msg := fmt.Sprintf("interrupted after %d events (the last: %s)", n, rd.Position())
	if out {
		msg += "; the outcomes of those events were written"
	}
	if err != nil {
		return fmt.Errorf("%s, but writing the outcomes failed: %w", msg, err)
	}
	return &exitError{130, errors.New(msg)}
}

// byteCounter counts the bytes read from a file.
type byteCounter struct {
	r io.Reader
	f *os.File
	n int64
}

func (c *byteCounter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// ReadAt and Stat pass through to the file, so that a QEMU core (read
// with random access by its importer) replays like a trace.
func (c *byteCounter) ReadAt(p []byte, off int64) (int, error) { return c.f.ReadAt(p, off) }
func (c *byteCounter) Stat() (os.FileInfo, error)              { return c.f.Stat() }

// estimate sets the total of a progress line whose count is not known,
// from the share of the file read: done events in read of size bytes.
func (p *progress) estimate(done uint64, read, size int64) {
	if p == nil || read <= 0 || size <= 0 {
		return
	}
	p.total = max(done, uint64(float64(done)*float64(size)/float64(read)))
}

// sizeFlag is a number of bytes given as N, or N with K, M or G (powers
// of 1024).
type sizeFlag uint64

func (f *sizeFlag) String() string { return phys.FormatSize(uint64(*f)) }

func (f *sizeFlag) Set(s string) error {
	n, err := traces.ParseSize(s)
	if err != nil {
		return fmt.Errorf("%q is not a size (N, or N followed by K, M or G): %v", s, err)
	}
	*f = sizeFlag(n)
	return nil
}
