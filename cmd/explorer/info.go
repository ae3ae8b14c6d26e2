package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/phys"
	"github.com/pgm-explorer/pgm-explorer/traces"
	"github.com/pgm-explorer/pgm-explorer/traces/session"
)

func init() {
	register(&command{
		name:    "info",
		summary: "describe a trace, or run an engine info command at one of its events",
		usage:   "FILE [COMMAND [ARGS]]\n\nWithout COMMAND: the trace's header, events by kind, labels and length.\nWith COMMAND: replay up to --at and run the engine's info command there:\n" + infoCommandList(),
		flags:   infoFlags,
	})
}

func infoFlags(fs *flag.FlagSet) func([]string, io.Writer, io.Writer) error {
	labels := fs.Int("labels", 100, "list at most this many labels (-1: all)")
	at := fs.String("at", "", "with COMMAND: the event index to stop before, or a label's text (default: the end)")
	var o replayOptions
	fs.StringVar(&o.host, "host", "", "with COMMAND: host paging mode, overriding the trace header")
	fs.StringVar(&o.paging, "paging", "", "with COMMAND: shadow, nested or ept, overriding the trace header")
	fs.IntVar(&o.pool, "pool", 0, "with COMMAND: pool size in pages, overriding the trace header")
	return func(args []string, stdout, stderr io.Writer) error {
		switch {
		case len(args) == 0:
			return usageErrorf("want a trace FILE")
		case len(args) == 1:
			if *at != "" {
				return usageErrorf("--at needs a COMMAND to run there")
			}
			return info(args[0], *labels, stdout)
		}
		return infoAt(args[0], *at, o, args[1], args[2:], stdout)
	}
}

func infoCommandList() string {
	var b strings.Builder
	for _, c := range engine.InfoCommands() {
		fmt.Fprintf(&b, "  %-15s %-30s %s\n", c.Name, c.Args, c.Help)
	}
	return b.String()
}

// infoAt replays a trace through the shadow engine up to event at (an
// index, or the first label with that text) and runs an info command.
func infoAt(path, at string, o replayOptions, cmd string, args []string, w io.Writer) error {
	known := false
	for _, c := range engine.InfoCommands() {
		known = known || c.Name == cmd
	}
	if !known {
		return usageErrorf("unknown info command %q", cmd)
	}
	stop, isIndex := uint64(0), false
	if at != "" {
		if n, err := strconv.ParseUint(at, 0, 64); err == nil {
			stop, isIndex = n, true
		}
	}
	src, err := session.File(path)
	if err != nil {
		return err
	}
	s, err := openSession(src, o)
	if err != nil {
		return err
	}
	defer s.Close()
	for n := uint64(0); ; n++ {
		if isIndex && n == stop {
			break
		}
		ev, err := s.Peek()
		if errors.Is(err, io.EOF) {
			if at != "" {
				if isIndex {
					return fmt.Errorf("--at %s: the trace ends after %d events", at, n)
				}
				return fmt.Errorf("--at %q: no such label (and not an event index)", at)
			}
			break
		}
		if err != nil {
			return err
		}
		if !isIndex && at != "" && ev.Kind == engine.EvLabel && ev.Text == at {
			break
		}
		if _, err := s.Step(); err != nil {
			return err
		}
	}
	fmt.Fprintf(w, "# %s at event %d\n", path, s.Pos())
	return s.Shadow().Info(w, cmd, args...)
}

// traceLabel is a label event and where it is.
type traceLabel struct {
	index uint64
	text  string
}

// traceCounts is what info learns by reading every event. Its memory is
// bounded: counts per kind and size, and at most maxLabels labels.
type traceCounts struct {
	events    uint64
	byKind    [256]uint64
	bySize    [256][9]uint64 // sized kinds: by access size
	labels    []traceLabel
	maxLabels int // -1: keep all
	more      uint64
}

func (c *traceCounts) add(ev engine.Event) {
	c.byKind[ev.Kind]++
	if ev.Kind.Sized() && ev.Size <= 8 {
		c.bySize[ev.Kind][ev.Size]++
	}
	if ev.Kind == engine.EvLabel {
		if c.maxLabels < 0 || len(c.labels) < c.maxLabels {
			c.labels = append(c.labels, traceLabel{c.events, ev.Text})
		} else {
			c.more++
		}
	}
	c.events++
}

// info reads the whole trace and prints its description. A damaged trace
// is described up to the damage, then the error is returned.
func info(path string, maxLabels int, w io.Writer) error {
	f, err := traces.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	c := traceCounts{maxLabels: maxLabels}
	var readErr error
	for {
		ev, err := f.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			readErr = err
			break
		}
		c.add(ev)
	}
	printInfo(w, path, f, &c, readErr)
	return readErr
}

func printInfo(w io.Writer, path string, f *traces.File, c *traceCounts, readErr error) {
	h := f.Header()
	cfg := h.Config
	fmt.Fprintf(w, "file:       %s\n", path)
	size := int64(-1)
	if st, err := os.Stat(path); err == nil {
		size = st.Size()
	}
	version, checks := traces.Version, ""
	if br, ok := f.Reader.(*traces.BinaryReader); ok {
		version, checks = br.Version(), " (checksummed)"
		if !br.Checked() {
			checks = " (unchecked: written before checksums; explorer convert makes a checked copy)"
		}
	}
	fmt.Fprintf(w, "form:       %s, version %d%s", f.Form, version, checks)
	if size >= 0 {
		fmt.Fprintf(w, ", %d bytes", size)
		if c.events > 0 {
			fmt.Fprintf(w, " (%.2f bytes/event)", float64(size)/float64(c.events))
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "host:       %s (%v)\n", cfg.Host.TraceName(), cfg.Host)
	fmt.Fprintf(w, "paging:     %v\n", cfg.Paging)
	fmt.Fprintf(w, "pool:       %d pages\n", cfg.PoolPages)
	fmt.Fprintf(w, "maxphyaddr: %d\n", cfg.MaxPhys)
	if cfg.NoPAE {
		fmt.Fprintln(w, "cpu:        no PAE")
	}
	fmt.Fprintf(w, "ranges:     %d\n", len(cfg.Ranges))
	for _, r := range cfg.Ranges {
		fmt.Fprintf(w, "  %-4s %#-12x %-8s %s\n", rangeKind(r.Type), uint64(r.Start), phys.FormatSize(r.Size), traces.Shown(r.Name))
	}
	if len(h.Meta) > 0 {
		keys := make([]string, 0, len(h.Meta))
		for k := range h.Meta {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		fmt.Fprintln(w, "meta:")
		for _, k := range keys {
			fmt.Fprintf(w, "  %s: %s\n", k, traces.Shown(h.Meta[k]))
		}
	}

	fmt.Fprintf(w, "events:     %d", c.events)
	if readErr != nil {
		fmt.Fprint(w, " before the error below")
	}
	if br, ok := f.Reader.(*traces.BinaryReader); ok {
		if n, known := br.EventCount(); known {
			fmt.Fprintf(w, " (the header announces %d)", n)
		}
	}
	fmt.Fprintln(w)
	// A trace records what happened, not when: its only clock is the
	// event index, so its duration is its number of events.
	fmt.Fprintf(w, "duration:   %d events (traces carry no time: the event index is their clock)\n", c.events)
	if c.events > 0 {
		fmt.Fprintln(w, "events by kind:")
		for k := range c.byKind {
			if c.byKind[k] == 0 {
				continue
			}
			kind := engine.EventKind(k)
			fmt.Fprintf(w, "  %-18s %10d  %5.1f%%", kind, c.byKind[k], 100*float64(c.byKind[k])/float64(c.events))
			if kind.Sized() {
				var parts []string
				for s, n := range c.bySize[k] {
					if n > 0 {
						parts = append(parts, fmt.Sprintf("%s%d: %d", kind, s, n))
					}
				}
				fmt.Fprintf(w, "  (%s)", strings.Join(parts, ", "))
			}
			fmt.Fprintln(w)
		}
	}
	n := c.byKind[engine.EvLabel]
	if n > 0 {
		fmt.Fprintf(w, "labels:     %d (event index: text)\n", n)
		for _, l := range c.labels {
			fmt.Fprintf(w, "  %d: %s\n", l.index, traces.Shown(l.text))
		}
		if c.more > 0 {
			fmt.Fprintf(w, "  ... and %d more (-labels=-1 lists them all)\n", c.more)
		}
	}
}

func rangeKind(t phys.PageType) string {
	switch t {
	case phys.TypeRAM:
		return "ram"
	case phys.TypeROM:
		return "rom"
	case phys.TypeMMIO:
		return "mmio"
	}
	return t.String()
}
