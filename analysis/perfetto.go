//go:build !js

// The report writers (JSON, CSV, tables, Perfetto) are for the CLI:
// left out of the browser build, whose download they would grow by a
// megabyte (encoding/json and its reflection).

package analysis

import (
	"bufio"
	"encoding/json"
	"io"

	"github.com/pgm-explorer/pgm-explorer/engine"
)

// Perfetto writes a replay as a Chrome trace-event JSON file, the form
// Perfetto's UI (ui.perfetto.dev) and chrome://tracing open: one
// process, "PGM Explorer", with these tracks (threads):
//
//   - tid 1 "guest faults": an instant event per access that faulted,
//     named "#PF 0x<code>" or "#GP", with the event's fields in args;
//   - tid 2 "engine work": an instant per outcome the hypervisor
//     resolved with work (sync-page, sync-pt, dirty-trap, accessed-trap,
//     pt-write, wp-emulation, handler, pool-evict, nested-fault), named by
//     its path;
//   - tid 3 "control registers": an instant per cr0/cr3/cr4/efer write;
//   - tid 4 "labels": a complete slice ("X") per label, from the label to
//     the next one (or the end);
//   - counter tracks ("C"), sampled every Every events: accesses,
//     faults, engine work and TLB hits/misses in the window, and pool
//     pages in use.
//
// Time: the trace has no clock, only an order, so ts is the event index
// in microseconds (event 1000 is at 1 ms). Filter (when set) selects the
// outcomes that become instants; labels and counters are kept whole.
// At most MaxInstants instants are written (Dropped counts the rest).
type Perfetto struct {
	Filter      *Filter
	Every       uint64
	MaxInstants uint64
	Instants    uint64
	Dropped     uint64

	w     *bufio.Writer
	first bool
	err   error
	sh    *engine.Shadow
	tr    Tracker
	label string
	at    uint64 // where the current label started
	inLbl bool
	win   struct{ accesses, faults, work, hits, misses uint64 }
	next  uint64 // index of the next event
}

const perfettoPID = 1

// traceEvent is one record of the format; fields in its spelling.
type traceEvent struct {
	Name string         `json:"name"`
	Cat  string         `json:"cat,omitempty"`
	Ph   string         `json:"ph"`
	TS   uint64         `json:"ts"`
	Dur  *uint64        `json:"dur,omitempty"`
	S    string         `json:"s,omitempty"`
	PID  int            `json:"pid"`
	TID  int            `json:"tid"`
	Args map[string]any `json:"args"`
}

// NewPerfetto starts the file on w: the opening of the JSON object and
// the names of the process and tracks. eng is the engine the outcomes
// come from (the pool counter reads it; nil leaves it out).
func NewPerfetto(w io.Writer, title string, eng engine.Engine, every, maxInstants uint64) *Perfetto {
	p := &Perfetto{Every: max(every, 1), MaxInstants: maxInstants, w: bufio.NewWriterSize(w, 1<<16), first: true}
	p.sh, _ = eng.(*engine.Shadow)
	p.tr.Eng = eng
	p.w.WriteString(`{"displayTimeUnit":"ms","traceEvents":[` + "\n")
	p.emit(traceEvent{Name: "process_name", Ph: "M", PID: perfettoPID, Args: map[string]any{"name": "PGM Explorer: " + title}})
	for tid, name := range []string{"", "guest faults", "engine work", "control registers", "labels"} {
		if tid > 0 {
			p.emit(traceEvent{Name: "thread_name", Ph: "M", PID: perfettoPID, TID: tid, Args: map[string]any{"name": name}})
		}
	}
	return p
}

func (p *Perfetto) emit(e traceEvent) {
	if p.err != nil {
		return
	}
	b, err := json.Marshal(e)
	if err != nil {
		p.err = err
		return
	}
	if !p.first {
		p.w.WriteString(",\n")
	}
	p.first = false
	_, p.err = p.w.Write(b)
}

func (p *Perfetto) instant(tid int, cat, name string, o *engine.Outcome, args map[string]any) {
	if p.Instants >= p.MaxInstants {
		p.Dropped++
		return
	}
	p.Instants++
	args["i"] = o.Index
	p.emit(traceEvent{Name: name, Cat: cat, Ph: "i", S: "t", TS: o.Index, PID: perfettoPID, TID: tid, Args: args})
}

// Add writes what the outcome of the next event shows.
func (p *Perfetto) Add(o *engine.Outcome) {
	r := p.tr.Next(o)
	p.next = o.Index + 1
	k := o.Event.Kind
	if k == engine.EvLabel {
		p.endLabel(o.Index)
		p.label, p.at, p.inLbl = o.Event.Text, o.Index, true
	}
	access := k.Access() || k == engine.EvPhysRead || k == engine.EvPhysWrite
	if access {
		p.win.accesses++
		if !o.OK {
			p.win.faults++
		}
	}
	switch o.Path {
	case engine.PathTLBHit:
		p.win.hits++
	case engine.PathShadowHit, engine.PathNestedWalk:
		p.win.misses++
	}
	work := isWork(o.Path)
	if work {
		p.win.work++
	}
	if p.Filter == nil || p.Filter.Match(&r) {
		switch {
		case access && !o.OK:
			name := "#PF " + ErrName(uint16(o.Fault.Code))
			if o.Path == engine.PathGP {
				name = "#GP"
			}
			p.instant(1, "fault", name, o, outcomeArgs(o))
		case work:
			p.instant(2, "work", o.Path.String(), o, outcomeArgs(o))
		}
		if _, ok := k.Reg(); ok {
			args := map[string]any{"value": hex(o.Event.Value)}
			if o.Notes&engine.NoteModeChange != 0 {
				args["mode_change"] = true
			}
			p.instant(3, "cpu", o.Event.Op()+" "+hex(o.Event.Value), o, args)
		}
	}
	if p.next%p.Every == 0 {
		p.counters(p.next)
	}
}

func isWork(path engine.Path) bool {
	for _, w := range workPaths {
		if w == path {
			return true
		}
	}
	return false
}

func outcomeArgs(o *engine.Outcome) map[string]any {
	a := map[string]any{"op": o.Event.Op(), "addr": hex(o.Event.Addr), "path": o.Path.String()}
	if o.AS != 0 {
		a["as"] = hex(o.AS)
	}
	if o.OK && o.Event.Kind.Access() {
		a["gpa"] = hex(uint64(o.GPA))
	}
	if o.Handler != "" {
		a["handler"] = o.Handler
	}
	return a
}

// counters writes the counter samples of the window ending at ts.
func (p *Perfetto) counters(ts uint64) {
	c := func(name string, args map[string]any) {
		p.emit(traceEvent{Name: name, Ph: "C", TS: ts, PID: perfettoPID, Args: args})
	}
	c("accesses", map[string]any{"accesses": p.win.accesses})
	c("faults", map[string]any{"faults": p.win.faults})
	c("engine work", map[string]any{"work": p.win.work})
	c("tlb", map[string]any{"hits": p.win.hits, "misses": p.win.misses})
	if p.sh != nil {
		_, used := p.sh.PoolTurnover()
		c("pool pages in use", map[string]any{"used": used})
	}
	p.win = struct{ accesses, faults, work, hits, misses uint64 }{}
}

func (p *Perfetto) endLabel(end uint64) {
	if !p.inLbl {
		return
	}
	dur := end - p.at
	p.emit(traceEvent{Name: p.label, Cat: "label", Ph: "X", TS: p.at, Dur: &dur, PID: perfettoPID, TID: 4,
		Args: map[string]any{"i": p.at}})
	p.inLbl = false
}

// Close ends the file: the last label's slice, the last partial window's
// counters and the closing brackets. It returns the first write error.
func (p *Perfetto) Close() error {
	p.endLabel(p.next)
	if p.next%p.Every != 0 {
		p.counters(p.next)
	}
	if p.err == nil {
		p.w.WriteString("\n]}\n")
		p.err = p.w.Flush()
	}
	return p.err
}
