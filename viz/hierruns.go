package viz

import "github.com/pgm-explorer/pgm-explorer/engine/x86"

// The run lines under a path's table in big views: present entries
// merged into runs, as Linux's page-table dump prints them. cardRuns,
// runWindow and appendRun decide what the lines say; runLines and
// runLine place them.

// cardRuns appends to dst a card's runs of entries that are not empty,
// each [first, end): adjacent entries of the same role, flags and
// protection key whose targets advance by what one entry covers. selRun
// is the run holding the card's selected entry, or -1.
func cardRuns(dst [][2]int, h *hierData, cd *card) (runs [][2]int, selRun int) {
	runs, selRun = dst, -1
	lv := cd.level
	for k := 0; k < cd.n; {
		e := x86.Entry(cd.ents[k])
		role := cd.roles[k]
		if role == RoleEmpty {
			k++
			continue
		}
		j := k + 1
		for j < cd.n {
			f := x86.Entry(cd.ents[j])
			if cd.roles[j] != role || (f^e)&0xfff != 0 || (f^e)&x86.Entry(x86.NX) != 0 || f.Key() != e.Key() {
				break
			}
			if e.Present() && role != RoleTable && role != RoleStale && role != RoleMapping && uint64(f)&lv.FrameMask != uint64(e)&lv.FrameMask+uint64(j-k)*stepOf(h, cd, e) {
				break
			}
			j++
		}
		if cd.sel >= k && cd.sel < j {
			selRun = len(runs)
		}
		runs = append(runs, [2]int{k, j})
		k = j
	}
	return runs, selRun
}

// runWindow chooses which of n runs get a line when room lines are
// available: all when they fit; else the first room-1 and a "more"
// line; else, for a selected run (selRun) beyond those, an "earlier"
// line, the runs up to and around it, and a "more" line if any are
// left. Runs first..first+shown-1 are shown.
func runWindow(n, selRun, room int) (first, shown int) {
	first, shown = 0, n
	if n > room {
		shown = room - 1
		if selRun >= shown && room >= 3 {
			shown = room - 1 // below the "earlier" line
			first = min(selRun-shown/2, n-shown)
			if first+shown < n {
				shown = room - 2 // and above the "more" line
				first = min(selRun-shown/2, n-shown)
			}
		}
	}
	return first, shown
}

// appendMoreRuns writes the line that stands for n runs left out:
// "… 3 earlier runs", "… 12 more runs".
func appendMoreRuns(b []byte, n int, what string) []byte {
	b = append(b, "… "...)
	b = appendUint(b, uint64(n))
	return append(b, what...)
}

// runLines lists a card's present entries as merged runs in r, at most
// max lines, in the window runWindow chooses.
func (c *ctx) runLines(h *hierData, cd *card, r Rect, max int) {
	t := c.t
	runs, selRun := cardRuns(c.sc.hierarchy.runs[:0], h, cd)
	c.sc.hierarchy.runs = runs
	first, shown := runWindow(len(runs), selRun, max)
	y := r.Y
	more := func(n int, what string) {
		c.b = appendMoreRuns(c.b[:0], n, what)
		c.textFitB(r.X, y, r.W, FaceRegular, t.small, ColDim)
		y += t.slh
	}
	if first > 0 {
		more(first, " earlier runs")
	}
	for i := first; i < first+shown && i < len(runs); i++ {
		k, j := runs[i][0], runs[i][1]
		c.runLine(h, cd, k, j, cd.roles[k], r.X, y, r.W)
		y += t.slh
	}
	if rest := len(runs) - first - shown; rest > 0 {
		more(rest, " more runs")
	}
}

// stepOf is how far a leaf's frame advances from one entry to the next.
func stepOf(h *hierData, cd *card, e x86.Entry) uint64 {
	if h.hier == HierGuest && cd.level.Big(e) {
		return cd.level.Covers()
	}
	if cd.depth == h.format.N-1 {
		return x86.PageSize
	}
	return 0
}

// runLine writes one run after a cell of its role's colour. In a narrow
// column the size goes first, then the flags, so that the range and the
// target stay readable.
func (c *ctx) runLine(h *hierData, cd *card, k, j int, role Role, x, y, w int) {
	t := c.t
	st := role.Style()
	s := LineHeight(FaceMono, t.small) - 2
	cell := c.l.NewCells(x, y+1, 1, 1, s, 0)
	cell.Pix[0], cell.Marks[0] = st.Color, st.Mark
	x += s + t.small/2
	w -= s + t.small/2
	mapping := ""
	if role == RoleMapping {
		mapping = c.mappingName(h.entryVA(cd, k))
	}
	for drop := 0; drop < 3; drop++ {
		c.b = appendRun(c.b[:0], h, cd, k, j, role, mapping, drop < 1, drop < 2)
		if drop == 2 || measureBytes(FaceMono, t.small, c.b) <= w {
			break
		}
	}
	col := ColText
	if !x86.Entry(cd.ents[k]).Present() {
		col = ColDim
	}
	c.textFitB(x, y, w, FaceMono, t.small, col)
}

// appendRun writes run [k, j) of a card: "010-01f   128K  PWUAD--- → 0x10000",
// the range in hex, then when size the memory it covers, when flags the
// entry's flags, the protection key of an IA-32e leaf when not 0, and
// the target; a run of the hypervisor's mapping entries names the
// mapping (mapping, "" when it has no name).
func appendRun(b []byte, h *hierData, cd *card, k, j int, role Role, mapping string, size, flags bool) []byte {
	e := x86.Entry(cd.ents[k])
	digits := 3
	if cd.n <= 16 {
		digits = 1
	}
	b = appendPadHex(b, uint64(k), digits)
	if j-k > 1 {
		b = append(b, '-')
		b = appendPadHex(b, uint64(j-1), digits)
	} else {
		b = append(b, "    "[:digits+1]...)
	}
	b = append(b, ' ')
	if size {
		sz := appendSize(nil, uint64(j-k)*cd.level.Covers())
		for i := len(sz); i < 5; i++ {
			b = append(b, ' ')
		}
		b = append(b, sz...)
		b = append(b, ' ')
	}
	b = append(b, ' ')
	if !e.Present() {
		return append(b, role.String()...)
	}
	if flags {
		b = appendFlags(b, e)
		b = append(b, ' ')
	}
	// The protection key of an IA-32e leaf (bits 62:59), when not 0:
	// kept when the flags are left out, since the flags do not say it.
	if h.format.Mode.Long() && e.Key() != 0 && (cd.depth == h.format.N-1 || cd.level.Big(e)) {
		b = append(b, 'K')
		b = appendUint(b, uint64(e.Key()))
		b = append(b, ' ')
	}
	b = append(b, "→ "...)
	switch {
	case role == RoleMapping:
		if mapping != "" {
			b = append(b, "mapping "...)
			b = append(b, mapping...)
		} else {
			b = append(b, "hypervisor"...)
		}
	case cd.level.Register && h.hier == HierGuest:
		b = appendHex(b, uint64(e)&cd.level.FrameMask)
	case h.hier == HierGuest && cd.level.Big(e):
		b = appendHex(b, uint64(cd.level.PageBase(e)))
	default:
		b = appendHex(b, uint64(e)&cd.level.FrameMask)
	}
	return b
}

// appendPadHex writes v in exactly digits hex digits, without 0x.
func appendPadHex(b []byte, v uint64, digits int) []byte {
	for i := digits - 1; i >= 0; i-- {
		b = append(b, "0123456789abcdef"[v>>(4*uint(i))&15])
	}
	return b
}
