package app

import (
	"time"

	"github.com/pgm-explorer/pgm-explorer/viz"
)

// Going back to an earlier fault or mode change. The engine cannot run
// backwards, so the timeline says where to look: mode changes are marks
// with their exact event, and faults are counted per bucket, so only the
// latest bucket with a fault before the current position is replayed to
// find the fault itself (a bucket is at most 1/512 of the trace).

// PrevFault goes back to just after the latest fault before the
// current event; with none, it stays and says so.
func (a *App) PrevFault() {
	a.p.playing = false
	if n, ok := a.p.faultBefore(a.p.pos()); ok {
		a.seek(n + 1)
		return
	}
	a.notify("no earlier fault in this trace")
}

// PrevMode goes back to just after the latest mode change before the
// current event.
func (a *App) PrevMode() {
	a.p.playing = false
	now := a.p.pos()
	ms := a.p.timeline.Marks
	for i := len(ms) - 1; i >= 0; i-- {
		// A change applied just now is the one shown: go before it.
		if ms[i].Kind == viz.MarkModeChange && ms[i].Event+1 < now {
			a.seek(ms[i].Event + 1)
			return
		}
	}
	a.notify("no earlier mode change in this trace")
}

// faultBefore finds the index of the latest fault among the first now-1
// events (the fault applied just now is the one shown). It replays
// timeline buckets synchronously and leaves the player at a position the
// caller then seeks from.
func (p *player) faultBefore(now uint64) (uint64, bool) {
	tl := p.timeline
	if now < 2 || tl.Events == 0 {
		return 0, false
	}
	limit := now - 1 // faults at indices < limit count
	for i := int(min(limit-1, tl.Events-1) / tl.Per); i >= 0; i-- {
		if tl.Buckets[i].Faults == 0 {
			continue
		}
		from := uint64(i) * tl.Per
		to := min(from+tl.Per, limit)
		if n, ok := p.scanFaults(from, to); ok {
			return n, true
		}
	}
	p.seekTo(now)
	return 0, false
}

// scanFaults replays events [from, to) and returns the index of the
// last fault among them.
func (p *player) scanFaults(from, to uint64) (uint64, bool) {
	p.seekTo(from)
	for p.seeking {
		if _, err := p.advance(time.Now().Add(time.Hour)); err != nil {
			return 0, false
		}
	}
	var last uint64
	found := false
	for p.pos() < to {
		n := p.pos()
		if !p.step() {
			break
		}
		if UntilFault.matches(&p.last) {
			last, found = n, true
		}
	}
	return last, found
}
