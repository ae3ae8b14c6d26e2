// Command explorer-gui is PGM Explorer's desktop window. It is a program
// of its own because Ebiten needs a display (and cgo with the X11 and GL
// headers to build): `explorer gui` starts it, and every other explorer
// command runs without either.
//
// Usage:
//
//	explorer-gui [flags] [TRACE]
//	explorer-gui --x86 PROGRAM [--paging shadow|nested] [--unicorn PATH] [flags]
//	explorer-gui --attach 127.0.0.1:PORT [--period D] [--save TRACE] [flags]
//
// With no source it opens the guided tour of the paging modes. With
// --x86 it runs a real x86 guest in Unicorn with the engine as its MMU
// (package x86guest) and steps through what it did. With --attach it
// follows a running QEMU guest while the window is open, playing its
// stops as they arrive; closing the window or Ctrl-C lets the guest run
// on and leaves the trace saved.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/gui"
	"github.com/pgm-explorer/pgm-explorer/gui/app"
	"github.com/pgm-explorer/pgm-explorer/gui/x86guest"
	"github.com/pgm-explorer/pgm-explorer/internal/safeout"
	"github.com/pgm-explorer/pgm-explorer/traces/x86live"
	"github.com/pgm-explorer/pgm-explorer/viz"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

type params map[string]string

func (p params) String() string { return "" }
func (p params) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return fmt.Errorf("%q: want NAME=VALUE", s)
	}
	p[k] = v
	return nil
}

func run(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("explorer gui", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		trace    = fs.String("trace", "", "a trace `FILE` to open (text or binary)")
		sample   = fs.String("sample", "", "an embedded sample trace, by `NAME` (e.g. modes-tour.txt)")
		wl       = fs.String("workload", "", "a live workload, by `NAME` (see explorer workloads)")
		x86prog  = fs.String("x86", "", "a real x86 guest run in Unicorn with the engine as its MMU: `PROGRAM` is "+strings.Join(x86live.Names(), ", ")+", or a .asm or flat .bin file (as for explorer live)")
		unicorn  = fs.String("unicorn", "", "with --x86: the libunicorn.so.2 `PATH` (default: $PGM_UNICORN, then the copy `make unicorn` puts in .cache/unicorn, then the system's)")
		seed     = fs.Uint64("seed", 1, "the workload's seed")
		ps       = params{}
		at       = fs.String("at", "", "start at this event `N` or at the first label containing this text")
		view     = fs.String("view", "overview", "the view: "+strings.Join(viz.ViewNames(), ", "))
		va       = fs.String("va", "", "follow this virtual `ADDRESS` (hexadecimal)")
		host     = fs.String("host", "", "override the host paging `MODE`: "+strings.Join(engine.HostModeNames(), ", "))
		paging   = fs.String("paging", "", "override the paging: shadow, nested or ept (with --x86: how the engine maps the guest while it runs, shadow or nested)")
		pool     = fs.Int("pool", 0, "override the shadow pool size in `PAGES`")
		play     = fs.Bool("play", false, "start playing")
		speed    = fs.Float64("speed", 0, "replay speed in events per second")
		size     = fs.String("size", "1280x800", "window size `WxH`")
		shot     = fs.String("screenshot", "", "write the window's first settled frame to this PNG `FILE`")
		exit     = fs.Bool("exit", false, "exit after the screenshot")
		tour     = fs.String("tour", "", "the tour's explanation panel: on or off (default: on for modes-tour)")
		location = fs.String("state", "", "open the state of a browser link (the part after '#')")
		exitFor  = fs.Duration("for", 0, "exit after this long, printing the frames drawn per second (benchmarks)")
		attach   = fs.String("attach", "", "follow a running QEMU guest through its gdbstub at `ADDR` (127.0.0.1:PORT) while the window is open")
		stops    = fs.Int("stops", 0, "with --attach: stop following after this many stops (0: while the window is open)")
		period   = fs.Duration("period", 200*time.Millisecond, "with --attach: how long the guest runs between two stops")
		remote   = fs.Bool("allow-remote", false, "with --attach: allow a stub that is not on this machine")
		save     = fs.String("save", "", "with --attach: the trace `FILE` to keep, rewritten after every stop (default: a new attach-DATE-TIME.pgmt here)")
		ram      = fs.String("ram", "", "with --attach: the guest's RAM `SIZE` from address 0 (default 4G, or up to its highest table page)")
	)
	fs.Var(ps, "param", "a workload parameter `NAME=VALUE` (repeatable)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	fail := func(code int, format string, a ...any) int {
		fmt.Fprintf(stderr, "explorer gui: "+format+"\n", a...)
		return code
	}
	st, err := app.DecodeState(*location)
	if err != nil {
		return fail(2, "%v", err)
	}
	if fs.NArg() > 1 {
		return fail(2, "one trace at most (got %d arguments)", fs.NArg())
	}
	if fs.NArg() == 1 {
		*trace = fs.Arg(0)
	}
	switch {
	case *trace != "":
		st.Source = app.Source{File: *trace}
		if _, err := os.Stat(*trace); err != nil {
			return fail(1, "%v", err)
		}
	case *sample != "":
		st.Source = app.Source{Sample: *sample}
	case *wl != "":
		st.Source = app.Source{Workload: *wl, Seed: *seed, Params: ps}
	case *attach != "":
		if *stops < 0 || *period <= 0 {
			return fail(2, "--stops must not be negative and --period must be positive")
		}
		o := attachOptions{addr: *attach, allowRemote: *remote, stops: *stops, period: *period, save: *save}
		if *ram != "" {
			if o.ram, err = parseRAM(*ram); err != nil {
				return fail(2, "--ram %v", err)
			}
		}
		l, src, err := startAttach(o, stderr)
		if err != nil {
			return fail(1, "%v", err)
		}
		defer l.stop()
		st.Source = src
		if *speed == 0 {
			*speed = math.Inf(1) // follow: each stop's events as soon as they arrive
		}
		*play = true
	case *x86prog != "":
		// The guest runs to its end here, before the window opens (the
		// built-in ones take milliseconds); the window then steps
		// through its events like through any trace. --paging is the
		// run's own, which its header carries: not an override.
		src, _, err := x86guest.Open(*x86prog, *unicorn, *paging)
		var usage *x86guest.UsageError
		if errors.As(err, &usage) {
			return fail(2, "%v", err)
		}
		if err != nil {
			return fail(1, "%v", err)
		}
		st.Source, *paging = src, ""
	}
	if *host != "" {
		if st.Host, err = engine.ParseHostMode(*host); err != nil {
			return fail(2, "--host: %v", err)
		}
	}
	if *paging != "" {
		if st.Paging, err = engine.ParsePaging(*paging); err != nil {
			return fail(2, "--paging: %v", err)
		}
		st.PagingSet = true
	}
	if *pool != 0 {
		st.Pool = *pool
	}
	if *location == "" || *view != "overview" {
		if st.View, err = viz.ParseView(*view); err != nil {
			return fail(2, "--view: %v", err)
		}
	}
	if *va != "" {
		if st.VA, err = app.ParseVA(*va); err != nil {
			return fail(2, "--va: %v", err)
		}
		st.HasVA = true
	}
	label := ""
	if *at != "" {
		if n, err := strconv.ParseUint(*at, 0, 64); err == nil {
			st.Event = n
		} else {
			label = *at
		}
	}
	var w, h int
	if _, err := fmt.Sscanf(*size, "%dx%d", &w, &h); err != nil || w < 320 || h < 200 {
		return fail(2, "--size %q: want WIDTHxHEIGHT, at least 320x200", *size)
	}
	// The files the window reads: a screenshot or an export never
	// replaces them.
	var inputs []string
	for _, f := range []string{*trace, *x86prog} {
		if fi, err := os.Stat(f); f != "" && err == nil && fi.Mode().IsRegular() {
			inputs = append(inputs, f)
		}
	}
	if *shot != "" {
		if err := safeout.NotAnInput(*shot, inputs); err != nil {
			return fail(1, "--screenshot: %v", err)
		}
	}
	opts := app.Options{State: st, Host: desktopHost{inputs}, Play: *play, Speed: *speed}
	switch *tour {
	case "":
	case "on", "off":
		on := *tour == "on"
		opts.Tour = &on
	default:
		return fail(2, "--tour %q: want on or off", *tour)
	}
	a, err := app.New(opts)
	if err != nil {
		return fail(1, "%v", err)
	}
	if label != "" {
		if err := a.Settle(); err != nil {
			return fail(1, "%v", err)
		}
		if err := a.GoTo(label); err != nil {
			return fail(1, "--at: %v", err)
		}
	}
	if *shot != "" {
		// A screenshot shows the moment asked for, not a moment of a
		// replay still under way.
		if err := a.Settle(); err != nil {
			return fail(1, "%v", err)
		}
	}
	if os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == "" {
		return fail(1, "%v", gui.ErrNoDisplay)
	}
	err = gui.Run(a, gui.Options{Title: "PGM Explorer · " + st.Source.Name(), Width: w, Height: h, Screenshot: *shot, Inputs: inputs, Exit: *exit,
		ExitAfter: *exitFor, Report: stderr})
	if err != nil {
		return fail(1, "%v", err)
	}
	return 0
}

// desktopHost saves exports in the current directory, through package
// safeout like every file the explorer writes: never over one of inputs,
// never half-written.
type desktopHost struct{ inputs []string }

func (h desktopHost) Save(name string, data []byte) (string, error) {
	err := safeout.WriteFile(name, os.Stdout, h.inputs, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
	if err != nil {
		return "", err
	}
	abs, err := filepath.Abs(name)
	if err != nil {
		return name, nil
	}
	return abs, nil
}

func (desktopHost) PickFile() bool     { return false }
func (desktopHost) SetLocation(string) {}
