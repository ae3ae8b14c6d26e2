package viz

import (
	"image/color"
	"strings"
)

// paragraph writes s wrapped at spaces inside r and returns the height
// used. A word longer than a line is cut with an ellipsis.
func (c *ctx) paragraph(r Rect, f Face, size int, col color.RGBA, s string) int {
	lh := LineHeight(f, size) + max(2, size/4)
	y := r.Y
	for s != "" && y+LineHeight(f, size) <= r.Bottom() {
		end := 0
		for i := 0; i <= len(s); i++ {
			if i == len(s) || s[i] == ' ' {
				if Measure(f, size, s[:i]) > r.W {
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
		c.textFit(r.X, y, r.W, f, size, col, s[:end])
		s = strings.TrimLeft(s[end:], " ")
		y += lh
	}
	return y - r.Y
}
