package app

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
	"github.com/pgm-explorer/pgm-explorer/viz"
)

// exportBase names exported files after the source and the moment.
func (a *App) exportBase() string {
	name := a.p.src.Sample
	switch {
	case a.p.src.Workload != "":
		name = fmt.Sprintf("%s-seed%d", a.p.src.Workload, a.p.src.Seed)
	case a.p.src.File != "":
		name = a.p.src.File
		if i := strings.LastIndexAny(name, `/\`); i >= 0 {
			name = name[i+1:]
		}
	case a.p.src.Events != nil:
		name = a.p.src.Events.Name
	}
	name = strings.TrimSuffix(strings.TrimSuffix(name, ".txt"), ".pgmt")
	return fmt.Sprintf("%s-%d-%s", name, a.p.pos(), a.view)
}

// PNG is the current view as `explorer render` draws it: the panels
// only, without the control bar and the overlays.
func (a *App) PNG() ([]byte, error) {
	var l viz.List
	w, _ := a.FrameSize()
	m := a.model
	m.Engine, m.Recent, m.Timeline = a.p.eng, a.p.recent, a.p.timeline
	m.History, m.Counter = a.p.history, a.counter
	m.View, m.VA, m.HasVA, m.Title = a.view, a.va, a.hasVA, a.p.src.Name()
	m.Width, m.Height = w, a.vizHeightFor()
	viz.Layout(&m, &l)
	var b bytes.Buffer
	if err := viz.RenderPNG(&b, &l, l.Width, l.Height); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func (a *App) vizHeightFor() int {
	_, h := a.FrameSize()
	return h - a.barHeight() - a.tourHeight()
}

// Stats writes the engine's statistics as "csv" or "json".
func (a *App) Stats(format string) ([]byte, error) {
	var b bytes.Buffer
	var err error
	switch format {
	case "csv":
		err = a.p.eng.Stats().WriteCSV(&b)
	case "json":
		err = a.p.eng.Stats().WriteJSON(&b)
	default:
		err = fmt.Errorf("unknown statistics format %q (want csv or json)", format)
	}
	return b.Bytes(), err
}

// ExportPNG saves the current view through the host.
func (a *App) ExportPNG() {
	data, err := a.PNG()
	a.save(a.exportBase()+".png", data, err)
}

// ExportStats saves the statistics through the host.
func (a *App) ExportStats(format string) {
	data, err := a.Stats(format)
	a.save(a.exportBase()+"-stats."+format, data, err)
}

func (a *App) save(name string, data []byte, err error) {
	if err == nil {
		var where string
		if where, err = a.host.Save(name, data); err == nil {
			a.notify("saved " + where)
			return
		}
	}
	a.setErr(fmt.Errorf("export %s: %v", name, err))
}

// Status is the app's state for scripts and tests (the browser's JS hook
// returns it as JSON).
type Status struct {
	Source   string  `json:"source"`
	Event    uint64  `json:"event"`
	Total    uint64  `json:"total"` // 0 until known
	Playing  bool    `json:"playing"`
	Busy     bool    `json:"busy"` // seeking, loading or running to a condition
	Ended    bool    `json:"ended"`
	Speed    string  `json:"speed"`
	View     string  `json:"view"`
	VA       string  `json:"va"`       // the address the walk follows ("" for none)
	Selected bool    `json:"selected"` // chosen by the user rather than the last access
	Walk     string  `json:"walk"`     // the guest walk of VA: "0x… -> 0x…" or the fault
	Mode     string  `json:"mode"`     // the guest paging mode
	Label    string  `json:"label"`    // the latest label
	Overlay  string  `json:"overlay"`  // "quiz", "help", "prompt", "scenarios" or ""
	Error    string  `json:"error"`
	Frames   uint64  `json:"frames"`   // frames built so far
	Location string  `json:"location"` // the URL fragment of this state
	Host     string  `json:"host"`
	Paging   string  `json:"paging"`
	Pool     int     `json:"pool"`
	Matches  uint64  `json:"matches"`  // the search's matches found so far (0: none or no search)
	Searched uint64  `json:"searched"` // the events the search has looked at
	FPS      float64 `json:"fps"`      // as the platform measures it
	Costs    Costs   `json:"costs"`
}

// Status reports the state.
func (a *App) Status() Status {
	p := a.p
	s := Status{Source: p.src.Name(), Event: p.pos(), Playing: p.playing, Busy: p.busy() && !p.playing, Ended: p.ended,
		Speed: speedName(Speeds[p.speed]), View: a.view.String(), Selected: a.hasVA, Frames: a.frame,
		Location: a.State().Encode(), Host: p.cfg.Host.TraceName(), Paging: p.cfg.Paging.String(), Pool: p.cfg.PoolPages, FPS: a.fps, Costs: a.costs}
	if p.totalKnown {
		s.Total = p.total
	}
	m := a.model
	m.Recent, m.VA, m.HasVA = p.recent, a.va, a.hasVA
	if va, ok := m.SelectedVA(); ok {
		s.VA = fmt.Sprintf("%#x", uint64(va))
		w := p.eng.GuestWalk(va, accessRead)
		if w.OK() {
			s.Walk = fmt.Sprintf("%#x -> %#x", uint64(va), uint64(w.GPA))
		} else {
			s.Walk = fmt.Sprintf("%#x: %v", uint64(va), w.Fault)
			if w.Fault.Kind == x86.Protection {
				s.Walk += ", " + w.Fault.Reason() // which rule, in words
			}
		}
	}
	if _, n := a.SearchMatches(); a.ins.search != nil {
		s.Matches = n
		s.Searched, _ = a.ins.scanned(scanSearch)
	}
	s.Mode = p.eng.Format().Mode.String()
	if l, ok := p.currentLabel(); ok {
		s.Label = l.Text
	}
	switch {
	case a.quiz != nil:
		s.Overlay = "quiz"
	case a.help:
		s.Overlay = "help"
	case a.prompt != nil:
		s.Overlay = "prompt"
	case a.picker != nil:
		s.Overlay = "scenarios"
	}
	switch {
	case a.err != "":
		s.Error = a.err
	case p.err != nil:
		s.Error = p.err.Error()
	}
	return s
}

// StatusJSON is Status as JSON.
func (a *App) StatusJSON() string { return string(a.Status().appendJSON(nil)) }

// TextBox is a text of the last frame: where it is in frame pixels, its
// size (the em square, in frame pixels), the panel that drew it and
// what it says. Tests measure them against screenshots.
type TextBox struct {
	X, Y, W, H int
	Size       int      `json:"size"`
	Face       int      `json:"face"`  // a viz.Face
	Color      [4]uint8 `json:"color"` // premultiplied RGBA
	Panel      string   `json:"panel"`
	Text       string   `json:"text"`
}

// TextsJSON lists the texts of the last frame, with the frame's size
// and device scale, as JSON: {"Width","Height","Scale","Texts":[TextBox…]}
// with TextBox's keys (written by hand, as Status is).
func (a *App) TextsJSON() string {
	l := &a.list
	j := jsonObject{b: []byte{'{'}}
	j.int("Width", l.Width)
	j.int("Height", l.Height)
	j.float("Scale", a.ui.scale)
	j.key("Texts")
	j.b = append(j.b, '[')
	n := 0
	for i := range l.Prims {
		p := &l.Prims[i]
		if p.Op != viz.OpText {
			continue
		}
		if n > 0 {
			j.b = append(j.b, ',')
		}
		n++
		k := jsonObject{b: append(j.b, '{')}
		k.int("X", int(p.X))
		k.int("Y", int(p.Y))
		k.int("W", int(p.W))
		k.int("H", int(p.H))
		k.int("size", int(p.Size))
		k.int("face", int(p.Face))
		k.key("color")
		k.b = fmt.Appendf(k.b, "[%d,%d,%d,%d]", p.Color.R, p.Color.G, p.Color.B, p.Color.A)
		k.str("panel", l.Panels[p.Panel].Name)
		k.str("text", string(l.TextOf(p)))
		j.b = append(k.b, '}')
	}
	return string(append(j.b, ']', '}'))
}

// LiveText is what a screen reader is told: the step of the tour, the
// replay's position and state, the last event, the walk and the latest
// message. The browser keeps it in an ARIA live region.
func (a *App) LiveText() string {
	s := a.Status()
	var b []string
	if a.tour {
		head, look, text := a.tourText()
		b = append(b, head+": "+text)
		if look != "" {
			b = append(b, look+".")
		}
	}
	pos := "Event " + group(s.Event)
	if s.Total > 0 {
		pos += " of " + group(s.Total)
	}
	mode := pos + ", " + a.statusWord() + ". Mode: " + s.Mode + ", " + s.Paging + " paging"
	if regs := a.p.eng.Regs(); regs.Features() != "" {
		mode += "; " + regs.Features() // PCID, SMEP, SMAP with AC, PKE with PKRU
	}
	b = append(b, mode+".")
	if o := a.p.recent.Last(); o != nil {
		line := "Last event: " + o.Event.Op()
		if hasVA(o.Event.Kind) {
			line += fmt.Sprintf(" %#x", o.Event.Addr)
		}
		if o.Path != engine.PathNone {
			line += ", " + o.Path.String()
		}
		if !o.OK && o.Fault.Kind == x86.Protection {
			line += ": " + o.Fault.Reason()
		}
		b = append(b, line+".")
	}
	if s.Walk != "" {
		b = append(b, "Walk: "+s.Walk+".")
	}
	if a.quiz != nil {
		b = append(b, "Question: "+a.quiz.ask)
		for i, c := range a.quiz.choices {
			b = append(b, fmt.Sprintf("%d: %s.", i+1, c))
		}
	}
	switch {
	case s.Error != "":
		b = append(b, "Error: "+s.Error)
	case a.toast != "":
		b = append(b, a.toast)
	}
	return strings.Join(b, " ")
}
