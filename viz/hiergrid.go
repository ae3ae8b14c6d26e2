package viz

import "github.com/pgm-explorer/pgm-explorer/engine/x86"

// Card placement. A card is a header line and its grid; grid rows with
// nothing to show (every entry empty, none selected) fold into a strip
// of foldH(pitch) pixels. placeBand puts a band's cards in their
// columns; the rest say where a card's rows and cells fall.

func foldH(pitch int) int { return max(3, pitch/2) }

// gridHeight is the height of cd's grid with cols columns at pitch.
func (cd *card) gridHeight(cols, pitch int) int {
	rows := (cd.n + cols - 1) / cols
	h, folded := 0, false
	for r := 0; r < rows; r++ {
		if cd.rowShown(r, cols) {
			h += pitch
			folded = false
		} else if !folded {
			h += foldH(pitch)
			folded = true
		}
	}
	return h
}

func (cd *card) rowShown(r, cols int) bool {
	if cd.sel >= r*cols && cd.sel < (r+1)*cols {
		return true
	}
	for k := r * cols; k < min((r+1)*cols, cd.n); k++ {
		if cd.roles[k] != RoleEmpty {
			return true
		}
	}
	return false
}

// fit chooses the columns and pitch of cd's grid: the largest pitch (at
// most maxPitch) that fits in w x h, preferring 32 columns.
func (cd *card) fit(w, h, maxPitch int) (cols, pitch int) {
	if cd.n <= 16 {
		p := min((w+1)/cd.n, maxPitch, h)
		return cd.n, max(p, 1)
	}
	bestC, bestP := 32, 0
	for _, cols := range [...]int{32, 16, 64} {
		p := min((w+1)/cols, maxPitch)
		for p > 1 && cd.gridHeight(cols, p) > h {
			p--
		}
		if p > bestP+1 || bestP == 0 {
			bestC, bestP = cols, p
		}
	}
	return bestC, max(bestP, 1)
}

// setGrid fixes cd's grid and computes its rows' offsets.
func (c *ctx) setGrid(h *hierData, cd *card, cols, pitch int) {
	cd.cols, cd.pitch = cols, pitch
	cd.rows = (cd.n + cols - 1) / cols
	cd.gap = 0
	if pitch >= 4 {
		cd.gap = 1
	}
	if cap(h.rowStore)-len(h.rowStore) < cd.rows {
		h.rowStore = make([]int32, 0, max(2*cap(h.rowStore), 1024))
	}
	cd.rowY = h.rowStore[len(h.rowStore) : len(h.rowStore)+cd.rows]
	h.rowStore = h.rowStore[:len(h.rowStore)+cd.rows]
	y, folded := 0, false
	for r := 0; r < cd.rows; r++ {
		if cd.rowShown(r, cols) {
			cd.rowY[r] = int32(y)
			y += pitch
			folded = false
		} else {
			cd.rowY[r] = -1
			if !folded {
				y += foldH(pitch)
				folded = true
			}
		}
	}
	cd.gridH = y
}

// placeBand positions a band's cards: in each column the path's table at
// the top, as large as the column allows, then its run lines (big
// views), then thumbnails at half the pitch while they fit.
func (c *ctx) placeBand(h *hierData, r Rect, colX func(x86.LevelKind) int, colW int, big bool) {
	t := c.t
	h.rowStore = h.rowStore[:0]
	maxPitch := max(2*t.fs, 12)
	hdr := t.slh
	var y [6]int
	for d := range y {
		y[d] = r.Y
	}
	for i := range h.cards {
		cd := &h.cards[i]
		d := cd.depth
		cd.w, cd.runs = 0, 0
		avail := r.Bottom() - y[d] - hdr
		if avail < 4 {
			continue
		}
		mp := maxPitch
		if !cd.path {
			mp = max(maxPitch/2, 6)
			if pc := h.firstPath(d); pc != nil && pc.pitch > 0 {
				mp = max(pc.pitch/2, 3)
			}
		}
		reserve := 0
		if cd.path && big {
			reserve = min(cd.present, 4) * t.slh
		}
		cols, pitch := cd.fit(colW, avail-reserve, mp)
		if cd.gridHeight(cols, pitch) > avail {
			continue
		}
		c.setGrid(h, cd, cols, pitch)
		cd.x, cd.y, cd.w = colX(cd.level.Kind), y[d], colW
		cd.gx, cd.gy = cd.x, cd.y+hdr
		hgt := hdr + cd.gridH
		if cd.path && big {
			left := r.Bottom() - (cd.gy + cd.gridH + t.pad/2)
			cd.runs = min(max(left, 0)/t.slh, 8)
			if cd.runs > 0 {
				hgt += t.pad/2 + cd.runs*t.slh
			}
		}
		cd.h = hgt
		y[d] += hgt + t.pad
	}
}

// firstPath is the path card of a depth, or nil.
func (h *hierData) firstPath(d int) *card {
	for i := range h.cards {
		if h.cards[i].depth == d && h.cards[i].path {
			return &h.cards[i]
		}
	}
	return nil
}

// cellRect is the rectangle of entry i of a placed card (a folded row
// gives an empty rectangle at the fold).
func (cd *card) cellRect(i int) Rect {
	col, row := i%cd.cols, i/cd.cols
	y := cd.rowY[row]
	if y < 0 {
		return Rect{cd.gx + col*cd.pitch, cd.gy, 0, 0}
	}
	return Rect{cd.gx + col*cd.pitch, cd.gy + int(y), cd.pitch - cd.gap, cd.pitch - cd.gap}
}

// foldY is the offset of the fold that starts at row r.
func (cd *card) foldY(r int) int {
	for k := r - 1; k >= 0; k-- {
		if cd.rowY[k] >= 0 {
			return int(cd.rowY[k]) + cd.pitch
		}
	}
	return 0
}
