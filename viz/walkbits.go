package viz

import "github.com/pgm-explorer/pgm-explorer/engine/x86"

// The address cut into its index fields, as the walk inspector's top
// row draws it.

// bitFields draws the address as coloured fields, top level first, the
// page offset last; a walk ending in a big page merges the fields below
// it into the offset. It returns the height used.
func (c *ctx) bitFields(r Rect, f *x86.Format, w *x86.Walk) int {
	t := c.t
	type field struct {
		name     string
		hi, lo   int
		level    int
		value    uint64
		sign     bool
		unusedHi bool
	}
	var fs [8]field
	n := 0
	va := uint64(w.VA)
	if f.Mode.Long() {
		fs[n] = field{name: "sign", hi: 63, lo: int(f.VABits), level: 0, value: va >> f.VABits, sign: true}
		n++
	}
	offLo := 0
	end := f.N
	if w.PageShift > x86.PageShift && w.N > 0 && w.Steps[w.N-1].Big {
		end = w.N
	}
	for i := 0; i < end; i++ {
		lv := &f.Levels[i]
		fs[n] = field{name: lv.Kind.String(), hi: int(lv.Shift) + int(lv.IndexBits) - 1, lo: int(lv.Shift), level: int(lv.Kind), value: lv.Index(w.VA)}
		n++
		offLo = int(lv.Shift)
	}
	_ = offLo
	offBits := int(x86.PageShift)
	if end < f.N {
		offBits = int(f.Levels[end-1].Shift)
	}
	name := "offset"
	if offBits > x86.PageShift {
		name = "offset in " + string(appendSize(nil, 1<<offBits)) + " page"
	}
	fs[n] = field{name: name, hi: offBits - 1, lo: 0, level: 0, value: va & (1<<offBits - 1)}
	n++

	total := 0
	for i := 0; i < n; i++ {
		bits := fs[i].hi - fs[i].lo + 1
		if fs[i].sign {
			bits = 4 // the sign extension is drawn narrow
		}
		total += bits
	}
	digitW := Measure(FaceMono, t.small, "0")
	gap := max(2, t.pad/3)
	avail := r.W - (n-1)*gap
	// Binary digits fit when every field can hold its bits.
	binary := true
	for i := 0; i < n; i++ {
		bits := fs[i].hi - fs[i].lo + 1
		if !fs[i].sign && avail*bits/total < bits*digitW+digitW {
			binary = false
		}
	}
	boxH := LineHeight(FaceMono, t.fs) + t.pad/2
	y0 := r.Y
	x := r.X
	for i := 0; i < n; i++ {
		fd := &fs[i]
		bits := fd.hi - fd.lo + 1
		wb := bits
		if fd.sign {
			wb = 4
		}
		fw := avail * wb / total
		if i == n-1 {
			fw = r.Right() - x
		}
		col := LevelColor(fd.level)
		if fd.sign {
			col = ColFaint
		}
		// Name above.
		c.textFit(x, y0, fw, FaceBold, t.small, Shade(col, 0.15), fd.name)
		box := Rect{x, y0 + t.slh, fw, boxH}
		c.l.Fill(box, Tint(col, 0.75))
		c.l.Fill(Rect{box.X, box.Y, box.W, 3}, col)
		c.b = c.b[:0]
		switch {
		case fd.sign:
			c.b = append(c.b, "…"...)
		case binary:
			for k := fd.hi; k >= fd.lo; k-- {
				c.b = append(c.b, '0'+byte(uint64(w.VA)>>uint(k)&1))
			}
		case fd.level == 0:
			c.b = appendHex(c.b, fd.value)
		default:
			c.b = appendUint(c.b, fd.value)
		}
		tw := measureBytes(FaceMono, t.small, c.b)
		if tw <= fw-4 {
			c.textB(x+(fw-tw)/2, box.Y+(boxH-LineHeight(FaceMono, t.small))/2+1, FaceMono, t.small, ColText)
		}
		// Bit range and value below.
		c.b = appendUint(c.b[:0], uint64(fd.hi))
		if fd.hi != fd.lo {
			c.b = append(c.b, "–"...)
			c.b = appendUint(c.b, uint64(fd.lo))
		}
		if !fd.sign && binary {
			c.b = append(c.b, " = "...)
			if fd.level == 0 {
				c.b = appendHex(c.b, fd.value)
			} else {
				c.b = appendUint(c.b, fd.value)
			}
		}
		// A field too narrow for its range (the 2 bits of a PAE PDPT
		// index) shows its top bit rather than a cut "31–3…".
		if measureBytes(FaceRegular, t.small, c.b) > fw {
			c.b = appendUint(c.b[:0], uint64(fd.hi))
		}
		c.textFitB(x, box.Bottom()+1, fw, FaceRegular, t.small, ColDim)
		x += fw + gap
	}
	return 2*t.slh + boxH + 1
}
