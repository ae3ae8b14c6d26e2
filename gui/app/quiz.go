package app

import (
	"fmt"
	"strconv"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
	"github.com/pgm-explorer/pgm-explorer/viz"
)

// Exercises: predict, then reveal. A question is about the next access
// of the replay, whatever the trace: which level faults, the error code,
// the guest-physical address reached, whether a write sets the Dirty
// bit, what a TLB miss costs under nested paging. Its answer comes from
// the guest's tables as the engine holds them (the read-only walk the
// walk inspector draws); answering applies the access, so the screen
// then shows what happened.

// question is an exercise about event event.
type question struct {
	ask     string
	choices []string
	right   int
	why     string // the answer explained, shown once answered
	event   uint64
	chosen  int // -1 until answered
}

// Score counts the questions answered and those answered right; the link
// carries it.
type Score struct{ Right, Asked int }

// accessOf is the paging view of an access event at the current CPL.
func accessOf(e *engine.Shadow, ev engine.Event) x86.Access {
	k := x86.Read
	switch ev.Kind {
	case engine.EvWrite:
		k = x86.Write
	case engine.EvExec:
		k = x86.Fetch
	}
	regs := e.Regs()
	return regs.Access(k)
}

// newQuestion makes a question about the next event, which must be an
// access; it reports false when there is none to ask about.
func (a *App) newQuestion() (*question, bool) {
	p := a.p
	if p.seeking || !p.peek() || !p.pending.Kind.Access() {
		return nil, false
	}
	ev := p.pending
	e := p.eng
	acc := accessOf(e, ev)
	va := x86.GVA(ev.Addr)
	w := e.GuestWalk(va, acc)
	f := e.Format()
	q := &question{event: p.pos(), chosen: -1}
	what := fmt.Sprintf("The next event %s %#x (%s).", ev.Op(), ev.Addr, accessWord(acc))
	// The kinds of question this access allows; the event's index picks
	// one, so that a replay asks a variety.
	var kinds []func()
	if f.N > 0 && !w.OK() && w.Fault.Kind != x86.NonCanonical && w.Fault.Level < w.N {
		kinds = append(kinds, func() {
			q.ask = what + " Which level of the guest's tables stops it?"
			for i := 0; i < f.N; i++ {
				q.choices = append(q.choices, f.Levels[i].Kind.String())
			}
			q.choices = append(q.choices, "none: it succeeds")
			q.right = w.Fault.Level
			q.why = fmt.Sprintf("the %v entry refuses it: %v", w.Steps[w.Fault.Level].Level, w.Fault.Kind)
			if w.Fault.Kind == x86.Protection {
				q.why = fmt.Sprintf("the %v entry refuses it: %s", w.Steps[w.Fault.Level].Level, w.Fault.Reason())
			}
		}, func() {
			q.ask = what + " It faults: which error code does the processor push?"
			q.choices, q.right = codeChoices(w.Fault.Code)
			q.why = fmt.Sprintf("error code %#x = %s", uint32(w.Fault.Code), codeWords(w.Fault.Code))
		})
	}
	if f.N > 0 && w.OK() {
		kinds = append(kinds, func() {
			q.ask = what + " Which guest-physical address does it reach?"
			q.choices, q.right = gpaChoices(w, va)
			q.why = fmt.Sprintf("the walk ends at %#x", uint64(w.GPA))
		})
		if leaf := w.Leaf(); leaf != nil && acc.Kind == x86.Write {
			sets := !leaf.Entry.Dirty()
			kinds = append(kinds, func() {
				q.ask = what + " Will this write set the Dirty bit of the guest's " + leaf.Level.String() + " entry?"
				q.choices = []string{"yes", "no"}
				q.right = 1
				q.why = "D is already set: the page was written before"
				if sets {
					q.right = 0
					q.why = "D is clear, so the first write sets it (under shadow paging the hypervisor does, on a dirty-trap)"
				}
			})
		}
		if a.p.cfg.Paging != engine.PagingShadow {
			g, h := w.N, e.ShadowFormat().N
			refs := (g+1)*(h+1) - 1
			kinds = append(kinds, func() {
				q.ask = fmt.Sprintf("%s With %d guest levels and %d nested ones, how many memory references does a TLB miss cost?", what, g, h)
				q.choices, q.right = intChoices(refs, []int{g, g * h, g + h, refs + 1})
				q.why = fmt.Sprintf("each of the %d guest entries and the page itself sit at guest-physical addresses, each a nested walk of %d: (%d+1) x (%d+1) - 1 = %d", g, h, g, h, refs)
			})
		}
	}
	if len(kinds) == 0 {
		return nil, false
	}
	kinds[(int(q.event)+a.score.Asked)%len(kinds)]()
	return q, true
}

func accessWord(acc x86.Access) string {
	s := "a read"
	switch acc.Kind {
	case x86.Write:
		s = "a write"
	case x86.Fetch:
		s = "an instruction fetch"
	}
	if acc.User {
		return s + " in user mode"
	}
	return s + " in supervisor mode"
}

// codeWords spells an error code's bits.
func codeWords(c x86.ErrorCode) string {
	s := "not present"
	if c&x86.PFPresent != 0 {
		s = "present (protection)"
	}
	if c&x86.PFWrite != 0 {
		s += " + write"
	} else {
		s += " + read"
	}
	if c&x86.PFUser != 0 {
		s += " + user"
	}
	if c&x86.PFFetch != 0 {
		s += " + fetch"
	}
	return s
}

func codeChoices(c x86.ErrorCode) ([]string, int) {
	cands := []x86.ErrorCode{c, c ^ x86.PFPresent, c ^ x86.PFWrite, c ^ x86.PFUser}
	var out []string
	for _, v := range cands {
		out = append(out, "0x"+strconv.FormatUint(uint64(v), 16))
	}
	return rotate(out, int(c)%len(out))
}

func gpaChoices(w x86.Walk, va x86.GVA) ([]string, int) {
	gpa := uint64(w.GPA)
	cands := []uint64{gpa, uint64(va), uint64(w.Steps[w.N-1].EntryAddr), gpa ^ 0x1000}
	seen := map[uint64]bool{}
	var out []string
	for i, v := range cands {
		if seen[v] {
			v = gpa + uint64(i)*0x10000
		}
		seen[v] = true
		out = append(out, "0x"+strconv.FormatUint(v, 16))
	}
	return rotate(out, int(gpa>>12)%len(out))
}

func intChoices(right int, others []int) ([]string, int) {
	out := []string{strconv.Itoa(right)}
	seen := map[int]bool{right: true}
	for _, v := range others {
		for seen[v] {
			v++
		}
		seen[v] = true
		out = append(out, strconv.Itoa(v))
	}
	return rotate(out, right%len(out))
}

// rotate moves the right answer (first) to index k.
func rotate(c []string, k int) ([]string, int) {
	out := make([]string, len(c))
	for i := range c {
		out[(i+k)%len(c)] = c[i]
	}
	return out, k
}

// Ask opens a question about the next access, or says why there is none.
func (a *App) Ask() {
	a.p.playing = false
	q, ok := a.newQuestion()
	if !ok {
		a.notify("no question here: the next event is not an access the guest's tables translate (step on, then ask again)")
		return
	}
	a.quiz, a.help, a.picker, a.prompt = q, false, nil, nil
	a.dirty = true
}

// Answer answers the open question with choice i, scores it and applies
// the access, so that the screen shows what happened.
func (a *App) Answer(i int) {
	q := a.quiz
	if q == nil || q.chosen >= 0 || i < 0 || i >= len(q.choices) {
		return
	}
	q.chosen = i
	a.score.Asked++
	if i == q.right {
		a.score.Right++
	}
	if a.p.pos() == q.event {
		to := q.event + 1
		if lab, ok := a.p.currentLabel(); ok && a.tour {
			// In the tour the rest of the step follows the answer.
			for i, l := range a.p.labels {
				if l.Event == lab.Event {
					to = max(to, a.labelStop(i))
				}
			}
		}
		a.seek(to)
	}
	a.dirty = true
}

// drawQuiz draws the open question, or its answer.
func (a *App) drawQuiz(fw, fh int) {
	u := &a.ui
	q := a.quiz
	w := min(u.px(760), fw-4*u.pad)
	askLines := wrap(viz.FaceRegular, u.fs, w-4*u.pad, q.ask)
	var tail []string
	if q.chosen >= 0 {
		verdict := "Right: " + q.why + "."
		if q.chosen != q.right {
			verdict = "Not quite: the answer is " + q.choices[q.right] + ": " + q.why + "."
		}
		tail = wrap(viz.FaceRegular, u.fs, w-4*u.pad, verdict)
	}
	n := len(askLines) + len(q.choices) + len(tail) + 3
	in := a.box("quiz", fw, fh, w, n*u.lineH(u.fs)+4*u.pad)
	y := in.Y
	a.text(in.X, y, viz.FaceBold, u.fs, viz.ColText, fmt.Sprintf("Predict, then see · score %d of %d", a.score.Right, a.score.Asked))
	y += u.lineH(u.fs) + u.pad/2
	for _, s := range askLines {
		a.text(in.X, y, viz.FaceRegular, u.fs, viz.ColText, s)
		y += u.lineH(u.fs)
	}
	for i, c := range q.choices {
		col := viz.ColText
		switch {
		case q.chosen >= 0 && i == q.right:
			col = viz.Shade(viz.Green, 0.2)
		case q.chosen == i:
			col = viz.Vermilion
		}
		a.text(in.X+u.pad, y, viz.FaceMono, u.fs, col, strconv.Itoa(i+1)+"  "+c)
		y += u.lineH(u.fs)
	}
	for _, s := range tail {
		a.text(in.X, y, viz.FaceRegular, u.fs, viz.ColText, s)
		y += u.lineH(u.fs)
	}
	hint := "1–" + strconv.Itoa(len(q.choices)) + ": answer · Esc: not now"
	if q.chosen >= 0 {
		hint = "Enter or Esc: back to the explorer · x: the next question"
	}
	a.text(in.X, in.Bottom()-u.lineH(u.small)+u.gap, viz.FaceRegular, u.small, viz.ColDim, hint)
}

// quizKey handles a key while a question is open; it reports whether
// it took it.
func (a *App) quizKey(k Key) bool {
	if a.quiz == nil {
		return false
	}
	switch k {
	case KeyEscape, KeyEnter:
		if k == KeyEnter && a.quiz.chosen < 0 {
			return true
		}
		a.quiz = nil
		a.dirty = true
	}
	return true
}

// quizChar handles a character while a question is open.
func (a *App) quizChar(r rune) bool {
	if a.quiz == nil {
		return false
	}
	switch {
	case r >= '1' && r <= '9':
		a.Answer(int(r - '1'))
	case r == 'x' && a.quiz.chosen >= 0:
		a.quiz = nil
		a.Ask()
	}
	return true
}
