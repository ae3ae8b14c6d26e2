package viz

import (
	"fmt"
	"strings"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// View is an arrangement of panels.
type View uint8

const (
	// ViewOverview shows everything: mode bar, guest and shadow
	// hierarchies side by side, the walk inspector, the memory map, the
	// pool, the statistics and the timeline.
	ViewOverview View = iota
	// ViewHierarchy gives the page-table hierarchies the whole frame.
	ViewHierarchy
	// ViewMemory shows the guest physical memory map and the pool.
	ViewMemory
	// ViewWalk shows the walk inspector large, with the event log.
	ViewWalk
	// ViewIntermediate shows the hypervisor's side: its mappings in the
	// guest's linear space beside the shadow page directories that carry
	// them and the intermediate context the world switch runs in.
	ViewIntermediate
	viewCount
)

var viewNames = [viewCount]string{"overview", "hierarchy", "memory", "walk", "intermediate"}

func (v View) String() string {
	if v < viewCount {
		return viewNames[v]
	}
	return fmt.Sprintf("View(%d)", uint8(v))
}

// ViewNames lists the views by name.
func ViewNames() []string { return viewNames[:] }

// ParseView reads a view name.
func ParseView(s string) (View, error) {
	for v := View(0); v < viewCount; v++ {
		if viewNames[v] == s {
			return v, nil
		}
	}
	return 0, fmt.Errorf("unknown view %q (want %s)", s, strings.Join(viewNames[:], ", "))
}

// Frame sizes in CSS pixels (times Model.Scale in frame pixels): a
// picture (explorer render) is from Min to Max; Layout lays out frames
// down to MinWidth x MinPanelHeight (the window gives the panels what
// its control bar and tour leave) and clamps other sizes to the nearest
// it supports.
const (
	MinWidth, MinHeight = 1024, 640
	MaxWidth, MaxHeight = 3840, 2160
	MinPanelHeight      = 400
)

// Model is what a frame shows: the engine, what happened recently and
// what the user chose. The caller owns it and keeps it from frame to
// frame; Layout keeps its scratch memory in it, so a Model must not be
// laid out by two goroutines at once. Layout only reads the engine,
// through side-effect-free reads (statistics included).
type Model struct {
	Engine   *engine.Shadow
	Recent   *Recent       // the last outcomes, oldest first; may be nil
	Timeline *Timeline     // a summary of the replay so far; may be nil
	History  *StatsHistory // earlier statistics, for the rates of the statistics panel; may be nil
	// Counter is the statistic whose changes the timeline shows (the
	// user clicked it in the statistics panel); "" for none.
	Counter string
	// StatsFrom is the event the statistics count from: 0, or the
	// checkpoint a seek loaded (saved states hold no statistics).
	StatsFrom uint64
	// HideLabels, when set, hides the text of labels at or after event
	// HideFrom (an exercise asks before the step's explanation shows).
	HideLabels bool
	HideFrom   uint64
	// Marks, when set, are the events a search or a hot spot picked
	// out: the timeline shows them in a strip of their own.
	Marks *Marks

	View          View
	VA            x86.GVA // the selected virtual address
	HasVA         bool    // false: select the address of the last access in Recent
	Width, Height int     // frame size in pixels
	// Scale is the frame pixels per CSS pixel (a 2x screen: 2); text
	// and spacing are sized in CSS pixels times Scale. 0 means 1.
	Scale float64
	Title string // what is shown: a trace's name, say

	scratch *scratch
}

// SelectedVA is the address the walk inspector and the hierarchies
// follow: VA when set, else the last guest access in Recent, else 0.
func (m *Model) SelectedVA() (x86.GVA, bool) {
	if m.HasVA {
		return m.VA, true
	}
	if m.Recent != nil {
		if o := m.Recent.LastAccess(); o != nil {
			return x86.GVA(o.Event.Addr), true
		}
	}
	return 0, false
}

// Recent is a ring buffer of the last outcomes, kept by the caller as it
// applies events. The zero value keeps nothing; use NewRecent.
type Recent struct {
	buf  []engine.Outcome
	head int // index of the oldest
	n    int
}

// NewRecent keeps the last n outcomes.
func NewRecent(n int) *Recent { return &Recent{buf: make([]engine.Outcome, max(n, 1))} }

// Add records an outcome, dropping the oldest when full.
func (r *Recent) Add(o engine.Outcome) {
	if len(r.buf) == 0 {
		return
	}
	i := (r.head + r.n) % len(r.buf)
	r.buf[i] = o
	if r.n < len(r.buf) {
		r.n++
	} else {
		r.head = (r.head + 1) % len(r.buf)
	}
}

// Len is the number of outcomes kept.
func (r *Recent) Len() int { return r.n }

// At is the i-th outcome kept, 0 the oldest.
func (r *Recent) At(i int) *engine.Outcome { return &r.buf[(r.head+i)%len(r.buf)] }

// Last is the newest outcome, or nil.
func (r *Recent) Last() *engine.Outcome {
	if r.n == 0 {
		return nil
	}
	return r.At(r.n - 1)
}

// LastAccess is the newest guest access (r, w, x), or nil.
func (r *Recent) LastAccess() *engine.Outcome {
	for i := r.n - 1; i >= 0; i-- {
		if o := r.At(i); o.Event.Kind.Access() {
			return o
		}
	}
	return nil
}

// Reset forgets every outcome.
func (r *Recent) Reset() { r.head, r.n = 0, 0 }
