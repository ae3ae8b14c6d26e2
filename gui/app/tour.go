package app

import (
	"strconv"

	"github.com/pgm-explorer/pgm-explorer/viz"
)

// tourText is what the tour panel says now: its heading, where to
// look, and the explanation.
func (a *App) tourText() (head, look, body string) {
	lab, ok := a.p.currentLabel()
	if !ok {
		return "Guided tour", "", "Press space (or n) to start. The replay stops at each step of the tour so that you can read what changed; the panels above show the guest's page tables, the shadow tables the hypervisor builds from them, and how the last address was translated."
	}
	idx := 0
	for i, x := range a.p.labels {
		if x.Event == lab.Event {
			idx = i
		}
	}
	head = "Step " + strconv.Itoa(idx+1) + " of " + strconv.Itoa(len(a.p.labels))
	if a.quiz != nil && a.quiz.chosen < 0 {
		// The explanation would give the answer away.
		return head, "", "Predict first: answer the question, then the explanation of this step follows."
	}
	body = lab.Text
	if st := tourStepFor(lab.Text); st != nil {
		look = "Look at: " + st.tip
		if st.text != "" {
			body = st.text
		}
	}
	return head, look, body
}

// tourLines wraps the explanation to the panel's width: the heading
// line (heading and where to look, which wraps on its own lines when
// both do not fit) then the text.
func (a *App) tourLines(w int) (headLines, body []string) {
	u := &a.ui
	head, look, text := a.tourText()
	in := w - 2*u.pad
	hw := viz.Measure(viz.FaceBold, u.fs, head) + 2*u.pad
	switch {
	case look == "":
	case viz.Measure(viz.FaceRegular, u.fs, look) <= in-hw:
		headLines = []string{look}
	default:
		body = wrap(viz.FaceRegular, u.fs, in, look)
	}
	return headLines, append(body, wrap(viz.FaceRegular, u.fs, in, text)...)
}

// tourMaxLines is how many lines of explanation the panel shows at
// most: all of them when the window is tall, fewer (and the rest by
// scrolling) when the panels need the room.
func (a *App) tourMaxLines(h, bar int) int {
	u := &a.ui
	room := h - bar - u.px(viz.MinPanelHeight) - 3*u.pad - 2*u.lineH(u.fs)
	return max(2, min(7, room/u.lineH(u.fs)))
}

// tourHeight is the height of the explanation panel: the heading, the
// lines of the explanation that fit, and a line of keys; 0 when the
// tour is off or has no steps.
func (a *App) tourHeight() int {
	u := &a.ui
	if !a.tour || a.p == nil || len(a.p.labels) == 0 {
		return 0
	}
	w, h := a.frameW()
	_, body := a.tourLines(w)
	n := min(len(body), a.tourMaxLines(h, a.barHeight()))
	return (1+n)*u.lineH(u.fs) + u.lineH(u.small) + 2*u.pad
}

// ScrollTour scrolls the tour's explanation by n lines.
func (a *App) ScrollTour(n int) {
	a.tourScroll = max(0, a.tourScroll+n)
	a.dirty = true
}

// drawTour draws the explanation of the current step.
func (a *App) drawTour(r viz.Rect) {
	u := &a.ui
	l := &a.list
	l.BeginPanel("tour", r)
	l.Fill(r, viz.Tint(viz.SkyBlue, 0.85))
	l.Fill(viz.R(r.X, r.Y, r.W, 1), viz.ColBorder)
	in := r.Inset(u.pad)
	if lab, _ := a.p.currentLabel(); lab.Event != a.tourAt {
		a.tourAt, a.tourScroll = lab.Event, 0
	}
	head, _, _ := a.tourText()
	headLook, body := a.tourLines(r.W)
	hw := a.text(in.X, in.Y, viz.FaceBold, u.fs, viz.ColText, head)
	if len(headLook) > 0 {
		a.text(in.X+hw+2*u.pad, in.Y, viz.FaceRegular, u.fs, viz.Blue, headLook[0])
	}
	_, _, text := a.tourText()
	lookLines := len(body) - len(wrap(viz.FaceRegular, u.fs, in.W, text))
	n := (in.H - u.lineH(u.small)) / u.lineH(u.fs)
	n = max(n-1, 1)
	a.tourScroll = min(a.tourScroll, max(len(body)-n, 0))
	y := in.Y + u.lineH(u.fs)
	for i := a.tourScroll; i < len(body) && i < a.tourScroll+n; i++ {
		col := viz.ColText
		if i < lookLines {
			col = viz.Blue
		}
		a.text(in.X, y, viz.FaceRegular, u.fs, col, body[i])
		y += u.lineH(u.fs)
	}
	hint := "space: play to the next step · p: previous step · t: hide these explanations · ?: all keys"
	if len(body) > n {
		hint = "PgUp PgDn: scroll (" + strconv.Itoa(a.tourScroll+1) + "–" + strconv.Itoa(min(a.tourScroll+n, len(body))) + " of " + strconv.Itoa(len(body)) + " lines) · " + hint
	}
	a.text(in.X, in.Bottom()-u.lineH(u.small)+u.gap, viz.FaceRegular, u.small, viz.ColDim, fit(viz.FaceRegular, u.small, in.W, hint))
}
