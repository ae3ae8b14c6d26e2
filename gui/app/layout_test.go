package app

import (
	"fmt"
	"strings"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/viz"
)

// sizes are the windows the explorer must fit, in CSS pixels, with the
// device scale.
var sizes = []struct {
	w, h  int
	scale float64
}{
	{1024, 640, 1}, {1280, 800, 1}, {1366, 768, 1}, {1920, 1080, 1}, {1440, 900, 2}, {1024, 640, 2},
}

// TestLayoutFits: at every size the frame is the window's (no letterbox),
// the control bar's parts do not overlap, and no text a person reads is
// under viz.MinTextSize CSS pixels.
func TestLayoutFits(t *testing.T) {
	for _, view := range []viz.View{viz.ViewOverview, viz.ViewWalk} {
		for _, sz := range sizes {
			name := fmt.Sprintf("%v-%dx%d@%g", view, sz.w, sz.h, sz.scale)
			t.Run(name, func(t *testing.T) {
				a := newTest(t, State{Source: Source{Sample: "modes-tour.txt"}, Event: 100, View: view})
				a.SetScale(sz.scale)
				W, H := int(float64(sz.w)*sz.scale), int(float64(sz.h)*sz.scale)
				a.Resize(W, H)
				a.dirty = true
				l, _ := a.Frame()
				if l.Width != W || l.Height != H {
					t.Errorf("frame %dx%d for a window of %dx%d", l.Width, l.Height, W, H)
				}
				frame := viz.R(0, 0, l.Width, l.Height)
				var bar []viz.Rect
				for i := range l.Prims {
					p := &l.Prims[i]
					if p.Op != viz.OpText {
						continue
					}
					r := p.Rect()
					s := string(l.TextOf(p))
					if !r.In(frame) {
						t.Errorf("%q at %v is outside the frame", s, r)
					}
					if min := int(viz.MinTextSize * sz.scale); int(p.Size) < min && !cellGlyph(s) {
						t.Errorf("%q (%s panel) is %d px, under %d", s, l.Panels[p.Panel].Name, p.Size, min)
					}
					if l.Panels[p.Panel].Name == "controls" {
						for _, o := range bar {
							if o.Overlaps(r) {
								t.Errorf("in the control bar %q at %v overlaps another text at %v", s, r, o)
							}
						}
						bar = append(bar, r)
					}
				}
			})
		}
	}
}

// cellGlyph reports whether s is a letter drawn inside a table or pool
// cell: a mark whose meaning the cell's colour and the legend carry.
func cellGlyph(s string) bool { return len([]rune(s)) <= 2 }

// TestOverlaysFit: at the smallest window and on a 2x screen the
// overlays keep their last line (the keys that close them) in the frame.
func TestOverlaysFit(t *testing.T) {
	for _, sz := range sizes {
		a := newTest(t, State{Source: Source{Sample: "modes-tour.txt"}, Event: 60})
		a.SetScale(sz.scale)
		a.Resize(int(float64(sz.w)*sz.scale), int(float64(sz.h)*sz.scale))
		a.openPicker()
		a.picker.sel = len(a.picker.items) - 1
		if !shownText(a, "Esc closes") || !shownText(a, "Replay this scenario") {
			t.Errorf("%dx%d@%g: the scenario list runs out of its box", sz.w, sz.h, sz.scale)
		}
		a.picker = nil
		a.ToggleHelp()
		if !shownText(a, "Esc or ? closes this") {
			t.Errorf("%dx%d@%g: the help runs out of its box", sz.w, sz.h, sz.scale)
		}
	}
}

// shownText reports whether a text containing sub lies wholly in the frame.
func shownText(a *App, sub string) bool {
	a.dirty = true
	l, _ := a.Frame()
	frame := viz.R(0, 0, l.Width, l.Height)
	for i := range l.Prims {
		p := &l.Prims[i]
		if p.Op == viz.OpText && strings.Contains(string(l.TextOf(p)), sub) && p.Rect().In(frame) {
			return true
		}
	}
	return false
}
