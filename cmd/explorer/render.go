package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
	"github.com/pgm-explorer/pgm-explorer/traces/session"
	"github.com/pgm-explorer/pgm-explorer/viz"
)

func init() {
	register(&command{
		name:    "render",
		summary: "draw a view of the engine at one event of a trace into a PNG picture",
		usage: "FILE -o OUT.png\n\nReplays FILE through the shadow engine up to --at and draws a view there, as the\n" +
			"interactive UI would show it. Flags may come before or after FILE. Views:\n" + renderViewList(),
		flags: renderFlags,
	})
}

var viewHelp = map[string]string{
	"overview":     "everything: mode bar, page tables, walk, memory, pool, statistics, timeline",
	"hierarchy":    "the guest and shadow (or nested) page tables large, the intermediate context too when the trace has mappings",
	"memory":       "the guest physical memory map and the shadow page pool",
	"walk":         "the walk of one address, guest and shadow side by side (the 2D walk under nested paging)",
	"intermediate": "the hypervisor's mappings in the guest's linear space, its shadow directories and intermediate context",
}

func renderViewList() string {
	var b strings.Builder
	for _, n := range viz.ViewNames() {
		fmt.Fprintf(&b, "  %-13s %s\n", n, viewHelp[n])
	}
	return b.String()
}

type renderOptions struct {
	replayOptions
	at   string
	view string
	va   string
	size string
	out  string
}

func renderFlags(fs *flag.FlagSet) func([]string, io.Writer, io.Writer) error {
	var o renderOptions
	fs.StringVar(&o.at, "at", "", "the event index to stop before, or a label's text (the picture shows the label); default: the end")
	fs.StringVar(&o.view, "view", "overview", "what to draw: "+strings.Join(viz.ViewNames(), ", "))
	fs.StringVar(&o.va, "va", "", "the virtual address to follow (hex with 0x, or decimal); default: that of the last access")
	fs.StringVar(&o.size, "size", "1280x800", fmt.Sprintf("picture size WxH, from %dx%d to %dx%d", viz.MinWidth, viz.MinHeight, viz.MaxWidth, viz.MaxHeight))
	fs.StringVar(&o.out, "o", "", "the PNG file to write (required; - for standard output)")
	fs.StringVar(&o.engine, "engine", "shadow", "engine to run: only shadow can be drawn (ref has no shadow tables)")
	fs.StringVar(&o.host, "host", "", "host paging mode, overriding the trace header: "+strings.Join(engine.HostModeNames(), ", "))
	fs.StringVar(&o.paging, "paging", "", "shadow, nested or ept, overriding the trace header")
	fs.IntVar(&o.pool, "pool", 0, fmt.Sprintf("shadow page pool size in pages (%d..%d), overriding the trace header", engine.MinPoolPages, engine.MaxPoolPages))
	return func(args []string, stdout, stderr io.Writer) error {
		// Flags may follow FILE: parse what comes after each argument.
		var files []string
		for len(args) > 0 {
			if args[0] == "--" {
				files = append(files, args[1:]...)
				break
			}
			if strings.HasPrefix(args[0], "-") && args[0] != "-" {
				if err := fs.Parse(args); err != nil {
					return usageErrorf("%v", err)
				}
				args = fs.Args()
				continue
			}
			files = append(files, args[0])
			args = args[1:]
		}
		if len(files) != 1 {
			return usageErrorf("want exactly one trace FILE, got %d arguments", len(files))
		}
		ctx, stop := interruptContext()
		defer stop()
		return render(ctx, files[0], o, stdout)
	}
}

// parseSize reads WxH.
func parseSize(s string) (w, h int, err error) {
	ws, hs, ok := strings.Cut(strings.ToLower(s), "x")
	if ok {
		w, err = strconv.Atoi(ws)
		if err == nil {
			h, err = strconv.Atoi(hs)
		}
	}
	if !ok || err != nil {
		return 0, 0, usageErrorf("--size %q: want WIDTHxHEIGHT, e.g. 1280x800", s)
	}
	if w < viz.MinWidth || h < viz.MinHeight || w > viz.MaxWidth || h > viz.MaxHeight {
		return 0, 0, usageErrorf("--size %s outside %dx%d .. %dx%d", s, viz.MinWidth, viz.MinHeight, viz.MaxWidth, viz.MaxHeight)
	}
	return w, h, nil
}

// render replays the trace at path to o.at and writes the picture.
func render(ctx context.Context, path string, o renderOptions, stdout io.Writer) error {
	if o.engine != "shadow" {
		if o.engine == "ref" {
			return usageErrorf("--engine ref cannot be drawn: the reference CPU has no shadow tables, pool or intermediate context")
		}
		return usageErrorf("unknown engine %q (want shadow)", o.engine)
	}
	view, err := viz.ParseView(o.view)
	if err != nil {
		return &exitError{2, fmt.Errorf("--view: %w", err)}
	}
	w, h, err := parseSize(o.size)
	if err != nil {
		return err
	}
	var va uint64
	if o.va != "" {
		va, err = strconv.ParseUint(o.va, 0, 64)
		if err != nil {
			return usageErrorf("--va %q: not an address (want hex with 0x, or decimal)", o.va)
		}
	}
	if o.out == "" {
		return usageErrorf("want -o OUT.png (or -o - for standard output)")
	}
	stop, isIndex := uint64(0), false
	if o.at != "" {
		if n, err := strconv.ParseUint(o.at, 0, 64); err == nil {
			stop, isIndex = n, true
		}
	}

	// Refuse -o IN now rather than after the replay.
	if err := notAnInput(o.out, []string{path}); err != nil {
		return err
	}
	src, err := session.File(path)
	if err != nil {
		return err
	}
	s, err := openSession(src, o.replayOptions)
	if err != nil {
		return err
	}
	defer s.Close()
	eng := s.Shadow()
	m := &viz.Model{Engine: eng, Recent: viz.NewRecent(256), Timeline: viz.NewTimeline(512),
		History: viz.NewStatsHistory(viz.RateWindow), View: view, Width: w, Height: h, Title: filepath.Base(path)}
	apply := func() error {
		oc, err := s.Step()
		if err != nil {
			return err
		}
		m.Recent.Add(oc)
		m.Timeline.Add(&oc)
		m.Timeline.SampleStats(eng)
		m.History.Observe(eng)
		return nil
	}
	for n := uint64(0); ; n++ {
		if isIndex && n == stop {
			break
		}
		if n%1024 == 0 && ctx.Err() != nil {
			return &exitError{130, fmt.Errorf("interrupted after %d events; %s not written", n, o.out)}
		}
		ev, err := s.Peek()
		if errors.Is(err, io.EOF) {
			if o.at != "" {
				if isIndex {
					return fmt.Errorf("--at %s: the trace ends after %d events", o.at, n)
				}
				return fmt.Errorf("--at %q: no such label (and not an event index)", o.at)
			}
			break
		}
		if err != nil {
			return err
		}
		if err := apply(); err != nil {
			return err
		}
		if !isIndex && o.at != "" && ev.Kind == engine.EvLabel && ev.Text == o.at {
			break
		}
	}
	if o.va != "" {
		if !eng.Format().Mode.Long() && va>>32 != 0 {
			return usageErrorf("--va %#x: beyond the 4 GiB linear space of the guest's %v mode at event %d", va, eng.Format().Mode, eng.Events())
		}
		m.VA, m.HasVA = x86.GVA(va), true
	}

	var l viz.List
	viz.Layout(m, &l)
	out, err := createOutput(o.out, stdout, path)
	if err != nil {
		return err
	}
	defer out.Abort()
	bw := bufio.NewWriter(out)
	if err := viz.RenderPNG(bw, &l, l.Width, l.Height); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return out.Commit()
}
