package viz

import (
	"strconv"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
	"github.com/pgm-explorer/pgm-explorer/internal/testkit"
)

// scenario is a sample trace replayed to a moment.
type scenario struct {
	name   string
	sample string
	at     string // event index, or label text (stop just after it); "" for the end
	paging engine.Paging
	host   engine.HostMode
	// hostMode is a host mode by its trace name, overriding host.
	hostMode string
	view     View
	va       uint64
	hasVA    bool
	w, h     int
	counter  string // the statistic picked for the timeline
}

// replay builds the model of a scenario.
func replay(t testing.TB, sc scenario) *Model {
	t.Helper()
	hdr, evs := testkit.Sample(t, sc.sample)
	cfg := hdr.Config
	cfg.Paging = sc.paging
	if sc.host != engine.HostInvalid {
		cfg.Host = sc.host
	}
	if sc.hostMode != "" {
		h, err := engine.ParseHostMode(sc.hostMode)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Host = h
	}
	eng := testkit.Shadow(t, cfg)
	stop, isIndex := uint64(0), false
	if n, err := strconv.ParseUint(sc.at, 0, 64); err == nil {
		stop, isIndex = n, true
	}
	m := &Model{Engine: eng, Recent: NewRecent(64), Timeline: NewTimeline(256), View: sc.view,
		History: NewStatsHistory(1024), Counter: sc.counter,
		VA: x86.GVA(sc.va), HasVA: sc.hasVA, Width: sc.w, Height: sc.h, Title: sc.sample}
	for n, ev := range evs {
		if isIndex && uint64(n) == stop {
			break
		}
		o := testkit.Replay(t, eng, evs[n:n+1])[0]
		m.Recent.Add(o)
		m.Timeline.Add(&o)
		m.Timeline.SampleStats(eng)
		m.History.Observe(eng)
		// At a label, stop just after it, as explorer render does: the
		// picture names the moment.
		if !isIndex && sc.at != "" && ev.Kind == engine.EvLabel && ev.Text == sc.at {
			break
		}
	}
	return m
}
