package viz

import (
	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// The walk inspector: the selected address cut into its index fields
// (coloured by level, as the hierarchy's columns are), each level's
// guest and shadow entries decoded, the resulting guest-physical and
// host-physical addresses, why the shadow entry differs from the
// guest's, and under nested paging the two-dimensional walk. This file
// lays the panel out; walkbits.go draws the fields, walkrows.go the
// levels' entries, walkresult.go the outcome, walk2d.go the nested
// walk, and walkwhy.go writes the words they show.

// selectedAccess is the access the inspector walks for: that of the
// last access when it was to the selected address, else a read at the
// current privilege level.
func (c *ctx) selectedAccess(va x86.GVA) (x86.Access, *engine.Outcome) {
	regs := c.m.Engine.Regs()
	acc := regs.Access(x86.Read)
	if c.m.Recent != nil {
		if o := c.m.Recent.LastAccess(); o != nil && x86.GVA(o.Event.Addr) == va {
			switch o.Event.Kind {
			case engine.EvWrite:
				acc.Kind = x86.Write
			case engine.EvExec:
				acc.Kind = x86.Fetch
			}
			return acc, o
		}
	}
	return acc, nil
}

func (c *ctx) walkPanel(r Rect, big bool) {
	e := c.m.Engine
	t := c.t
	va, hasVA := c.m.SelectedVA()
	in := c.panel("walk", "", r)
	f := e.Format()
	acc, last := c.selectedAccess(va)
	asked := va
	va = f.Linear(va)

	// Title: the address and the access.
	x := in.X
	x += c.text(x, in.Y, FaceBold, t.titleSize, ColText, "Walk of ")
	c.b = appendVA(c.b[:0], uint64(va), f)
	x += c.textB(x, in.Y, FaceMono, t.titleSize, ColText) + t.fs/2
	c.b = appendAccessNote(c.b[:0], acc, hasVA, asked, va)
	c.textFitB(x, in.Y+1, in.Right()-x, FaceRegular, t.fs, ColDim)
	_, in = in.CutTop(LineHeight(FaceBold, t.titleSize), t.pad)

	if f.N == 0 {
		c.b = appendNoPaging(c.b[:0], uint64(va))
		c.textFitB(in.X, in.Y, in.W, FaceRegular, t.fs, ColText)
		_, in = in.CutTop(t.lh, t.pad/2)
		c.shadowOnlyWalk(in, uint64(va), big)
		return
	}

	w := e.GuestWalk(va, acc) // the engine's walk peeks: drawing changes nothing

	// Bit fields.
	used := c.bitFields(in, f, &w)
	_, in = in.CutTop(used, t.pad)

	nested := e.Config().Paging != engine.PagingShadow
	var steps []engine.ShadowStep
	gpa, gpaOK := c.walkGPA(f, &w)
	if nested {
		if gpaOK {
			steps = e.ShadowWalk(x86.GVA(gpa))
		}
	} else {
		steps = e.ShadowWalk(va)
	}
	used = c.walkRows(in, f, &w, steps, nested, big)
	_, in = in.CutTop(used, t.pad/2)
	used = c.walkResult(in, &w, steps, gpa, gpaOK, nested)
	_, in = in.CutTop(used, t.pad/2)
	if nested {
		used = c.walk2D(in, f, &w, gpa, gpaOK, last)
		_, in = in.CutTop(used, t.pad/2)
	}
	c.whyLines(in, f, &w, steps, gpa, nested)
}

// appendVA writes a virtual address with the digits its format uses.
func appendVA(b []byte, va uint64, f *x86.Format) []byte {
	if f.Mode.Long() {
		return appendHexW(b, va, 16)
	}
	return appendHexW(b, va, 8)
}

// walkGPA is the guest-physical address of the walk: its result, or for
// a protection fault the page the leaf maps.
func (c *ctx) walkGPA(f *x86.Format, w *x86.Walk) (x86.GPA, bool) {
	if w.OK() {
		return w.GPA, true
	}
	if l := w.Leaf(); l != nil && w.Fault.Kind == x86.Protection {
		lv := &f.Levels[w.N-1]
		return lv.PageBase(l.Entry) | x86.GPA(uint64(w.VA)&(lv.Covers()-1)), true
	}
	return 0, false
}

// hostAddr is the host-physical address the shadow (or nested) leaf
// gives.
func (c *ctx) hostAddr(steps []engine.ShadowStep, gpa x86.GPA, w *x86.Walk, nested bool) (x86.HPA, bool) {
	sf := c.m.Engine.ShadowFormat()
	if len(steps) != sf.N || !steps[len(steps)-1].Entry.Present() {
		return 0, false
	}
	frame := uint64(steps[len(steps)-1].Entry) & sf.Levels[sf.N-1].FrameMask
	off := uint64(gpa) & x86.PageOffMask
	if !nested {
		off = uint64(w.VA) & x86.PageOffMask
	}
	return x86.HPA(frame | off), true
}

// shadowOnlyWalk shows the shadow path for a guest without paging: the
// physical-mode tables.
func (c *ctx) shadowOnlyWalk(r Rect, va uint64, big bool) {
	e := c.m.Engine
	steps := e.ShadowWalk(x86.GVA(va))
	var w x86.Walk
	w.VA = x86.GVA(va)
	w.GPA = x86.GPA(va)
	w.PageShift = x86.PageShift
	f := e.Format()
	nested := e.Config().Paging != engine.PagingShadow
	used := c.walkRows(r, f, &w, steps, nested, big)
	_, r = r.CutTop(used, c.t.pad/2)
	used = c.walkResult(r, &w, steps, x86.GPA(va), true, nested)
	_, r = r.CutTop(used, c.t.pad/2)
	if r.H > c.t.lh {
		c.paragraph(r, FaceRegular, c.t.small, ColDim, "Even without guest paging the processor needs page tables while the guest runs: the hypervisor gives it tables that map guest-physical memory one to one onto the host pages behind it.")
	}
}
