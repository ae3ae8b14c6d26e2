package viz

import "github.com/pgm-explorer/pgm-explorer/engine/x86"

// The address cut into its index fields, as the walk inspector's top
// row draws it: addressFields says what the fields are and the append
// functions what they read, bitFields places them.

// addrField is one field of an address: the sign extension of a
// long-mode address, a level's index or the page offset.
type addrField struct {
	name   string // "sign", the level ("PML4"), "offset" or "offset in 2M page"
	hi, lo int    // bit range, inclusive
	level  int    // the level's kind, for its colour; 0 for sign and offset
	value  uint64 // the bits hi..lo of the address, shifted down
	sign   bool   // the sign extension, drawn narrow and without digits
}

// addressFields cuts the address of walk w into fs, top level first,
// the page offset last, and returns how many it used. A walk ending in
// a big page merges the fields below it into the offset.
func addressFields(fs *[8]addrField, f *x86.Format, w *x86.Walk) int {
	n := 0
	va := uint64(w.VA)
	if f.Mode.Long() {
		fs[n] = addrField{name: "sign", hi: 63, lo: int(f.VABits), level: 0, value: va >> f.VABits, sign: true}
		n++
	}
	end := f.N
	if w.PageShift > x86.PageShift && w.N > 0 && w.Steps[w.N-1].Big {
		end = w.N
	}
	for i := 0; i < end; i++ {
		lv := &f.Levels[i]
		fs[n] = addrField{name: lv.Kind.String(), hi: int(lv.Shift) + int(lv.IndexBits) - 1, lo: int(lv.Shift), level: int(lv.Kind), value: lv.Index(w.VA)}
		n++
	}
	offBits := int(x86.PageShift)
	if end < f.N {
		offBits = int(f.Levels[end-1].Shift)
	}
	name := "offset"
	if offBits > x86.PageShift {
		name = "offset in " + string(appendSize(nil, 1<<offBits)) + " page"
	}
	fs[n] = addrField{name: name, hi: offBits - 1, lo: 0, level: 0, value: va & (1<<offBits - 1)}
	return n + 1
}

// width is how many bits' room the field takes: the sign extension is
// drawn narrow.
func (fd *addrField) width() int {
	if fd.sign {
		return 4
	}
	return fd.hi - fd.lo + 1
}

// appendFieldDigits writes what the field's box shows: its bits of va
// in binary when binary, else its value (an offset in hexadecimal, an
// index in decimal); "…" for the sign extension.
func appendFieldDigits(b []byte, fd *addrField, va uint64, binary bool) []byte {
	switch {
	case fd.sign:
		return append(b, "…"...)
	case binary:
		for k := fd.hi; k >= fd.lo; k-- {
			b = append(b, '0'+byte(va>>uint(k)&1))
		}
		return b
	case fd.level == 0:
		return appendHex(b, fd.value)
	}
	return appendUint(b, fd.value)
}

// appendFieldRange writes what goes under the field's box: its bit range
// ("47–39") and, when the box shows binary digits, the value they make.
func appendFieldRange(b []byte, fd *addrField, binary bool) []byte {
	b = appendUint(b, uint64(fd.hi))
	if fd.hi != fd.lo {
		b = append(b, "–"...)
		b = appendUint(b, uint64(fd.lo))
	}
	if !fd.sign && binary {
		b = append(b, " = "...)
		if fd.level == 0 {
			b = appendHex(b, fd.value)
		} else {
			b = appendUint(b, fd.value)
		}
	}
	return b
}

// bitFields draws the address of walk w as coloured fields, each named
// above its box and its bit range below. It returns the height used.
func (c *ctx) bitFields(r Rect, f *x86.Format, w *x86.Walk) int {
	t := c.t
	var fs [8]addrField
	n := addressFields(&fs, f, w)
	total := 0
	for i := 0; i < n; i++ {
		total += fs[i].width()
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
		fw := avail * fd.width() / total
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
		c.b = appendFieldDigits(c.b[:0], fd, uint64(w.VA), binary)
		tw := measureBytes(FaceMono, t.small, c.b)
		if tw <= fw-4 {
			c.textB(x+(fw-tw)/2, box.Y+(boxH-LineHeight(FaceMono, t.small))/2+1, FaceMono, t.small, ColText)
		}
		// Bit range and value below.
		c.b = appendFieldRange(c.b[:0], fd, binary)
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
