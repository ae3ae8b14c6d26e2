package viz

import (
	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// What the walk comes to, drawn under its rows: the addresses it ends
// at or the fault the guest takes, then why the shadow entry differs.

// walkResult writes the outcome: guest-physical and host-physical
// addresses on one line, and the fault the guest takes, if any, on the
// next. It returns the height used.
func (c *ctx) walkResult(r Rect, w *x86.Walk, steps []engine.ShadowStep, gpa x86.GPA, gpaOK, nested bool) int {
	t := c.t
	e := c.m.Engine
	x, y := r.X, r.Y
	if y+t.lh > r.Bottom() {
		return 0
	}
	if w.Fault.Kind == x86.NonCanonical {
		c.textFit(x, y, r.W, FaceBold, t.fs, Vermilion, "#GP: not a canonical address, so the processor does not even read the tables")
		return t.lh
	}
	if !w.OK() && w.Fault.Kind != x86.Protection {
		c.b = appendPFLine(c.b[:0], w)
		c.textFitB(x, y, r.W, FaceBold, t.fs, Vermilion)
		return t.lh
	}
	x += c.text(x, y, FaceRegular, t.fs, ColDim, "guest-physical ")
	c.b = appendHex(c.b[:0], uint64(gpa))
	x += c.textB(x, y, FaceMono, t.fs, ColText)
	c.b = append(c.b[:0], " ("...)
	c.b = appendSize(c.b, 1<<w.PageShift)
	c.b = append(c.b, " page)"...)
	x += c.textB(x, y, FaceRegular, t.fs, ColDim) + t.fs
	hpa, ok := c.hostAddr(steps, gpa, w, nested)
	if x < r.Right() {
		c.b = append(c.b[:0], "→ host-physical "...)
		x += c.textFitB(x, y, r.Right()-x, FaceRegular, t.fs, ColDim)
	}
	if x < r.Right() {
		switch {
		case ok:
			c.b = appendHex(c.b[:0], uint64(hpa))
			c.textFitB(x, y, r.Right()-x, FaceMono, t.fs, ColText)
		case gpaOK && pageOf(e.Memory(), gpa) != nil:
			c.textFit(x, y, r.Right()-x, FaceRegular, t.fs, ColDim, "none yet")
		default:
			c.textFit(x, y, r.Right()-x, FaceRegular, t.fs, ColDim, "none (no RAM there)")
		}
	}
	if w.Fault.Kind != x86.Protection || y+2*t.lh > r.Bottom() {
		return t.lh
	}
	y += t.lh
	// The rule in words, then the error code that tells the guest's
	// handler. In a narrow panel the error code goes on a line of its own.
	c.b = appendPFReason(c.b[:0], &w.Fault)
	c.b = append(c.b, ", "...)
	c.b = appendErrorCode(c.b, w.Fault.Code)
	if measureBytes(FaceBold, t.fs, c.b) <= r.W || y+2*t.lh > r.Bottom() {
		c.textFitB(r.X, y, r.W, FaceBold, t.fs, Vermilion)
		return 2 * t.lh
	}
	c.b = appendPFReason(c.b[:0], &w.Fault)
	c.textFitB(r.X, y, r.W, FaceBold, t.fs, Vermilion)
	c.b = appendErrorCode(c.b[:0], w.Fault.Code)
	c.textFitB(r.X, y+t.lh, r.W, FaceBold, t.fs, Vermilion)
	return 3 * t.lh
}

// whyLines explains how the shadow entry differs from the guest's.
func (c *ctx) whyLines(r Rect, f *x86.Format, w *x86.Walk, steps []engine.ShadowStep, gpa x86.GPA, nested bool) {
	t := c.t
	if r.H < t.lh {
		return
	}
	var fx whyFacts
	if !nested && reachesPage(w) {
		fx = c.whyFacts(w, gpa)
	}
	lines := reasons(f, w, steps, gpa, nested, &fx)
	y := r.Y
	c.text(r.X, y, FaceBold, t.small, ColText, "Why the shadow differs from the guest")
	if nested {
		c.l.Fill(Rect{r.X, y, 0, 0}, ColText)
	}
	y += t.slh + 2
	for _, s := range lines {
		if y+t.slh > r.Bottom() {
			break
		}
		c.l.Fill(Rect{r.X + 2, y + t.slh/2 - 2, 4, 4}, ColDim)
		y += c.paragraph(Rect{r.X + 12, y, r.W - 12, r.Bottom() - y}, FaceRegular, t.small, ColText, s)
	}
}

// whyFacts reads what reasons says of the page gpa that walk w reaches.
func (c *ctx) whyFacts(w *x86.Walk, gpa x86.GPA) whyFacts {
	e := c.m.Engine
	fx := whyFacts{
		shadowLevels: e.ShadowFormat().N,
		shadowNX:     e.ShadowFormat().NX,
		handlerName:  c.handlerName(gpa),
		monitored:    c.isMonitored,
	}
	for _, m := range e.Mappings() {
		if m.Range().Contains(w.VA) {
			fx.mappings = append(fx.mappings, m.Name)
		}
	}
	if p := pageOf(e.Memory(), gpa); p != nil {
		fx.ram = true
		fx.pageType, fx.pageState, fx.handler = p.Type(), p.State(), p.Handler()
	}
	return fx
}

// handlerName names the physical handler covering gpa.
func (c *ctx) handlerName(gpa x86.GPA) string {
	for _, h := range c.m.Engine.Handlers() {
		if h.Range.Contains(gpa) {
			if h.Name != "" {
				return h.Type.String() + " handler " + h.Name
			}
			return h.Type.String() + " handler"
		}
	}
	return "MMIO"
}
