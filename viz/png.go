package viz

import (
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"sync"
	"unicode/utf8"

	"golang.org/x/image/font"
	"golang.org/x/image/math/fixed"
)

// Renderer plays display lists into RGBA images with image/draw. It
// caches glyph masks by (face, size, rune): rasterising a glyph costs
// microseconds, drawing a cached one a few hundred nanoseconds. A
// Renderer is not safe for concurrent use; RenderPNG shares one behind a
// lock. Output is deterministic: the same list gives the same pixels.
type Renderer struct {
	faces  [faceCount][MaxTextSize + 1]font.Face
	glyphs map[glyphKey]*glyph
	uni    image.Uniform
}

type glyphKey struct {
	face Face
	size uint8
	ch   rune
}

// glyph is a rasterised glyph: its coverage mask and where the mask's
// top-left corner sits relative to the pen on the baseline.
type glyph struct {
	mask   *image.Alpha
	dx, dy int
	adv    int
}

// NewRenderer returns a renderer with an empty glyph cache.
func NewRenderer() *Renderer {
	return &Renderer{glyphs: map[glyphKey]*glyph{}}
}

func (rd *Renderer) glyph(f Face, size int, r rune) *glyph {
	k := glyphKey{f, uint8(size), r}
	if g, ok := rd.glyphs[k]; ok {
		return g
	}
	face := rd.faces[f][size]
	if face == nil {
		face = newFace(f, size)
		rd.faces[f][size] = face
	}
	dr, mask, mp, adv, ok := face.Glyph(fixed.Point26_6{}, r)
	if !ok {
		dr, mask, mp, adv, _ = face.Glyph(fixed.Point26_6{}, '?')
	}
	g := &glyph{dx: dr.Min.X, dy: dr.Min.Y, adv: adv.Round()}
	if mask != nil && !dr.Empty() {
		// The face reuses its mask buffer: keep a copy.
		a := image.NewAlpha(image.Rect(0, 0, dr.Dx(), dr.Dy()))
		draw.Draw(a, a.Rect, mask, mp, draw.Src)
		g.mask = a
	}
	rd.glyphs[k] = g
	return g
}

// Render draws every primitive of l into dst, in order, clipped to dst.
func (rd *Renderer) Render(dst *image.RGBA, l *List) {
	for i := range l.Prims {
		p := &l.Prims[i]
		switch p.Op {
		case OpFill:
			rd.fill(dst, image.Rect(int(p.X), int(p.Y), int(p.X+p.W), int(p.Y+p.H)), p.Color)
		case OpStroke:
			x0, y0, x1, y1, w := int(p.X), int(p.Y), int(p.X+p.W), int(p.Y+p.H), int(p.Width)
			w = min(w, int(p.W)/2+1, int(p.H)/2+1)
			rd.fill(dst, image.Rect(x0, y0, x1, y0+w), p.Color)
			rd.fill(dst, image.Rect(x0, y1-w, x1, y1), p.Color)
			rd.fill(dst, image.Rect(x0, y0+w, x0+w, y1-w), p.Color)
			rd.fill(dst, image.Rect(x1-w, y0+w, x1, y1-w), p.Color)
		case OpLine:
			rd.line(dst, p)
		case OpText:
			rd.text(dst, p, l.TextOf(p))
		case OpCells:
			rd.cells(dst, int(p.X), int(p.Y), l.CellsOf(p))
		}
	}
}

// fill fills r with c: opaque colours are stored directly (the common
// case, and several times faster than draw.Draw), others blended.
func (rd *Renderer) fill(dst *image.RGBA, r image.Rectangle, c color.RGBA) {
	r = r.Intersect(dst.Rect)
	if r.Empty() || c.A == 0 {
		return
	}
	if c.A != 255 {
		rd.uni.C = c
		draw.Draw(dst, r, &rd.uni, image.Point{}, draw.Over)
		return
	}
	w := r.Dx() * 4
	row := dst.Pix[dst.PixOffset(r.Min.X, r.Min.Y):]
	first := row[:w]
	for i := 0; i < w; i += 4 {
		first[i], first[i+1], first[i+2], first[i+3] = c.R, c.G, c.B, 255
	}
	for y := r.Min.Y + 1; y < r.Max.Y; y++ {
		copy(dst.Pix[dst.PixOffset(r.Min.X, y):][:w], first)
	}
}

func (rd *Renderer) line(dst *image.RGBA, p *Prim) {
	x0, y0, x1, y1, w := int(p.X), int(p.Y), int(p.X+p.W), int(p.Y+p.H), int(p.Width)
	switch {
	case y0 == y1:
		rd.fill(dst, image.Rect(min(x0, x1), y0, max(x0, x1)+1, y0+w), p.Color)
	case x0 == x1:
		rd.fill(dst, image.Rect(x0, min(y0, y1), x0+w, max(y0, y1)+1), p.Color)
	default:
		// Step along the longer axis, stamping a w x w square.
		n := max(abs(x1-x0), abs(y1-y0))
		for i := 0; i <= n; i++ {
			x := x0 + (x1-x0)*i/n
			y := y0 + (y1-y0)*i/n
			rd.fill(dst, image.Rect(x, y, x+w, y+w), p.Color)
		}
	}
}

func (rd *Renderer) text(dst *image.RGBA, p *Prim, s []byte) {
	size := clampSize(int(p.Size))
	f := p.Face
	if f >= faceCount {
		f = FaceRegular
	}
	x, base := int(p.X), int(p.Y)+Ascent(f, size)
	rd.uni.C = p.Color
	for i := 0; i < len(s); {
		r, n := rune(s[i]), 1
		if r >= utf8.RuneSelf {
			r, n = utf8.DecodeRune(s[i:])
		}
		i += n
		g := rd.glyph(f, size, r)
		if g.mask != nil {
			gr := image.Rect(x+g.dx, base+g.dy, x+g.dx+g.mask.Rect.Dx(), base+g.dy+g.mask.Rect.Dy())
			draw.DrawMask(dst, gr, &rd.uni, image.Point{}, g.mask, image.Point{}, draw.Over)
		}
		x += g.adv
	}
}

func (rd *Renderer) cells(dst *image.RGBA, x0, y0 int, c *Cells) {
	pitch := c.Pitch()
	for j := 0; j < c.Rows; j++ {
		y := y0 + j*pitch
		for i := 0; i < c.Cols; i++ {
			k := j*c.Cols + i
			col := c.Pix[k]
			if col.A == 0 {
				continue
			}
			x := x0 + i*pitch
			r := image.Rect(x, y, x+c.Cell, y+c.Cell)
			rd.fill(dst, r, col)
			if m := c.Marks[k]; m != MarkNone && c.Cell >= 5 {
				mc := c.MarkColor
				if mc.A == 0 {
					mc = Alpha(OnColor(col), 200)
				}
				rd.mark(dst, r, m, mc)
			}
		}
	}
}

// mark draws pattern m over the cell r.
func (rd *Renderer) mark(dst *image.RGBA, r image.Rectangle, m Mark, c color.RGBA) {
	s := r.Dx()
	set := func(x, y int) {
		if (image.Point{x, y}).In(dst.Rect) {
			rd.fill(dst, image.Rect(x, y, x+1, y+1), c)
		}
	}
	switch m {
	case MarkHatch:
		period := max(3, s/3)
		for y := 0; y < s; y++ {
			for x := 0; x < s; x++ {
				if (x+y)%period == 0 {
					set(r.Min.X+x, r.Min.Y+y)
				}
			}
		}
	case MarkDot:
		d := max(2, s/3)
		o := (s - d) / 2
		rd.fill(dst, image.Rect(r.Min.X+o, r.Min.Y+o, r.Min.X+o+d, r.Min.Y+o+d), c)
	case MarkCross:
		for i := 1; i < s-1; i++ {
			set(r.Min.X+i, r.Min.Y+i)
			set(r.Min.X+s-1-i, r.Min.Y+i)
		}
	case MarkCorner:
		k := max(2, s/2)
		for y := 0; y < k; y++ {
			rd.fill(dst, image.Rect(r.Min.X, r.Min.Y+y, r.Min.X+k-y, r.Min.Y+y+1), c)
		}
	case MarkRing:
		in := max(1, s/5)
		q := image.Rect(r.Min.X+in, r.Min.Y+in, r.Max.X-in, r.Max.Y-in)
		rd.fill(dst, image.Rect(q.Min.X, q.Min.Y, q.Max.X, q.Min.Y+1), c)
		rd.fill(dst, image.Rect(q.Min.X, q.Max.Y-1, q.Max.X, q.Max.Y), c)
		rd.fill(dst, image.Rect(q.Min.X, q.Min.Y, q.Min.X+1, q.Max.Y), c)
		rd.fill(dst, image.Rect(q.Max.X-1, q.Min.Y, q.Max.X, q.Max.Y), c)
	case MarkBar:
		h := max(1, s/4)
		rd.fill(dst, image.Rect(r.Min.X, r.Max.Y-h, r.Max.X, r.Max.Y), c)
	}
}

var shared struct {
	sync.Mutex
	r *Renderer
}

// Rasterize draws l into a new width x height image over an opaque white
// background, with a shared renderer (and its glyph cache).
func Rasterize(l *List, width, height int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, width, height))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	shared.Lock()
	defer shared.Unlock()
	if shared.r == nil {
		shared.r = NewRenderer()
	}
	shared.r.Render(img, l)
	return img
}

// RenderPNG draws l into a width x height picture and writes it to w as
// PNG.
func RenderPNG(w io.Writer, l *List, width, height int) error {
	return png.Encode(w, Rasterize(l, width, height))
}
