package viz

import (
	"image/color"
	"strings"
)

// Paragraphs: text wrapped at spaces to a width. breakLine decides
// where a line ends; paragraph places the lines.

// breakLine cuts the first line off s for a width of w pixels in face f
// at size: as many words as fit, or the first word alone when even it
// does not (the drawing cuts it with an ellipsis). rest starts at the
// next word.
func breakLine(f Face, size, w int, s string) (line, rest string) {
	end := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ' ' {
			if Measure(f, size, s[:i]) > w {
				break
			}
			end = i
		}
	}
	if end == 0 {
		end = strings.IndexByte(s, ' ')
		if end < 0 {
			end = len(s)
		}
	}
	return s[:end], strings.TrimLeft(s[end:], " ")
}

// paragraph writes s wrapped at spaces inside r and returns the height
// used. A word longer than a line is cut with an ellipsis.
func (c *ctx) paragraph(r Rect, f Face, size int, col color.RGBA, s string) int {
	lh := LineHeight(f, size) + max(2, size/4)
	y := r.Y
	for s != "" && y+LineHeight(f, size) <= r.Bottom() {
		var line string
		line, s = breakLine(f, size, r.W, s)
		c.textFit(r.X, y, r.W, f, size, col, line)
		y += lh
	}
	return y - r.Y
}
