package main

import (
	"context"
	"fmt"
	"time"

	"github.com/pgm-explorer/pgm-explorer/gui/app"
	"github.com/pgm-explorer/pgm-explorer/traces/qemu"
	"github.com/pgm-explorer/pgm-explorer/traces/qemu/gdb"
)

// attachSource follows a running QEMU guest through its gdbstub for a
// number of stops before the window opens, as `explorer attach` does,
// and lets it go; the window then steps through what was recorded like
// through a trace. (It does not follow the guest while the window is
// open: `explorer attach` and opening the trace do the same, longer.)
func attachSource(addr string, allowRemote bool, stops int, period time.Duration) (app.Source, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute+time.Duration(stops)*(period+5*time.Second))
	defer cancel()
	c, err := gdb.Dial(ctx, addr, allowRemote)
	if err != nil {
		return app.Source{}, err
	}
	defer func() {
		if _, err := c.Interrupt(5 * time.Second); err == nil {
			c.Detach()
		} else {
			c.Close()
		}
	}()
	f, err := qemu.Follow(c.Target(), qemu.FollowOptions{Period: period, Options: qemu.Options{Source: "gdbstub " + addr}})
	if err != nil {
		return app.Source{}, err
	}
	for f.Stops < stops && ctx.Err() == nil {
		if _, err := f.Step(); err != nil {
			return app.Source{}, fmt.Errorf("%w (after %d stops)", err, f.Stops)
		}
	}
	h, events := f.Trace()
	return app.Source{Events: &app.EventList{
		Name:   "attach",
		Title:  fmt.Sprintf("%s: a QEMU guest through its gdbstub, %d stops, %d CR3 switches", addr, f.Stops, f.Switches),
		Header: h,
		Events: events,
	}}, nil
}
