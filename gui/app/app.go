package app

import (
	"errors"
	"fmt"
	"time"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
	"github.com/pgm-explorer/pgm-explorer/viz"
)

var errNoSave = errors.New("this platform cannot save files")

// Options configure a new App.
type Options struct {
	State  State
	Host   Host
	Play   bool          // start playing
	Speed  float64       // events per second (rounded to a step of Speeds); 0 keeps the default
	Budget time.Duration // replay time per tick at TPS ticks a second; 0 means DefaultBudget
	// Tour shows the explanation panel at labels; nil: on for the
	// modes-tour sources and the Linux sample, off otherwise.
	Tour *bool
}

// App is the explorer's state. Drive it with Update once per tick and
// draw what Frame returns; nothing else changes it, so that a frame is
// rebuilt only when something changed.
type App struct {
	host   Host
	budget time.Duration

	p     *player
	model viz.Model
	list  viz.List
	view  viz.View
	va    x86.GVA
	hasVA bool
	// counter is the statistic whose changes the timeline shows.
	counter string

	w, h  int // window size in pixels
	dirty bool
	frame uint64 // frames built
	// stale: the replay moved since the last frame, which is not yet
	// redrawn because the replay is bound by the CPU (see Frame).
	stale bool
	built time.Time // when the last frame was built
	// The replay's time: what it may still spend, and when the last
	// tick started (see replayBudget).
	credit   time.Duration
	lastTick time.Time

	tour    bool
	tourSet bool // the user chose; a new source keeps the choice
	help    bool
	prompt  *prompt
	picker  *picker
	hover   viz.HitID
	hoverOK bool
	gloss   string // the glossary's explanation of the word under the cursor
	quiz    *question
	// exercises: the tour asks before it shows, at the steps that have
	// a question; askAt is the event+1 a question waits for.
	exercises bool
	askAt     uint64
	ran       bool // the replay got here by running (play, n), not by a seek
	tourVA    bool // the walk follows an address a step chose
	score     Score
	// What if: the level of the walk an edit changes (0: the last one
	// reached), and the state a branch came from (nil: not a branch).
	whatLevel x86.LevelKind
	whatFrom  *State
	// focus is the element the keyboard's focus ring is on, an index in
	// focusables (-1: none); focusR is where it was last drawn.
	focus    int
	focusR   viz.Rect
	mx, my   int
	dragging bool // the timeline is being dragged
	buttons  []button
	toast    string
	toastEnd time.Time
	err      string // the last error, shown until the next action
	location string // the last fragment given to the host
	vizH     int    // height of the viz part of the frame
	fps      float64
	costs    Costs
	barY     int // top of the control bar
	tourY    int // top of the tour panel, 0 when hidden
	ui       uiSizes
	// tourScroll is the first line of the tour's explanation shown
	// (PageUp, PageDown); a new step starts at its top.
	tourScroll int
	tourAt     uint64 // the label whose explanation is scrolled
	tourShown  uint64 // the label whose step was last applied (view, engine)
	tourOvr    bool   // the tour replays with nested paging for its step
	ins        insight
}

// New opens the state's source. A bad source is an error; the caller may
// fall back to the default.
func New(o Options) (*App, error) {
	a := &App{host: o.Host, budget: o.Budget, w: 1280, h: 800, dirty: true, ui: newUISizes(1), focus: -1, exercises: true}
	if a.host == nil {
		a.host = NopHost{}
	}
	if a.budget <= 0 {
		a.budget = DefaultBudget
	}
	st := o.State
	if st.Sample == "" && st.Workload == "" && st.File == "" && st.Events == nil {
		st.Sample = DefaultSample
	}
	if o.Tour != nil {
		a.tour, a.tourSet = *o.Tour, true
	}
	if err := a.open(st); err != nil {
		return nil, err
	}
	a.view, a.va, a.hasVA = st.View, st.VA, st.HasVA
	a.score = st.Score
	if o.Speed > 0 {
		a.p.speed = speedIndex(o.Speed)
	}
	a.p.playing = o.Play
	return a, nil
}

// DefaultBudget is the replay time of a tick when the replay is bound
// by the CPU (flat out, seeking, running to a fault): three quarters of
// a tick, so that a flat-out replay gets most of the CPU and input,
// pictures and the browser the rest. It is a share of the time rather
// than a time per tick: see replayBudget.
const DefaultBudget = time.Second * 3 / 4 / TPS

// DefaultSample is what opens when nothing is asked for: the guided
// tour of the paging modes.
const DefaultSample = "modes-tour.txt"

func speedIndex(v float64) int {
	for i, s := range Speeds {
		if s >= v {
			return i
		}
	}
	return len(Speeds) - 1
}

// open replaces the source (and the engine) by st's.
func (a *App) open(st State) error {
	if err := st.Source.Validate(); err != nil {
		return err
	}
	p, err := newPlayer(st.Source, st.Overrides, st.Event)
	if err != nil {
		return err
	}
	if a.p != nil {
		p.speed = a.p.speed
		a.p.close()
	}
	a.p = p
	if !a.tourSet {
		a.tour = isTour(st.Source)
	}
	p.stopAtLabels = a.tour
	a.err = ""
	a.whatFrom = nil
	a.dirty = true
	return nil
}

func isTour(s Source) bool {
	return s.Sample == "modes-tour.txt" || s.Workload == "modes-tour" || s.Sample == "linux.txt"
}

// OpenData opens a trace read into memory (a file picked or dropped in
// the browser). A file that is not a trace leaves the current source
// and says why.
func (a *App) OpenData(name string, data []byte) error {
	st := a.State()
	st.Source = Source{File: name, Data: data}
	st.Event, st.HasVA = 0, false
	if err := a.open(st); err != nil {
		err = fmt.Errorf("%s is not a trace PGM Explorer can read: %v", name, err)
		a.setErr(err)
		return err
	}
	a.hasVA = false
	a.notify("opened " + name)
	return nil
}

// Open opens another source at a state, keeping the view.
func (a *App) Open(st State) error {
	if err := a.open(st); err != nil {
		a.setErr(err)
		return err
	}
	a.va, a.hasVA = st.VA, st.HasVA
	return nil
}

// Resize sets the window size in pixels.
func (a *App) Resize(w, h int) {
	if w != a.w || h != a.h {
		a.w, a.h = w, h
		a.dirty = true
	}
}

// FrameSize is the size of the frames Frame builds: the window's, laid
// out for the space there is (the tour panel shrinks, the control bar
// wraps); only a window under MinWidth x MinHeight CSS pixels gets a
// larger frame, which the platform then scales down.
func (a *App) FrameSize() (w, h int) { return a.frameW() }

func (a *App) frameW() (w, h int) {
	u := &a.ui
	return min(max(a.w, u.px(viz.MinWidth)), u.px(viz.MaxWidth)), min(max(a.h, u.px(viz.MinHeight)), u.px(viz.MaxHeight))
}

// SetScale sets the device scale: frame pixels per CSS pixel (the
// browser's devicePixelRatio, the desktop monitor's scale factor).
func (a *App) SetScale(s float64) {
	if !(s >= 1) {
		s = 1
	}
	if s != a.ui.scale {
		a.ui = newUISizes(s)
		a.dirty = true
	}
}

// Invalidate makes the next Frame build a picture even if nothing
// changed (the platform lost what it showed).
func (a *App) Invalidate() { a.dirty = true }

// Busy reports whether the app has work for the next tick (replaying,
// seeking, loading, a message to clear): when it has not, a platform may
// sleep until the next input.
func (a *App) Busy() bool {
	return a.p.busy() || a.toast != "" || a.ins.busy()
}

// Settle does all the pending seeking and loading at once, whatever it
// costs: for tests and for screenshots of a given moment.
func (a *App) Settle() error {
	for a.p.loading != nil || a.p.seeking {
		if a.p.loading != nil {
			<-a.p.loading.done
		}
		if _, err := a.p.advance(time.Now().Add(time.Hour)); err != nil {
			a.setErr(err)
			return err
		}
	}
	a.dirty = true
	return nil
}

// Update advances the replay by a tick and handles the input.
func (a *App) Update(in Input) {
	a.handle(&in)
	now := time.Now()
	changed, err := a.p.advance(now.Add(a.replayBudget(now)))
	a.credit -= time.Since(now)
	if err != nil {
		a.setErr(err)
	}
	a.tickInsight(time.Now())
	switch {
	case changed && a.p.late:
		a.stale = true
	case changed:
		a.dirty = true
	}
	a.applyTourStep()
	a.askPending()
	if a.p.missed != UntilNone {
		a.notify(noFurther(a.p.missed))
		a.p.missed = UntilNone
	}
	if a.toast != "" && time.Now().After(a.toastEnd) {
		a.toast = ""
		a.dirty = true
	}
	if !a.p.busy() {
		if loc := a.State().Encode(); loc != a.location {
			a.location = loc
			a.host.SetLocation(loc)
		}
	}
}

// replayBudget is the replay time of the tick starting now. While the
// replay is bound by the CPU, it earns budget×TPS of each second of wall
// time (three quarters by default) whatever the number of ticks: when
// frames are slow (a software GL, a busy browser) Ebiten runs fewer
// ticks, and a fixed time per tick would give the replay less than its
// share. What a tick can spend is capped, so that input is still read
// several times a second.
func (a *App) replayBudget(now time.Time) time.Duration {
	if a.p.late && !a.lastTick.IsZero() {
		a.credit += time.Duration(float64(now.Sub(a.lastTick)) * float64(a.budget) * TPS / float64(time.Second))
		a.credit = min(a.credit, 3*a.budget)
	} else {
		a.credit = a.budget
	}
	a.lastTick = now
	return max(a.credit, a.budget/8)
}

func (a *App) setErr(err error) {
	a.err = err.Error()
	a.dirty = true
}

func (a *App) notify(s string) {
	a.toast, a.toastEnd = s, time.Now().Add(3*time.Second)
	a.dirty = true
}

// State is the state a link reopens.
func (a *App) State() State {
	src := a.p.src
	src.Data = nil
	return State{Source: src, Overrides: a.p.ovr, Event: a.p.pos(), VA: a.va, HasVA: a.hasVA, View: a.view, Score: a.score}
}

// handle applies the input of a tick.
func (a *App) handle(in *Input) {
	if in.MouseIn && (in.MouseX != a.mx || in.MouseY != a.my) {
		a.mx, a.my = in.MouseX, in.MouseY
		a.updateHover()
	}
	if in.MouseIn && in.Pressed {
		a.click(in.MouseX, in.MouseY)
	}
	for _, c := range in.Clicks {
		a.mx, a.my = c.X, c.Y
		a.updateHover()
		a.click(c.X, c.Y)
	}
	if in.Wheel != 0 && a.tourY > 0 && a.my >= a.tourY && a.my < a.barY {
		if in.Wheel > 0 {
			a.ScrollTour(-1)
		} else {
			a.ScrollTour(1)
		}
	}
	if a.dragging {
		if in.Down {
			if a.hoverOK && a.hover.Kind == viz.HitTimeline {
				a.seek(a.hover.Event)
			}
		} else {
			a.dragging = false
		}
	}
	// Characters first: "60" and Enter typed within one tick must reach
	// the prompt in that order.
	for _, r := range in.Chars {
		a.char(r)
	}
	for _, k := range in.Keys {
		a.key(k, in.Shift)
	}
}

func (a *App) updateHover() {
	old, oldOK, oldGloss := a.hover, a.hoverOK, a.gloss
	a.hover, a.hoverOK, a.gloss = viz.HitID{}, false, ""
	if a.my < a.vizH {
		a.hover, a.hoverOK = a.list.HitTest(a.mx, a.my)
	}
	if !a.hoverOK && a.my < a.barY {
		// Words without a region of their own: the glossary.
		a.gloss = glossaryFor(a.textAt(a.mx, a.my))
	}
	if a.hoverOK != oldOK || a.hover != old || a.gloss != oldGloss {
		a.dirty = true
	}
}

// Config is the engine configuration in use.
func (a *App) Config() engine.Config { return a.p.cfg }

// ToggleTour shows or hides the explanation panel.
func (a *App) ToggleTour() {
	a.tour, a.tourSet = !a.tour, true
	a.p.stopAtLabels = a.tour
	a.dirty = true
}

// ToggleHelp shows or hides the list of keys.
func (a *App) ToggleHelp() {
	a.help = !a.help
	a.picker, a.prompt = nil, nil
	a.dirty = true
}

// MaxDataBytes bounds a trace read into memory (a file picked or dropped).
const MaxDataBytes = 512 << 20

// Fail shows an error that happened outside the app (reading a file).
func (a *App) Fail(err error) { a.setErr(err) }

// SetFPS tells the app the frame rate the platform measures, for Status.
func (a *App) SetFPS(f float64) { a.fps = f }
