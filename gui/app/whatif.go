package app

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
	"github.com/pgm-explorer/pgm-explorer/traces"
)

// What if: change an entry of the guest's tables at this moment and see
// the walk and the next accesses again. The change is a physical write
// event inserted here into a copy of the trace (a branch of the replay):
// the original source is only read, and stays as it was; the branch can
// be saved as a trace of its own.

// maxBranchEvents bounds the events a branch copies into memory.
const maxBranchEvents = 4 << 20

// whatIfFlags are the bits an edit may flip, by the letters the walk
// inspector shows.
var whatIfFlags = map[string]x86.Entry{"P": x86.Entry(x86.P), "W": x86.Entry(x86.RW), "RW": x86.Entry(x86.RW),
	"U": x86.Entry(x86.US), "US": x86.Entry(x86.US), "X": x86.Entry(x86.NX), "NX": x86.Entry(x86.NX), "S": x86.Entry(x86.PS), "PS": x86.Entry(x86.PS)}

// whatIfTarget is the guest entry an edit changes: level whatLevel of
// the walk of the selected address (the last level reached by default).
func (a *App) whatIfTarget() (x86.Step, *x86.Level, error) {
	m := a.model
	m.Recent, m.VA, m.HasVA = a.p.recent, a.va, a.hasVA
	va, ok := m.SelectedVA()
	if !ok {
		return x86.Step{}, nil, errors.New("no address: select one (click an entry or an event, or /)")
	}
	e := a.p.eng
	f := e.Format()
	if f.N == 0 {
		return x86.Step{}, nil, errors.New("paging is off: there are no entries to change")
	}
	w := e.GuestWalk(va, x86.Access{Kind: x86.Read})
	if w.N == 0 {
		return x86.Step{}, nil, fmt.Errorf("the walk of %#x reads no entry", uint64(va))
	}
	i := w.N - 1
	for j := 0; j < w.N; j++ {
		if a.whatLevel != 0 && w.Steps[j].Level == a.whatLevel {
			i = j
		}
	}
	return w.Steps[i], &f.Levels[i], nil
}

// whatIfEntry applies an edit ("flip W", "flip P U", "frame 0x203000")
// to entry e.
func whatIfEntry(e x86.Entry, lv *x86.Level, edit string) (x86.Entry, error) {
	f := strings.Fields(edit)
	if len(f) < 2 {
		return e, errors.New(`want "flip P|W|U|X|S …" or "frame ADDRESS"`)
	}
	switch strings.ToLower(f[0]) {
	case "flip":
		for _, b := range f[1:] {
			bit, ok := whatIfFlags[strings.ToUpper(b)]
			if !ok {
				return e, fmt.Errorf("%q is not a flag to flip (P W U X S)", b)
			}
			e ^= bit
		}
	case "frame":
		v, err := ParseVA(f[1])
		if err != nil {
			return e, err
		}
		if uint64(v)&^lv.FrameMask != 0 {
			return e, fmt.Errorf("frame %#x is not a page-aligned address this entry can hold", uint64(v))
		}
		e = e&^x86.Entry(lv.FrameMask) | x86.Entry(uint64(v))
	default:
		return e, fmt.Errorf("%q: want flip or frame", f[0])
	}
	return e, nil
}

// WhatIf branches the replay here with the selected entry edited.
func (a *App) WhatIf(edit string) error {
	st, lv, err := a.whatIfTarget()
	if err != nil {
		return err
	}
	if st.Register {
		return errors.New("that PDPT entry is a PDPTE register, loaded from memory only when CR3 is written: choose another level")
	}
	ne, err := whatIfEntry(st.Entry, lv, edit)
	if err != nil {
		return err
	}
	evs, err := a.sourceEvents()
	if err != nil {
		return err
	}
	n := a.p.pos()
	ev := engine.Event{Kind: engine.EvPhysWrite, Addr: uint64(st.EntryAddr), Size: lv.EntrySize, Value: uint64(ne)}
	branch := slices.Concat(evs[:n:n], []engine.Event{ev}, evs[n:])
	from := a.State()
	from.Source = a.p.src
	if a.whatFrom != nil {
		from = *a.whatFrom // a branch of a branch goes back to the original
	}
	name := strings.TrimSuffix(strings.TrimSuffix(from.Source.Name(), ".txt"), ".pgmt")
	list := &EventList{
		Name:   name + "-whatif",
		Title:  fmt.Sprintf("%s · what if: %v entry at %#x = %#x from event %d", from.Source.Name(), st.Level, uint64(st.EntryAddr), uint64(ne), n),
		Header: a.p.hdr,
		Events: branch,
	}
	next := a.State()
	next.Source = Source{Events: list}
	next.Event = n + 1
	if err := a.Open(next); err != nil {
		return err
	}
	a.whatFrom = &from
	a.notify(fmt.Sprintf("what if: %v entry %#x → %#x (w: another change · W: back to the original · k: save the branch)", st.Level, uint64(st.Entry), uint64(ne)))
	return nil
}

// WhatIfBack leaves a branch for the original, at the same event.
func (a *App) WhatIfBack() {
	if a.whatFrom == nil {
		a.notify("not in a what-if branch (w makes one)")
		return
	}
	st := *a.whatFrom
	n := a.p.pos()
	if n > 0 && n > st.Event {
		n-- // the branch has one event more
	}
	st.Event, st.VA, st.HasVA, st.View = n, a.va, a.hasVA, a.view
	if a.Open(st) == nil {
		a.whatFrom = nil
	}
}

// SaveBranch saves the what-if branch as a text trace.
func (a *App) SaveBranch() {
	if a.p.src.Events == nil || a.whatFrom == nil {
		a.notify("not in a what-if branch (w makes one)")
		return
	}
	var b bytes.Buffer
	tw := traces.NewTextWriter(&b)
	err := tw.WriteHeader(a.p.src.Events.Header)
	for _, ev := range a.p.src.Events.Events {
		if err != nil {
			break
		}
		err = tw.WriteEvent(ev)
	}
	if err == nil {
		err = tw.Flush()
	}
	a.save(a.p.src.Events.Name+".txt", b.Bytes(), err)
}

// sourceEvents reads every event of the current source (not the
// player's stream, which stays where it is).
func (a *App) sourceEvents() ([]engine.Event, error) {
	src := a.p.src
	if src.Events != nil && src.Events.Live != nil {
		return src.Events.Live.Arrived(), nil
	}
	if src.Events != nil {
		return src.Events.Events, nil
	}
	if src.Workload != "" {
		return nil, errors.New("a live workload reacts to each outcome, so it cannot be branched: record it as a trace first (explorer record), then open that")
	}
	var rd interface {
		Next() (engine.Event, error)
	}
	switch {
	case src.File != "" && src.Data == nil:
		f, err := traces.Open(src.File)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		rd = f
	default:
		st, err := openSource(src)
		if err != nil {
			return nil, err
		}
		defer st.Close()
		rd = nextFunc(func() (engine.Event, error) { return st.Next(nil) })
	}
	var evs []engine.Event
	for {
		ev, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return evs, nil
		}
		if err != nil {
			return nil, err
		}
		if len(evs) >= maxBranchEvents {
			return nil, errors.New("the trace has over " + strconv.Itoa(maxBranchEvents) + " events: too long to branch in memory")
		}
		evs = append(evs, ev)
	}
}

type nextFunc func() (engine.Event, error)

func (f nextFunc) Next() (engine.Event, error) { return f() }
