package app

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/pgm-explorer/pgm-explorer/engine/x86"
	"github.com/pgm-explorer/pgm-explorer/viz"
)

// Actions, shared by keys, buttons and tests.

// TogglePlay starts or stops the replay.
func (a *App) TogglePlay() {
	p := a.p
	if p.playing {
		p.playing = false
	} else {
		if p.ended || p.err != nil {
			a.seek(0)
		}
		p.startRun()
		a.ran = true
		p.playing, p.acc = true, 0
	}
	p.until = UntilNone
	a.dirty = true
}

// Step moves one event forward (n > 0) or back (n < 0).
func (a *App) Step(n int) {
	a.p.playing = false
	now := a.p.pos()
	if a.p.seeking {
		// Steps pressed faster than the replay seeks add up.
		now = a.p.target
	}
	if n < 0 {
		a.seek(now - min(now, uint64(-n)))
		return
	}
	a.seek(now + uint64(n))
}

// StepUntil replays until the next event matching u. With the tour on,
// the next label is the next step: the label and the events it explains.
// When nothing matches ahead, the replay stays where it was and says so.
func (a *App) StepUntil(u Until) {
	a.p.playing = false
	if u == UntilLabel && a.tour {
		u = UntilStep
	}
	if a.p.ended {
		a.notify(noFurther(u))
		return
	}
	a.p.until = u
	a.p.startRun()
	a.ran = u == UntilStep // f and m stop where they stop
	a.dirty = true
}

func noFurther(u Until) string {
	if u == UntilStep {
		return "no further step: this is the end of the tour"
	}
	return "no further " + u.String() + " in this trace"
}

// PrevLabel goes back to the label before the current one (with the
// tour on, to the previous step).
func (a *App) PrevLabel() {
	a.p.playing = false
	if a.tour {
		// The step shown is the latest label applied; the one before
		// it ends where that label starts.
		if l, ok := a.p.currentLabel(); ok {
			a.seek(l.Event)
		} else {
			a.seek(0)
		}
		return
	}
	if l, ok := a.p.labelNear(-1); ok {
		a.seek(l.Event + 1)
	} else {
		a.seek(0)
	}
}

// labelStop is where going to label i stops: just after it, or with
// the tour on at the end of its step (just before the next label).
func (a *App) labelStop(i int) uint64 {
	ls := a.p.labels
	if !a.tour {
		return ls[i].Event + 1
	}
	if i+1 < len(ls) {
		return ls[i+1].Event
	}
	if a.p.totalKnown {
		return a.p.total
	}
	return ls[i].Event + 1
}

func (a *App) seek(n uint64) {
	a.p.seekTo(n)
	a.ran = false
	a.dirty = true
}

// Seek goes to the moment after n events.
func (a *App) Seek(n uint64) { a.p.playing = false; a.seek(n) }

// Faster and Slower change the replay speed by a step.
func (a *App) Faster() { a.setSpeed(a.p.speed + 1) }
func (a *App) Slower() { a.setSpeed(a.p.speed - 1) }

func (a *App) setSpeed(i int) {
	a.p.speed = min(max(i, 0), len(Speeds)-1)
	a.notify("speed: " + speedName(Speeds[a.p.speed]))
}

func speedName(s float64) string {
	switch {
	case math.IsInf(s, 1):
		return "flat out"
	case s >= 1e6:
		return strconv.FormatFloat(s/1e6, 'g', -1, 64) + "M events/s"
	case s >= 1e3:
		return strconv.FormatFloat(s/1e3, 'g', -1, 64) + "k events/s"
	case s == 1:
		return "1 event/s"
	}
	return strconv.FormatFloat(s, 'g', -1, 64) + " events/s"
}

// SetView shows view v.
func (a *App) SetView(v viz.View) {
	a.view = v
	a.dirty = true
}

// Select makes va the address the walk inspector and the panels follow.
func (a *App) Select(va x86.GVA) {
	a.va, a.hasVA, a.tourVA = va, true, false
	a.dirty = true
}

// Unselect lets the walk follow the last access again.
func (a *App) Unselect() {
	a.hasVA = false
	a.dirty = true
}

// GoTo goes to an event index, or to the first label containing the
// text (case-insensitive), searching after the current position first.
func (a *App) GoTo(s string) error {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	if n, err := strconv.ParseUint(strings.ReplaceAll(s, ",", ""), 0, 64); err == nil {
		if a.p.totalKnown && n > a.p.total {
			return fmt.Errorf("event %d is past the end (%d events)", n, a.p.total)
		}
		a.Seek(n)
		return nil
	}
	t := strings.ToLower(s)
	now := a.p.pos()
	first := -1
	for i := range a.p.labels {
		l := &a.p.labels[i]
		if !strings.Contains(strings.ToLower(l.Text), t) {
			continue
		}
		if l.Event >= now {
			a.Seek(a.labelStop(i))
			return nil
		}
		if first < 0 {
			first = i
		}
	}
	if first >= 0 {
		a.Seek(a.labelStop(first))
		return nil
	}
	return fmt.Errorf("no event number or label matches %q", s)
}

// Reconfigure replays the same source with other overrides, at the
// same event.
func (a *App) Reconfigure(o Overrides) error {
	st := a.State()
	st.Source = a.p.src
	st.Overrides = o
	playing, from := a.p.playing, a.whatFrom
	if err := a.open(st); err != nil {
		a.setErr(err)
		return err
	}
	a.p.playing, a.whatFrom = playing, from
	return nil
}
