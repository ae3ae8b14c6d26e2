package viz

import (
	"slices"
	"strings"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// The hierarchy panel's words and runs, checked without drawing.

func TestHierTitles(t *testing.T) {
	titles := []struct {
		nested, guest, inter bool
		want                 string
	}{
		{false, true, false, "Page tables: the guest's, and the shadow tables the hypervisor builds from them"},
		{true, true, false, "Page tables: the guest's, and the nested tables that map guest-physical memory"},
		{false, true, true, "Page tables: the guest's, the shadow tables built from them, and the hypervisor's own"},
		{false, false, true, "The hypervisor's tables: shadow directories with the mapping entries, and the intermediate context"},
	}
	for _, tc := range titles {
		if got := hierTitle(tc.nested, tc.guest, tc.inter); got != tc.want {
			t.Errorf("title nested=%v guest=%v inter=%v: got %q, want %q", tc.nested, tc.guest, tc.inter, got, tc.want)
		}
	}
	long := mustFormat(t, x86.ModeAMD64, 0)
	pae := mustFormat(t, x86.ModePAE, 0)
	lines := []struct {
		name string
		got  []byte
		want string
	}{
		{"hint with links", appendHierHint(nil, 0x7f5ef3f49000, true),
			"one square = one entry · outlined: the entries 0x7f5ef3f49000 uses · orange line: guest entry ↔ its shadow"},
		{"hint without", appendHierHint(nil, 0x1000, false), "one square = one entry · outlined: the entries 0x1000 uses"},
		{"PML4 column", appendColumnHeading(nil, x86.LevelPML4, &long.Levels[0]), "PML4 · bits 47–39"},
		{"PAE PDPT column", appendColumnHeading(nil, x86.LevelPDPT, &pae.Levels[0]), "PDPT · bits 31–30"},
		{"guest band", appendGuestBandTitle(nil, 0x1000), "Guest page tables (in guest memory) · CR3 → 0x1000"},
		{"shadow band", appendShadowBandTitle(nil, false, true, 0x8000),
			"Shadow page tables (in the pool) · the CPU really uses these · root 0x8000"},
		{"nested band without a root", appendShadowBandTitle(nil, true, false, 0),
			"Nested page tables (in the pool) · guest-physical → host-physical"},
		{"intermediate band", appendInterBandTitle(nil, x86.ModePAE, 0x4000, 0xffc00000),
			"Intermediate context (PAE, the world switch's tables) · root 0x4000 · the hypervisor at 0xffc00000"},
	}
	for _, tc := range lines {
		if string(tc.got) != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, tc.got, tc.want)
		}
	}
}

func TestHierLegendAndColumns(t *testing.T) {
	if got := hierLegend(false, false); len(got) != 10 || !slices.Contains(got, RoleAccessTrap) || !slices.Contains(got, RoleNotSynced) {
		t.Errorf("shadow legend %v: want all ten roles, accessed-bit traps and unsynced entries among them", got)
	}
	if got := hierLegend(true, false); slices.Contains(got, RoleNotSynced) || slices.Contains(got, RoleMapping) {
		t.Errorf("nested legend %v: nested tables have neither unsynced entries nor mappings", got)
	}
	if got := hierLegend(true, true); !slices.Contains(got, RoleMapping) {
		t.Errorf("nested legend with the intermediate band %v: want the mappings", got)
	}
	long := mustFormat(t, x86.ModeAMD64, 0)
	legacy := mustFormat(t, x86.Mode32Bit, 0)
	pae := mustFormat(t, x86.ModePAE, 0)
	kinds := []struct {
		name string
		fs   []*x86.Format
		want []x86.LevelKind
	}{
		{"32-bit guest on PAE", []*x86.Format{legacy, pae}, []x86.LevelKind{x86.LevelPDPT, x86.LevelPD, x86.LevelPT}},
		{"no guest band", []*x86.Format{nil, pae, nil}, []x86.LevelKind{x86.LevelPDPT, x86.LevelPD, x86.LevelPT}},
		{"long mode over 32-bit", []*x86.Format{legacy, long}, []x86.LevelKind{x86.LevelPML4, x86.LevelPDPT, x86.LevelPD, x86.LevelPT}},
	}
	for _, tc := range kinds {
		scratch := []x86.LevelKind{x86.LevelPML5} // reused, not kept
		if got := unionKinds(scratch, tc.fs...); !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}

// ptCard is a guest page table of format f whose entries are ents
// (index: entry) with the roles classify would give them.
func ptCard(f *x86.Format, ents map[int]uint64, sel int) (*hierData, *card) {
	h := &hierData{hier: HierGuest, format: f}
	lv := &f.Levels[f.N-1]
	cd := &card{depth: f.N - 1, level: lv, addr: 0x4000, n: lv.Entries(), sel: sel, parent: -1}
	cd.ents = make([]uint64, cd.n)
	cd.roles = make([]Role, cd.n)
	for i := range cd.roles {
		cd.roles[i] = RoleEmpty
	}
	for i, e := range ents {
		cd.ents[i] = e
		cd.present++
		cd.roles[i] = RolePageRO
		if x86.Entry(e).Writable() {
			cd.roles[i] = RolePage
		}
	}
	return h, cd
}

func TestCardRuns(t *testing.T) {
	long := mustFormat(t, x86.ModeAMD64, 0)
	ents := map[int]uint64{0x20: 0x30000 | leafP&^uint64(x86.RW), 0x30: 0x40000 | leafP, 0x31: 0x60000 | leafP,
		0x40: 0x70000 | leafP | uint64(x86.Entry(2)<<x86.KeyShift)}
	for i := 0x10; i < 0x20; i++ {
		ents[i] = uint64(0x10000+(i-0x10)*0x1000) | leafP
	}
	h, cd := ptCard(long, ents, 0x31)
	runs, sel := cardRuns(nil, h, cd)
	want := [][2]int{{0x10, 0x20}, {0x20, 0x21}, {0x30, 0x31}, {0x31, 0x32}, {0x40, 0x41}}
	if !slices.Equal(runs, want) || sel != 3 {
		t.Fatalf("runs %x, selected %d; want %x, 3 (a run ends where the frames stop advancing, the flags or the key change)", runs, sel, want)
	}
	lines := []struct {
		name        string
		run         [2]int
		size, flags bool
		want        string
	}{
		{"a run of 16 pages", runs[0], true, true, "010-01f   64K  PWUAD--- → 0x10000"},
		{"without the size", runs[0], false, true, "010-01f  PWUAD--- → 0x10000"},
		{"without the flags", runs[0], true, false, "010-01f   64K  → 0x10000"},
		{"one read-only page", runs[1], true, true, "020        4K  P-UAD--- → 0x30000"},
		{"a key stays when the flags go", runs[4], true, false, "040        4K  K2 → 0x70000"},
	}
	for _, tc := range lines {
		if got := string(appendRun(nil, h, cd, tc.run[0], tc.run[1], cd.roles[tc.run[0]], "", tc.size, tc.flags)); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}

	// Shadow directories: mapping entries name the mapping; a run of
	// entries that are not present says why. A single index is padded to
	// the width of a range, so that the columns line up.
	sh := &hierData{hier: HierShadow, format: long}
	pd := &card{depth: 2, level: &long.Levels[2], n: 16, sel: -1, ents: make([]uint64, 16), roles: make([]Role, 16)}
	for i := range pd.roles {
		pd.roles[i] = RoleEmpty
	}
	pd.ents[1], pd.roles[1] = 0x9000|tabP|uint64(mappingBit), RoleMapping
	pd.ents[2], pd.roles[2] = 0, RoleNotSynced
	pd.ents[3], pd.roles[3] = 0, RoleNotSynced
	if got, want := string(appendRun(nil, sh, pd, 1, 2, RoleMapping, "switcher", true, true)), "1      2M  PWUA---- → mapping switcher"; got != want {
		t.Errorf("mapping: got %q, want %q", got, want)
	}
	if got, want := string(appendRun(nil, sh, pd, 1, 2, RoleMapping, "", false, false)), "1    → hypervisor"; got != want {
		t.Errorf("unnamed mapping: got %q, want %q", got, want)
	}
	if got, want := string(appendRun(nil, sh, pd, 2, 4, RoleNotSynced, "", true, true)), "2-3    4M  "+RoleNotSynced.String(); got != want {
		t.Errorf("not synced: got %q, want %q", got, want)
	}
}

func TestRunWindow(t *testing.T) {
	tests := []struct {
		name          string
		n, sel, room  int
		first, shown  int
		earlier, more int // lines standing for the runs left out
	}{
		{"all fit", 5, 3, 8, 0, 5, 0, 0},
		{"first ones and a more line", 20, 2, 8, 0, 7, 0, 13},
		{"no selection", 20, -1, 8, 0, 7, 0, 13},
		{"selected in the middle", 20, 12, 8, 9, 6, 9, 5},
		{"selected at the end", 20, 19, 8, 13, 7, 13, 0},
		{"too little room to move", 20, 12, 2, 0, 1, 0, 19},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			first, shown := runWindow(tc.n, tc.sel, tc.room)
			if first != tc.first || shown != tc.shown {
				t.Fatalf("window: first %d, shown %d; want %d, %d", first, shown, tc.first, tc.shown)
			}
			more := max(tc.n-first-shown, 0)
			if first != tc.earlier || more != tc.more {
				t.Errorf("left out: %d earlier, %d more; want %d, %d", first, more, tc.earlier, tc.more)
			}
			lines := shown
			if first > 0 {
				lines++
			}
			if more > 0 {
				lines++
			}
			if lines > tc.room {
				t.Errorf("%d lines for room for %d", lines, tc.room)
			}
			if tc.sel >= 0 && tc.room >= 3 && (tc.sel < first || tc.sel >= first+shown) {
				t.Errorf("the selected run %d is not in [%d, %d)", tc.sel, first, first+shown)
			}
		})
	}
	if got, want := string(appendMoreRuns(nil, 12, " more runs")), "… 12 more runs"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestCardHeaderWords(t *testing.T) {
	pae := mustFormat(t, x86.ModePAE, 0)
	long := mustFormat(t, x86.ModeAMD64, 0)
	pt := &card{level: &long.Levels[3], addr: 0x201000, n: 512, present: 3}
	regs := &card{level: &pae.Levels[0], addr: 0x3000, n: 4, present: 4}
	hole := &card{level: &long.Levels[3], addr: 0xfee00000, n: 512, mmio: true}
	tests := []struct {
		name string
		got  []byte
		want string
	}{
		{"address", appendCardAddr(nil, HierGuest, pt), "0x201000"},
		{"PDPTE registers", appendCardAddr(nil, HierGuest, regs), "PDPTE registers"},
		{"a shadow PDPT is in memory", appendCardAddr(nil, HierShadow, regs), "0x3000"},
		{"count", appendCardCount(nil, pt), "· 3/512"},
		{"no RAM", appendCardCount(nil, hole), "· no RAM behind it"},
		{"pool kind", appendCardKind(nil, HierShadow, engine.KindPAEPDFor32PD), "· PAE_PD_FOR_32BIT_PD"},
		{"no kind for the guest", appendCardKind(nil, HierGuest, engine.KindPAEPDFor32PD), ""},
		{"no kind unknown", appendCardKind(nil, HierNested, engine.KindInvalid), ""},
	}
	for _, tc := range tests {
		if string(tc.got) != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, tc.got, tc.want)
		}
	}
}

func TestBreakLine(t *testing.T) {
	const s = "the hypervisor still runs the guest on tables of its own"
	w := Measure(FaceRegular, 12, "the hypervisor still")
	tests := []struct {
		name, s    string
		w          int
		line, rest string
	}{
		{"words that fit", s, w, "the hypervisor still", "runs the guest on tables of its own"},
		{"one pixel short", s, w - 1, "the hypervisor", "still runs the guest on tables of its own"},
		{"a word wider than the line", "supercalifragilistic word", 10, "supercalifragilistic", "word"},
		{"the last line", "its own", w, "its own", ""},
		{"spaces between words go", "one   two", Measure(FaceRegular, 12, "one"), "one", "two"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			line, rest := breakLine(FaceRegular, 12, tc.w, tc.s)
			if line != tc.line || rest != tc.rest {
				t.Errorf("got %q + %q, want %q + %q", line, rest, tc.line, tc.rest)
			}
		})
	}
	// A paragraph's lines put back together are its words.
	var lines []string
	for rest := s; rest != ""; {
		var line string
		line, rest = breakLine(FaceRegular, 12, w, rest)
		if Measure(FaceRegular, 12, line) > w && strings.Contains(line, " ") {
			t.Errorf("line %q is wider than %d", line, w)
		}
		lines = append(lines, line)
	}
	if got := strings.Join(lines, " "); got != s {
		t.Errorf("lines %q do not make the paragraph", lines)
	}
}
