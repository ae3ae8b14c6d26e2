package viz

import (
	"image/color"
)

// Rect is an axis-aligned rectangle in frame pixels: X, Y is the top-left
// corner, W and H the size. A rectangle with W or H <= 0 is empty.
type Rect struct{ X, Y, W, H int }

// R builds a Rect.
func R(x, y, w, h int) Rect { return Rect{x, y, w, h} }

// Empty reports whether r covers no pixel.
func (r Rect) Empty() bool { return r.W <= 0 || r.H <= 0 }

// Right and Bottom are the first column and row past r.
func (r Rect) Right() int  { return r.X + r.W }
func (r Rect) Bottom() int { return r.Y + r.H }

// Contains reports whether the pixel (x, y) lies in r.
func (r Rect) Contains(x, y int) bool { return x >= r.X && y >= r.Y && x < r.X+r.W && y < r.Y+r.H }

// In reports whether r lies entirely inside o (an empty r is inside anything).
func (r Rect) In(o Rect) bool {
	return r.Empty() || r.X >= o.X && r.Y >= o.Y && r.Right() <= o.Right() && r.Bottom() <= o.Bottom()
}

// Overlaps reports whether r and o share a pixel.
func (r Rect) Overlaps(o Rect) bool {
	return !r.Empty() && !o.Empty() && r.X < o.Right() && o.X < r.Right() && r.Y < o.Bottom() && o.Y < r.Bottom()
}

// Inset shrinks r by d on every side.
func (r Rect) Inset(d int) Rect { return Rect{r.X + d, r.Y + d, max(r.W-2*d, 0), max(r.H-2*d, 0)} }

// CutTop splits r into its top h rows and the rest (below a gap of g).
func (r Rect) CutTop(h, g int) (top, rest Rect) {
	h = min(max(h, 0), r.H)
	return Rect{r.X, r.Y, r.W, h}, Rect{r.X, r.Y + h + g, r.W, max(r.H-h-g, 0)}
}

// CutLeft splits r into its left w columns and the rest (after a gap of g).
func (r Rect) CutLeft(w, g int) (left, rest Rect) {
	w = min(max(w, 0), r.W)
	return Rect{r.X, r.Y, w, r.H}, Rect{r.X + w + g, r.Y, max(r.W-w-g, 0), r.H}
}

// CutBottom splits r into the rest and its bottom h rows (after a gap of g).
func (r Rect) CutBottom(h, g int) (rest, bottom Rect) {
	h = min(max(h, 0), r.H)
	return Rect{r.X, r.Y, r.W, max(r.H-h-g, 0)}, Rect{r.X, r.Bottom() - h, r.W, h}
}

// Op is what a primitive draws.
type Op uint8

const (
	// OpFill fills the rectangle X, Y, W, H with Color (alpha blended).
	OpFill Op = iota + 1
	// OpStroke draws the outline of the rectangle, Width pixels thick,
	// inside the rectangle.
	OpStroke
	// OpLine draws a line Width pixels thick from (X, Y) to (X+W, Y+H).
	// Horizontal and vertical lines cover [X, X+W] x [Y, Y+Width) and
	// [X, X+Width) x [Y, Y+H] exactly; others are approximated.
	OpLine
	// OpText draws text whose line box has its top-left corner at X, Y:
	// the baseline is Y + Ascent(Face, Size). W and H are the measured
	// box (advance width, ascent + descent), for bounds checks.
	OpText
	// OpCells draws a block of cells (see Cells) with its top-left corner
	// at X, Y; W and H are the block's size in pixels.
	OpCells
)

var opNames = [...]string{"?", "fill", "stroke", "line", "text", "cells"}

func (o Op) String() string {
	if int(o) < len(opNames) {
		return opNames[o]
	}
	return "op?"
}

// Face is a typeface of the Go font family. Both renderers use the same
// fonts, so a layout measured here fits in either.
type Face uint8

const (
	FaceRegular Face = iota // Go Regular: prose and labels
	FaceMono                // Go Mono: addresses, hex and bit fields
	FaceBold                // Go Bold: titles
	faceCount
)

// Prim is one primitive of a display list. Colours are premultiplied
// (color.RGBA); an alpha below 255 blends over what is underneath.
type Prim struct {
	Op    Op
	Face  Face  // OpText
	Size  uint8 // OpText: pixel size of the font (the em square)
	Width uint8 // OpStroke, OpLine: thickness in pixels
	Panel uint8 // index in List.Panels of the panel that drew it
	X, Y  int32
	W, H  int32
	Color color.RGBA
	a, b  int32 // OpText: bytes [a, b) of the text arena; OpCells: a is the block index
}

// Rect is the primitive's bounding box (for a line, the box of its ends).
func (p *Prim) Rect() Rect {
	if p.Op == OpLine {
		x0, x1 := int(p.X), int(p.X+p.W)
		y0, y1 := int(p.Y), int(p.Y+p.H)
		w := int(p.Width)
		return Rect{min(x0, x1), min(y0, y1), abs(x1-x0) + w, abs(y1-y0) + w}
	}
	return Rect{int(p.X), int(p.Y), int(p.W), int(p.H)}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// Mark is a pattern drawn over a cell, so that a cell's meaning does not
// rest on its colour alone. Patterns are drawn only in cells of at least
// 5 pixels; below that the legend and the letters of larger views carry
// the meaning.
type Mark uint8

const (
	MarkNone   Mark = iota
	MarkHatch       // diagonal stripes
	MarkDot         // a centred dot
	MarkCross       // an X corner to corner
	MarkCorner      // a filled triangle in the top-left corner
	MarkRing        // an inner outline
	MarkBar         // a bar along the bottom edge
)

// Cells is a dense grid drawn as one primitive: each cell is one colour
// (alpha 0: nothing drawn) and an optional mark in MarkColor (alpha 0,
// the default: black or white, whichever reads on the cell). Cell i of
// row j covers [X + i*(Cell+Gap), +Cell) x [Y + j*(Cell+Gap), +Cell).
// Blocks belong to their List and are reused by the next frame.
type Cells struct {
	Cols, Rows int
	Cell, Gap  int
	Pix        []color.RGBA // Cols*Rows colours, row by row
	Marks      []Mark       // Cols*Rows marks
	MarkColor  color.RGBA
}

// DenseCells is the number of cells above which a block is dense: a
// GPU renderer should draw it into an image (one pixel block per cell)
// and draw that image as one quad, rather than a quad per cell. The
// memory map and the pool of a big guest hold tens of thousands of
// cells; as quads they would blow the frame's budget.
const DenseCells = 256

// Dense reports whether the block should be drawn as one image.
func (c *Cells) Dense() bool { return c.Cols*c.Rows > DenseCells }

// Pitch is the distance between the starts of neighbouring cells.
func (c *Cells) Pitch() int { return c.Cell + c.Gap }

// Size is the block's size in pixels.
func (c *Cells) Size() (w, h int) {
	p := c.Pitch()
	return max(c.Cols*p-c.Gap, 0), max(c.Rows*p-c.Gap, 0)
}

// Panel is a named part of the frame: every primitive belongs to one and
// lies inside its rectangle.
type Panel struct {
	Name string
	R    Rect
}

// List is a display list: the primitives of one frame in drawing order,
// their text and cell blocks, the panels and the hit regions. Reset it
// and build the next frame into the same List: its slices keep their
// capacity, so a steady frame allocates nothing.
type List struct {
	Width, Height int
	Prims         []Prim
	Panels        []Panel
	Regions       []Region

	text  []byte
	cells []*Cells
	nCell int
	panel uint8
}

// Reset empties the list for a frame of the given size.
func (l *List) Reset(w, h int) {
	l.Width, l.Height = w, h
	l.Prims = l.Prims[:0]
	l.Panels = l.Panels[:0]
	l.Regions = l.Regions[:0]
	l.text = l.text[:0]
	l.nCell = 0
	l.panel = 0
}

// BeginPanel starts a panel: the primitives and regions added next
// belong to it. It returns the panel's index.
func (l *List) BeginPanel(name string, r Rect) int {
	l.Panels = append(l.Panels, Panel{name, r})
	l.panel = uint8(len(l.Panels) - 1)
	return int(l.panel)
}

// Fill adds a filled rectangle.
func (l *List) Fill(r Rect, c color.RGBA) {
	if r.Empty() || c.A == 0 {
		return
	}
	l.Prims = append(l.Prims, Prim{Op: OpFill, Panel: l.panel, X: int32(r.X), Y: int32(r.Y), W: int32(r.W), H: int32(r.H), Color: c})
}

// Stroke adds the outline of r, width pixels thick, inside r.
func (l *List) Stroke(r Rect, width int, c color.RGBA) {
	if r.Empty() || c.A == 0 || width <= 0 {
		return
	}
	l.Prims = append(l.Prims, Prim{Op: OpStroke, Panel: l.panel, Width: uint8(width), X: int32(r.X), Y: int32(r.Y), W: int32(r.W), H: int32(r.H), Color: c})
}

// Line adds a line from (x0, y0) to (x1, y1).
func (l *List) Line(x0, y0, x1, y1, width int, c color.RGBA) {
	if c.A == 0 || width <= 0 {
		return
	}
	l.Prims = append(l.Prims, Prim{Op: OpLine, Panel: l.panel, Width: uint8(width), X: int32(x0), Y: int32(y0), W: int32(x1 - x0), H: int32(y1 - y0), Color: c})
}

// Text adds s with the top-left of its line box at (x, y) and returns
// its advance width.
func (l *List) Text(x, y int, f Face, size int, c color.RGBA, s string) int {
	a := len(l.text)
	l.text = append(l.text, s...)
	return l.addText(x, y, f, size, c, a)
}

// TextBytes is Text for a byte slice, which it copies: callers format
// into a scratch buffer and allocate nothing.
func (l *List) TextBytes(x, y int, f Face, size int, c color.RGBA, s []byte) int {
	a := len(l.text)
	l.text = append(l.text, s...)
	return l.addText(x, y, f, size, c, a)
}

func (l *List) addText(x, y int, f Face, size int, c color.RGBA, a int) int {
	b := len(l.text)
	if a == b {
		return 0
	}
	w := measureBytes(f, size, l.text[a:b])
	l.Prims = append(l.Prims, Prim{Op: OpText, Panel: l.panel, Face: f, Size: uint8(size), X: int32(x), Y: int32(y),
		W: int32(w), H: int32(LineHeight(f, size)), Color: c, a: int32(a), b: int32(b)})
	return w
}

// TextOf is the text of an OpText primitive. The slice is the list's:
// valid until the next Reset, not to be modified.
func (l *List) TextOf(p *Prim) []byte {
	if p.Op != OpText {
		return nil
	}
	return l.text[p.a:p.b]
}

// NewCells adds a block of cols x rows cells at (x, y) and returns it
// for the caller to colour; every cell starts transparent and unmarked.
func (l *List) NewCells(x, y, cols, rows, cell, gap int) *Cells {
	if l.nCell == len(l.cells) {
		l.cells = append(l.cells, &Cells{})
	}
	c := l.cells[l.nCell]
	n := cols * rows
	if cap(c.Pix) < n {
		c.Pix = make([]color.RGBA, n)
		c.Marks = make([]Mark, n)
	} else {
		c.Pix = c.Pix[:n]
		c.Marks = c.Marks[:n]
		clear(c.Pix)
		clear(c.Marks)
	}
	c.Cols, c.Rows, c.Cell, c.Gap = cols, rows, cell, gap
	c.MarkColor = color.RGBA{}
	w, h := c.Size()
	l.Prims = append(l.Prims, Prim{Op: OpCells, Panel: l.panel, X: int32(x), Y: int32(y), W: int32(w), H: int32(h), a: int32(l.nCell)})
	l.nCell++
	return c
}

// CellsOf is the block of an OpCells primitive.
func (l *List) CellsOf(p *Prim) *Cells {
	if p.Op != OpCells {
		return nil
	}
	return l.cells[p.a]
}

// Quads estimates how many quads a GPU renderer draws for the list: one
// per fill, four per stroke, one per line, one per glyph, one per
// visible cell of a small block and one for a dense block (drawn as an
// image, see Cells.Dense). It is the figure the frame budget (about
// 10,000) is about.
func (l *List) Quads() int {
	n := 0
	for i := range l.Prims {
		p := &l.Prims[i]
		switch p.Op {
		case OpStroke:
			n += 4
		case OpText:
			n += int(p.b - p.a)
		case OpCells:
			if c := l.cells[p.a]; c.Dense() {
				n++
			} else {
				for _, px := range c.Pix {
					if px.A != 0 {
						n++
					}
				}
			}
		default:
			n++
		}
	}
	return n
}
