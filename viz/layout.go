package viz

import (
	"image/color"
	"math"
	"strconv"

	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// theme holds the sizes of one frame in frame pixels. They are chosen
// in CSS pixels and multiplied by the device scale (Model.Scale), so
// that a 2x screen shows the same picture sharper; in CSS pixels, text
// grows with the square root of the frame's size against the smallest,
// so that a large window shows more, not just bigger. Nothing a person
// reads is under 11 CSS pixels.
type theme struct {
	scale       float64
	fs          int // body text, pixels
	small       int // secondary text
	titleSize   int // panel titles
	lh, slh     int // line pitch of body and small text
	pad, gap    int // inside panels, between panels
	thin, thick int // line widths
}

func newTheme(w, h int, dev float64) theme {
	s := math.Min(float64(w)/dev/MinWidth, float64(h)/dev/MinHeight)
	s = math.Max(s, 1)
	px := func(css float64) int { return int(math.Round(css * dev)) }
	t := theme{scale: s * dev}
	fs := math.Round(12 * math.Sqrt(s))
	t.fs = px(fs)
	t.small = px(max(fs-2, MinTextSize))
	t.titleSize = px(fs + 1)
	t.lh = LineHeight(FaceRegular, t.fs) + max(2, t.fs/4)
	t.slh = LineHeight(FaceRegular, t.small) + max(2, t.small/5)
	t.pad = px(math.Round(8 * math.Sqrt(s)))
	t.gap = px(math.Round(6 * math.Sqrt(s)))
	t.thin = max(1, px(1)/2)
	t.thick = max(2, px(math.Round(2*math.Sqrt(s))))
	return t
}

// MinTextSize is the smallest text a person must read, in CSS pixels.
const MinTextSize = 11

// ctx is the state of one Layout call.
type ctx struct {
	m  *Model
	l  *List
	t  theme
	b  []byte // scratch for formatting text
	sc *scratch
}

// scratch is memory Layout reuses from frame to frame.
type scratch struct {
	frame     uint64 // Layout calls so far
	b         []byte
	hierarchy hierScratch
	mem       memScratch
	pool      poolScratch
	peek      peek
	legend    []Role
	deltas    []uint64 // the picked counter's change per timeline bucket
	statRows  []statRow
	regItems  []regItem // the mode bar's register line
	marks     []uint32  // the match strip's count per pixel column
}

// Layout lays out m's frame into l (which it resets): panels by view,
// adapted to m.Width x m.Height. Sizes outside MinWidth x MinHeight ..
// MaxWidth x MaxHeight are clamped: l.Width and l.Height say what was
// laid out. Every primitive lies inside its panel, panels do not
// overlap, and everything lies inside the frame.
func Layout(m *Model, l *List) {
	dev := m.Scale
	if !(dev >= 1) {
		dev = 1
	}
	px := func(css int) int { return int(math.Round(float64(css) * dev)) }
	w := min(max(m.Width, px(MinWidth)), px(MaxWidth))
	h := min(max(m.Height, px(MinPanelHeight)), px(MaxHeight))
	l.Reset(w, h)
	if m.scratch == nil {
		m.scratch = &scratch{}
	}
	m.scratch.frame++
	c := &ctx{m: m, l: l, t: newTheme(w, h, dev), sc: m.scratch}
	c.b = c.sc.b[:0]
	defer func() { c.sc.b = c.b }()

	frame := Rect{0, 0, w, h}
	l.BeginPanel("frame", frame)
	l.Fill(frame, ColBackground)
	if m.Engine == nil {
		c.text(c.t.pad, c.t.pad, FaceRegular, c.t.fs, ColText, "no engine")
		return
	}
	body := frame.Inset(c.t.gap)
	bar, body := body.CutTop(c.modeBarHeight(), c.t.gap)
	c.modeBar(bar)
	g := c.t.gap
	switch m.View {
	case ViewHierarchy:
		body, tl := body.CutBottom(c.timelineHeight(), g)
		c.hierarchyPanel(body, true)
		c.timelinePanel(tl)
	case ViewMemory:
		left, right := body.CutLeft(body.W*58/100, g)
		c.memoryPanel(left)
		top, bottom := right.CutTop(right.H*55/100, g)
		c.poolPanel(top)
		c.statsPanel(bottom)
	case ViewIntermediate:
		body, tl := body.CutBottom(c.timelineHeight(), g)
		left, right := body.CutLeft(body.W*36/100, g)
		if used := c.mappingsPanel(left); left.H-used-g >= 6*c.t.slh {
			_, rest := left.CutTop(used, g)
			c.logPanel(rest)
		}
		c.hierPanel(right, true, []Hier{HierShadow, HierIntermediate})
		c.timelinePanel(tl)
	case ViewWalk:
		body, tl := body.CutBottom(c.timelineHeight(), g)
		left, right := body.CutLeft(body.W*62/100, g)
		c.walkPanel(left, true)
		c.logPanel(right)
		c.timelinePanel(tl)
	default:
		body, tl := body.CutBottom(c.timelineHeight(), g)
		top, bottom := body.CutTop(body.H*60/100, g)
		hier, walk := top.CutLeft(top.W*56/100, g)
		c.hierarchyPanel(hier, false)
		c.walkPanel(walk, false)
		mem, rest := bottom.CutLeft(bottom.W*36/100, g)
		pool, st := rest.CutLeft(rest.W*45/100, g)
		c.memoryPanel(mem)
		c.poolPanel(pool)
		c.statsPanel(st)
		c.timelinePanel(tl)
	}
}

// panel draws a panel's frame and title and returns its content area.
func (c *ctx) panel(name, title string, r Rect) Rect {
	c.l.BeginPanel(name, r)
	c.l.Fill(r, ColPanel)
	c.l.Stroke(r, 1, ColBorder)
	in := r.Inset(c.t.pad)
	if title == "" {
		return in
	}
	c.text(in.X, in.Y, FaceBold, c.t.titleSize, ColText, title)
	_, in = in.CutTop(LineHeight(FaceBold, c.t.titleSize), c.t.pad*3/4)
	return in
}

// text draws s and returns its width.
func (c *ctx) text(x, y int, f Face, size int, col color.RGBA, s string) int {
	return c.l.Text(x, y, f, size, col, s)
}

// textB draws the scratch buffer and returns its width.
func (c *ctx) textB(x, y int, f Face, size int, col color.RGBA) int {
	return c.l.TextBytes(x, y, f, size, col, c.b)
}

// fitB shortens the scratch buffer, ending it with an ellipsis, until it
// is at most w pixels wide. It reports whether anything is left.
//
// A label may be tens of thousands of characters long, and the window
// and the browser fit text on every redraw, so the cut is searched, not
// walked: prefixes of doubling length are measured until one is too
// wide, then the cut is bisected between the last that fitted and that
// one. Widths only grow with the prefix (advances add up, no kerning),
// so the search finds the longest prefix that fits; it measures about
// 2·log2(n) prefixes none much longer than what fits, where trimming one
// character at a time measured n of them.
func (c *ctx) fitB(f Face, size, w int) bool {
	b := c.b
	// Gallop: lo fits (without the ellipsis), hi is too wide or the end.
	lo, hi := 0, len(b)
	for n := 16; ; n *= 2 {
		if n >= len(b) {
			if measureBytes(f, size, b) <= w {
				return true // all of it fits
			}
			break
		}
		n = runeStart(b, n)
		if measureBytes(f, size, b[:n]) > w {
			hi = n
			break
		}
		lo = n
	}
	// Bisect for the longest prefix that fits with the ellipsis; lo
	// fits without it, which says nothing about with it, so start at 0.
	ell := Measure(f, size, "…")
	lo = 0
	best := -1
	for lo <= hi {
		mid := runeStart(b, lo+(hi-lo)/2)
		if measureBytes(f, size, b[:mid])+ell <= w {
			best = mid
			lo = nextRune(b, mid)
			if lo == mid {
				break // at the end
			}
		} else {
			if mid == 0 {
				break
			}
			hi = mid - 1
		}
	}
	if best < 0 {
		c.b = c.b[:0]
		return false
	}
	c.b = append(b[:best], "…"...)
	return true
}

// runeStart moves i back to the start of the UTF-8 sequence it is in.
func runeStart(b []byte, i int) int {
	for i > 0 && i < len(b) && b[i]&0xc0 == 0x80 {
		i--
	}
	return i
}

// nextRune is the start of the sequence after the one at i.
func nextRune(b []byte, i int) int {
	if i >= len(b) {
		return i
	}
	i++
	for i < len(b) && b[i]&0xc0 == 0x80 {
		i++
	}
	return i
}

// textFit draws s cut to at most w pixels; it returns the width drawn.
func (c *ctx) textFit(x, y, w int, f Face, size int, col color.RGBA, s string) int {
	c.b = append(c.b[:0], s...)
	if !c.fitB(f, size, w) {
		return 0
	}
	return c.textB(x, y, f, size, col)
}

// textFitB draws the scratch buffer cut to at most w pixels.
func (c *ctx) textFitB(x, y, w int, f Face, size int, col color.RGBA) int {
	if !c.fitB(f, size, w) {
		return 0
	}
	return c.textB(x, y, f, size, col)
}

// Formatting helpers appending to the scratch buffer.

func appendHex(b []byte, v uint64) []byte {
	b = append(b, "0x"...)
	return strconv.AppendUint(b, v, 16)
}

// appendHexW appends v as 0x followed by exactly digits hex digits.
func appendHexW(b []byte, v uint64, digits int) []byte {
	b = append(b, "0x"...)
	for i := digits - 1; i >= 0; i-- {
		b = append(b, "0123456789abcdef"[v>>(4*uint(i))&15])
	}
	return b
}

func appendUint(b []byte, v uint64) []byte { return strconv.AppendUint(b, v, 10) }

// appendSize appends a byte count as 4K, 2M, 1G, or with one decimal
// when it is not a whole number of the unit (31.7M).
func appendSize(b []byte, n uint64) []byte {
	for _, u := range [...]struct {
		shift uint
		c     byte
	}{{40, 'T'}, {30, 'G'}, {20, 'M'}, {10, 'K'}} {
		if n < 1<<u.shift {
			continue
		}
		whole := n >> u.shift
		if n&(1<<u.shift-1) == 0 {
			return append(strconv.AppendUint(b, whole, 10), u.c)
		}
		tenth := (n - whole<<u.shift) * 10 >> u.shift
		b = strconv.AppendUint(b, whole, 10)
		b = append(b, '.')
		b = strconv.AppendUint(b, tenth, 10)
		return append(b, u.c)
	}
	return strconv.AppendUint(b, n, 10)
}

// appendFlags appends an entry's flag letters (P W U A D S G X), '-'
// for each clear one.
func appendFlags(b []byte, e x86.Entry) []byte {
	for _, f := range entryFlags {
		if e.Has(f.bit) {
			b = append(b, f.c)
		} else {
			b = append(b, '-')
		}
	}
	return b
}

var entryFlags = [...]struct {
	bit  x86.Flag
	c    byte
	role Role
}{
	{x86.P, 'P', RolePresent}, {x86.RW, 'W', RoleWritable}, {x86.US, 'U', RoleUser}, {x86.A, 'A', RoleAccessed},
	{x86.D, 'D', RoleDirty}, {x86.PS, 'S', RoleBig}, {x86.G, 'G', RoleGlobal}, {x86.NX, 'X', RoleNX},
}

// swatch draws a legend entry: a cell in the role's colour (with its
// letter or mark) and its name. It returns the width used.
func (c *ctx) swatch(x, y int, r Role, size int) int {
	st := r.Style()
	h := LineHeight(FaceRegular, size)
	s := h - 2
	cell := c.l.NewCells(x, y+1, 1, 1, s, 0)
	cell.Pix[0] = st.Color
	cell.Marks[0] = st.Mark
	if st.Color == ColEmpty || st.Color == RolePoolUnused.Color() || st.Color == RolePoolFree.Color() {
		c.l.Stroke(Rect{x, y + 1, s, s}, 1, ColBorder)
	}
	w := s + max(3, size/3)
	w += c.text(x+w, y, FaceRegular, size, ColDim, st.Name)
	return w
}

// swatchWidth is the width swatch draws for r.
func swatchWidth(r Role, size int) int {
	return LineHeight(FaceRegular, size) - 2 + max(3, size/3) + Measure(FaceRegular, size, r.String())
}

// legendHeight is the height legend would use in a width w.
func (c *ctx) legendHeight(w, size int, rs ...Role) int {
	x, lines := 0, 1
	for _, role := range rs {
		sw := swatchWidth(role, size)
		if x > 0 && x+sw > w {
			x, lines = 0, lines+1
		}
		x += sw + size
	}
	return lines * (LineHeight(FaceRegular, size) + 3)
}

// legend draws swatches left to right, wrapping, inside r; it returns
// the height used.
func (c *ctx) legend(r Rect, size int, rs ...Role) int {
	x, y := r.X, r.Y
	lh := LineHeight(FaceRegular, size) + 3
	sp := size
	for _, role := range rs {
		w := swatchWidth(role, size)
		if x > r.X && x+w > r.Right() {
			x, y = r.X, y+lh
		}
		if y+lh > r.Bottom()+3 {
			break
		}
		x += c.swatch(x, y, role, size) + sp
	}
	return y + lh - r.Y
}
