package gdb

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/phys"
	"github.com/pgm-explorer/pgm-explorer/traces"
	"github.com/pgm-explorer/pgm-explorer/traces/qemu"
	"github.com/pgm-explorer/pgm-explorer/traces/session"
)

// Live follows a guest while a viewer watches (explorer gui --attach):
// the first snapshot when it starts, then a stop every period, each
// stop's events handed to a growing session source as they are
// recorded, and the trace so far saved after each. Stop lets the guest
// run on. The client is Live's own from Attach to Stop.
type Live struct {
	c    *Client
	f    *qemu.Follower
	o    LiveOptions
	src  *session.Growing
	sent int // events handed to src

	quit chan struct{}
	done chan struct{}
	once sync.Once

	mu   sync.Mutex
	err  error // why following ended before Stop, nil if it did not
	info LiveInfo
}

// LiveOptions say how a guest is followed live.
type LiveOptions struct {
	qemu.FollowOptions
	// Stops ends the following after this many stops (0: until Stop).
	Stops int
	// Save, when set, keeps the trace so far: after the first snapshot
	// and after every stop. It gets the follower's whole trace (the
	// header with RAM up to the highest table page, unless Ranges says).
	Save func(h traces.Header, events []engine.Event) error
	// OnStop, when set, is called after each stop is recorded and saved,
	// with how the guest stopped ("interrupted", "breakpoint") and how
	// far the following has got. It runs on Live's goroutine.
	OnStop func(why string, in LiveInfo)
	// MinRAM is the least RAM the viewer's machine has when
	// FollowOptions.Ranges is nil (0: 4 GiB). The viewer's header cannot
	// grow while an engine runs it, so it is taken with room for the
	// tables a guest allocates later.
	MinRAM uint64
}

// LiveInfo is how far the following got.
type LiveInfo struct {
	Stops, Switches, Changed, Events int
}

// ErrBeyondRAM is a stop whose table writes fall outside the RAM the
// viewer's machine was given.
var ErrBeyondRAM = errors.New("the guest's page tables reach beyond the RAM the window was opened with")

// Attach takes the first snapshot of the stopped guest c and starts
// following it.
func Attach(c *Client, o LiveOptions) (*Live, error) {
	f, err := qemu.Follow(c.Target(), o.FollowOptions)
	if err != nil {
		return nil, err
	}
	h, evs := f.Trace()
	if o.Ranges == nil {
		ram := o.MinRAM
		if ram == 0 {
			ram = 4 << 30
		}
		ram = max(ram, h.Config.Ranges[0].Size)
		h.Config.Ranges = []phys.RangeSpec{{Type: phys.TypeRAM, Size: ram, Name: "ram"}}
	}
	l := &Live{c: c, f: f, o: o, src: session.NewGrowing("gdbstub", h), quit: make(chan struct{}), done: make(chan struct{})}
	l.src.Append(evs...)
	l.sent = len(evs)
	l.info.Events = len(evs)
	if err := l.save(); err != nil {
		return nil, err
	}
	go l.run()
	return l, nil
}

// Source is the list the viewer reads (through its Reader): the events
// so far, more as the guest runs, and the end once following has ended
// (with its error, if any).
func (l *Live) Source() *session.Growing { return l.src }

// Done is closed when the following ends by itself: the stops are done,
// or it failed (Stop says why).
func (l *Live) Done() <-chan struct{} { return l.done }

// Info is how far the following got.
func (l *Live) Info() LiveInfo {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.info
}

func (l *Live) save() error {
	if l.o.Save == nil {
		return nil
	}
	h, evs := l.f.Trace()
	return l.o.Save(h, evs)
}

// run stops the guest every period until quit, the stops are done, or
// an error.
func (l *Live) run() {
	defer close(l.done)
	ram := l.src.Header().Config.Ranges
	for l.o.Stops == 0 || l.f.Stops < l.o.Stops {
		select {
		case <-l.quit:
			return
		default:
		}
		why, err := l.f.Step()
		if err == nil {
			err = l.save()
		}
		_, evs := l.f.Trace()
		if err == nil {
			err = inRAM(evs[l.sent:], ram)
		}
		if err != nil {
			l.fail(fmt.Errorf("stop %d: %w", l.f.Stops+1, err))
			return
		}
		l.src.Append(evs[l.sent:]...)
		l.sent = len(evs)
		l.mu.Lock()
		in := LiveInfo{Stops: l.f.Stops, Switches: l.f.Switches, Changed: l.f.Changed, Events: len(evs)}
		l.info = in
		l.mu.Unlock()
		if l.o.OnStop != nil {
			l.o.OnStop(why, in)
		}
	}
	l.src.End(nil)
}

func (l *Live) fail(err error) {
	l.mu.Lock()
	l.err = err
	l.mu.Unlock()
	l.src.End(err)
}

// inRAM checks that the physical writes of evs fall inside ranges.
func inRAM(evs []engine.Event, ranges []phys.RangeSpec) error {
	for _, e := range evs {
		if e.Kind != engine.EvPhysWrite {
			continue
		}
		in := false
		for _, r := range ranges {
			in = in || e.Addr >= uint64(r.Start) && e.Addr+uint64(e.Size) <= uint64(r.Start)+r.Size
		}
		if !in {
			return fmt.Errorf("%w (a write at %#x; give the guest's RAM size)", ErrBeyondRAM, e.Addr)
		}
	}
	return nil
}

// Stop ends the following (waiting for a stop under way), lets the
// guest run on and closes the connection. It returns why following ended
// early, if it did (what was recorded up to then is saved). Letting go
// is done as well as it can be: a guest that has gone away, or that does
// not stop to have its breakpoints removed, is simply left.
func (l *Live) Stop() error {
	l.once.Do(func() {
		close(l.quit)
		<-l.done
		l.src.End(nil)
		d := l.o.StopTimeout
		if d == 0 {
			d = 5 * time.Second
		}
		// QEMU's detach removes the breakpoints and resumes; a guest
		// that is running already only needs stopping first so that
		// the breakpoints come out.
		if _, err := l.c.Interrupt(d); err == nil {
			l.c.Detach()
		} else {
			l.c.Close()
		}
	})
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}
