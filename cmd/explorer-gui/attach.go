package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/phys"
	"github.com/pgm-explorer/pgm-explorer/gui/app"
	"github.com/pgm-explorer/pgm-explorer/internal/safeout"
	"github.com/pgm-explorer/pgm-explorer/traces"
	"github.com/pgm-explorer/pgm-explorer/traces/qemu"
	"github.com/pgm-explorer/pgm-explorer/traces/qemu/gdb"
)

// attachOptions are the flags of --attach.
type attachOptions struct {
	addr        string
	allowRemote bool
	stops       int
	period      time.Duration
	save        string // the trace kept; "" for a new attach-TIME.pgmt here
	ram         uint64 // the guest's RAM from 0; 0: 4 GiB, or more if its tables lie higher
}

// liveAttach is a running QEMU guest followed while the window is open:
// the window reads its stops as they arrive (a growing source), the
// trace is saved after every stop, and closing the window or Ctrl-C
// leaves the guest running and the trace saved, as explorer attach does.
type liveAttach struct {
	live   *gdb.Live
	save   string
	report io.Writer
}

// startAttach takes the guest's first snapshot and starts following it.
func startAttach(o attachOptions, report io.Writer) (*liveAttach, app.Source, error) {
	if o.save == "" {
		o.save = time.Now().Format("attach-20060102-150405.pgmt")
	}
	if _, err := os.Stat(o.save); err == nil {
		return nil, app.Source{}, fmt.Errorf("--save %s exists: name a new file", o.save)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := gdb.Dial(ctx, o.addr, o.allowRemote)
	if err != nil {
		return nil, app.Source{}, err
	}
	fo := qemu.FollowOptions{Period: o.period, Options: qemu.Options{Source: "gdbstub " + o.addr}}
	if o.ram > 0 {
		fo.Ranges = []phys.RangeSpec{{Type: phys.TypeRAM, Size: o.ram, Name: "ram"}}
	}
	live, err := gdb.Attach(c, gdb.LiveOptions{FollowOptions: fo, Stops: o.stops,
		Save: func(h traces.Header, evs []engine.Event) error {
			return safeout.WriteFile(o.save, os.Stdout, nil, func(w io.Writer) error { return traces.Encode(w, traces.FormOf(o.save), h, evs) })
		}})
	if err != nil {
		c.Close()
		return nil, app.Source{}, err
	}
	l := &liveAttach{live: live, save: o.save, report: report}
	l.onInterrupt()
	src := live.Source()
	return l, app.Source{Events: &app.EventList{
		Name:   "attach",
		Title:  fmt.Sprintf("%s: a QEMU guest followed through its gdbstub (saved in %s)", o.addr, o.save),
		Header: src.Header(),
		Live:   src,
	}}, nil
}

// onInterrupt lets the guest go and keeps the trace on Ctrl-C, which
// would otherwise end the program in the middle of a stop.
func (l *liveAttach) onInterrupt() {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		l.stop()
		os.Exit(130)
	}()
}

// stop ends the following and says where the trace is.
func (l *liveAttach) stop() {
	err := l.live.Stop()
	in := l.live.Info()
	fmt.Fprintf(l.report, "%s: %d events, %d stops, %d CR3 switches; the guest runs on\n", l.save, in.Events, in.Stops, in.Switches)
	if err != nil {
		fmt.Fprintf(l.report, "explorer gui: following the guest: %v\n", err)
	}
}

// parseRAM reads 256M, 8G, 4096 (powers of 1024) as the trace text
// writes sizes.
func parseRAM(s string) (uint64, error) {
	v, err := traces.ParseSize(s)
	if err != nil || v == 0 || v > 1<<52 || v%4096 != 0 {
		return 0, fmt.Errorf("%q: want a page-aligned size such as 256M", s)
	}
	return v, nil
}
