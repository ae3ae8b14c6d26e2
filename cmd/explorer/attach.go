package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/phys"
	"github.com/pgm-explorer/pgm-explorer/traces"
	"github.com/pgm-explorer/pgm-explorer/traces/qemu"
	"github.com/pgm-explorer/pgm-explorer/traces/qemu/gdb"
)

func init() {
	register(&command{
		name:    "attach",
		summary: "follow a running QEMU/KVM guest through its gdbstub: its page tables, CR3 switches and changed entries, as a trace",
		usage:   "--gdb 127.0.0.1:PORT -o TRACE",
		flags:   attachFlags,
	})
}

// hexList is a repeatable flag of hex addresses.
type hexList []uint64

func (h *hexList) String() string { return fmt.Sprint(*h) }
func (h *hexList) Set(s string) error {
	v, err := strconv.ParseUint(strings.TrimPrefix(strings.ToLower(s), "0x"), 16, 64)
	if err != nil {
		return fmt.Errorf("%q is not a hex address", s)
	}
	*h = append(*h, v)
	return nil
}

type attachOptions struct {
	addr, out   string
	allowRemote bool
	period      time.Duration
	stops       int
	breaks      hexList
	ram         uint64
}

func attachFlags(fs *flag.FlagSet) func([]string, io.Writer, io.Writer) error {
	var o attachOptions
	fs.StringVar(&o.addr, "gdb", "", "the gdbstub to attach to (QEMU's -gdb tcp:127.0.0.1:PORT, or -s for port 1234)")
	fs.StringVar(&o.out, "o", "", "the trace to write; rewritten whole after every stop, never half-written")
	fs.BoolVar(&o.allowRemote, "allow-remote", false, "allow a stub that is not on this machine (it has no authentication)")
	fs.DurationVar(&o.period, "period", time.Second, "how long the guest runs between two stops (or until a breakpoint)")
	fs.IntVar(&o.stops, "stops", 0, "stop after this many stops (0: until Ctrl-C)")
	fs.Var(&o.breaks, "break", "stop at this linear address too, e.g. a kernel's context-switch function (repeatable, hex)")
	ram := fs.String("ram", "", "the guest's RAM size from address 0 (default: up to the highest table page, rounded up to 16M)")
	return func(args []string, stdout, stderr io.Writer) error {
		if len(args) != 0 {
			return usageErrorf("no arguments expected, got %q", args)
		}
		if o.addr == "" || o.out == "" {
			return usageErrorf("--gdb ADDR and -o TRACE are required")
		}
		if o.period <= 0 {
			return usageErrorf("--period must be positive")
		}
		if *ram != "" {
			v, err := parseRAMSize(*ram)
			if err != nil || v == 0 || v%4096 != 0 {
				return usageErrorf("--ram %q: want a page-aligned size such as 256M", *ram)
			}
			o.ram = v
		}
		ctx, stop := interruptContext()
		defer stop()
		return attach(ctx, o, stdout, stderr)
	}
}

// attach follows the guest until the stops are done, Ctrl-C, or an
// error; the trace is saved after every stop, so an error loses nothing
// that was recorded. The guest is left running.
func attach(ctx context.Context, o attachOptions, stdout, stderr io.Writer) error {
	// OnStop reports from the follower's goroutine while this one reports
	// too: one lock for both, so that the lines neither race nor mix.
	stderr = &lockedWriter{w: stderr}
	c, err := gdb.Dial(ctx, o.addr, o.allowRemote)
	if err != nil {
		return err
	}
	for _, b := range o.breaks {
		if err := c.SetBreakpoint(b); err != nil {
			c.Close()
			return err
		}
	}
	fo := qemu.FollowOptions{Period: o.period, Options: qemu.Options{Source: "gdbstub " + o.addr}}
	if o.ram > 0 {
		fo.Ranges = []phys.RangeSpec{{Type: phys.TypeRAM, Size: o.ram, Name: "ram"}}
	}
	t0 := time.Now()
	live, err := gdb.Attach(c, gdb.LiveOptions{FollowOptions: fo, Stops: o.stops,
		Save: func(h traces.Header, events []engine.Event) error { return writeEvents(o.out, stdout, h, events) },
		OnStop: func(why string, in gdb.LiveInfo) {
			fmt.Fprintf(stderr, "stop %d (%s): %d CR3 switches, %d entries changed so far\n", in.Stops, why, in.Switches, in.Changed)
		}})
	if err != nil {
		c.Close()
		return err
	}
	fmt.Fprintf(stderr, "%s: snapshot in %v\n", o.addr, time.Since(t0).Round(time.Millisecond))
	select {
	case <-ctx.Done():
	case <-live.Done():
	}
	// Stop lets the guest go (QEMU's detach removes the breakpoints and
	// resumes) and saves the trace once more.
	err = live.Stop()
	in := live.Info()
	if err != nil {
		return fmt.Errorf("%w (the trace up to stop %d is saved in %s)", err, in.Stops, o.out)
	}
	fmt.Fprintf(stderr, "%s: %d events, %d stops, %d CR3 switches; the guest runs on\n", o.out, in.Events, in.Stops, in.Switches)
	return nil
}

// parseRAMSize reads 256M, 1G, 4096 (powers of 1024) as the trace text
// writes sizes, below 4 PiB.
func parseRAMSize(s string) (uint64, error) {
	v, err := traces.ParseSize(s)
	if err == nil && v > 1<<52 {
		err = fmt.Errorf("size %s is too large", s)
	}
	return v, err
}

// lockedWriter serialises the writes of several goroutines to one writer.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
