package app

import (
	"github.com/pgm-explorer/pgm-explorer/viz"
)

// Keyboard focus: Tab and Shift+Tab move a visible focus ring over what
// the mouse can click (the control bar's buttons, the rows of Recent
// events, the levels of the walk, the statistics), Enter does what a
// click does, and the focused element shows its tooltip as if hovered.

// focusable is something the focus can rest on: where it is, and the
// point a click there would press.
type focusable struct {
	r    viz.Rect
	x, y int
}

// focusables lists them in the frame's order: panels first (top to
// bottom as laid out), then the control bar.
func (a *App) focusables() []focusable {
	var out []focusable
	for _, rg := range a.list.Regions {
		switch rg.ID.Kind {
		case viz.HitWalkLevel, viz.HitOutcome, viz.HitCounter:
			r := rg.R
			out = append(out, focusable{r, r.X + r.W/2, r.Y + r.H/2})
		}
	}
	for _, b := range a.buttons {
		out = append(out, focusable{b.r, b.r.X + b.r.W/2, b.r.Y + b.r.H/2})
	}
	return out
}

// MoveFocus moves the focus by d (1: Tab, -1: Shift+Tab).
func (a *App) MoveFocus(d int) {
	fs := a.focusables()
	if len(fs) == 0 {
		return
	}
	switch {
	case a.focus < 0 && d < 0:
		a.focus = len(fs) - 1
	case a.focus < 0:
		a.focus = 0
	default:
		a.focus = ((a.focus+d)%len(fs) + len(fs)) % len(fs)
	}
	f := fs[a.focus]
	a.focusR = f.r
	// The focused element shows its tooltip, as if hovered.
	a.mx, a.my = f.x, f.y
	a.updateHover()
	a.dirty = true
}

// activateFocus does what a click on the focused element does.
func (a *App) activateFocus() bool {
	fs := a.focusables()
	if a.focus < 0 || a.focus >= len(fs) {
		return false
	}
	f := fs[a.focus]
	a.click(f.x, f.y)
	return true
}

// drawFocus rings the focused element.
func (a *App) drawFocus() {
	fs := a.focusables()
	if a.focus < 0 || a.focus >= len(fs) {
		return
	}
	u := &a.ui
	w := max(2, u.px(2))
	r := fs[a.focus].r
	r = viz.R(r.X-w, r.Y-w, r.W+2*w, r.H+2*w)
	r = clip(r, viz.R(0, 0, a.list.Width, a.list.Height))
	a.focusR = r
	a.list.BeginPanel("focus", r)
	a.list.Stroke(r, w, viz.Blue)
}
