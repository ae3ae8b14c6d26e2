package viz

import (
	"strings"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// The walk inspector's words, checked without drawing: the functions
// take walks made by the real walker over small tables in a map.

// mapMem is guest memory holding only page-table entries.
type mapMem map[x86.GPA]uint64

func (m mapMem) ReadEntry(a x86.GPA, size int) uint64          { return m[a] }
func (m mapMem) SetEntryBits(a x86.GPA, size int, bits uint64) { m[a] |= bits }

const (
	tabP   = uint64(x86.P | x86.RW | x86.US | x86.A)
	leafP  = tabP | uint64(x86.D)
	va4K   = x86.GVA(0x40201abc) // PML4 0, PDPT 1, PD 1, PT 1, offset 0xabc
	va2M   = x86.GVA(0x40412345) // PD 2 maps a 2M page
	vaNone = x86.GVA(0x40601000) // PD 3 not present
)

// longTables maps va4K to 0x5000 through four levels and va2M by a big
// page at 0x600000; extra entries are ORed into the leaves.
func longTables(leafExtra uint64) mapMem {
	return mapMem{
		0x1000: 0x2000 | tabP,
		0x2008: 0x3000 | tabP,
		0x3008: 0x4000 | tabP,
		0x4008: 0x5000 | leafP | leafExtra,
		0x3010: 0x600000 | leafP | uint64(x86.PS) | leafExtra,
	}
}

func mustFormat(t *testing.T, m x86.Mode, cr4 uint64) *x86.Format {
	t.Helper()
	f, err := x86.NewFormat(m, cr4, 40)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func walkOf(t *testing.T, f *x86.Format, mem mapMem, va x86.GVA, acc x86.Access) *x86.Walk {
	t.Helper()
	var w x86.Walk
	f.Walk(mem, x86.Root{CR3: 0x1000, WP: true}, va, acc, &w)
	return &w
}

func TestAddressFields(t *testing.T) {
	long := mustFormat(t, x86.ModeAMD64, 0)
	legacy := mustFormat(t, x86.Mode32Bit, 0)
	mem := longTables(0)
	read := x86.Access{Kind: x86.Read}
	tests := []struct {
		name   string
		f      *x86.Format
		va     x86.GVA
		binary bool
		want   string // per field: name: digits | range
	}{
		{"4K page, decimal", long, va4K, false,
			"sign: … | 63–48; PML4: 0 | 47–39; PDPT: 1 | 38–30; PD: 1 | 29–21; PT: 1 | 20–12; offset: 0xabc | 11–0"},
		{"4K page, binary", long, va4K, true,
			"sign: … | 63–48; PML4: 000000000 | 47–39 = 0; PDPT: 000000001 | 38–30 = 1; PD: 000000001 | 29–21 = 1; " +
				"PT: 000000001 | 20–12 = 1; offset: 101010111100 | 11–0 = 0xabc"},
		{"a 2M page merges the PT field into the offset", long, va2M, false,
			"sign: … | 63–48; PML4: 0 | 47–39; PDPT: 1 | 38–30; PD: 2 | 29–21; offset in 2M page: 0x12345 | 20–0"},
		{"a fault keeps every level", long, vaNone, false,
			"sign: … | 63–48; PML4: 0 | 47–39; PDPT: 1 | 38–30; PD: 3 | 29–21; PT: 1 | 20–12; offset: 0x0 | 11–0"},
		{"32-bit has no sign field", legacy, 0xc0801234, false,
			"PD: 770 | 31–22; PT: 1 | 21–12; offset: 0x234 | 11–0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := walkOf(t, tc.f, mem, tc.va, read)
			var fs [8]addrField
			n := addressFields(&fs, tc.f, w)
			var got []string
			for i := 0; i < n; i++ {
				b := append([]byte(fs[i].name), ": "...)
				b = appendFieldDigits(b, &fs[i], uint64(w.VA), tc.binary)
				b = append(b, " | "...)
				b = appendFieldRange(b, &fs[i], tc.binary)
				got = append(got, string(b))
			}
			if s := strings.Join(got, "; "); s != tc.want {
				t.Errorf("fields\n got %s\nwant %s", s, tc.want)
			}
		})
	}
}

func TestAccessNote(t *testing.T) {
	tests := []struct {
		name      string
		acc       x86.Access
		hasVA     bool
		asked, va x86.GVA
		want      string
	}{
		{"user write", x86.Access{Kind: x86.Write, User: true}, true, 0x1000, 0x1000, "write, user"},
		{"nothing selected", x86.Access{Kind: x86.Read}, false, 0, 0, "read, supervisor (no access yet)"},
		{"cut to 32 bits", x86.Access{Kind: x86.Fetch}, true, 0x1_0000_2000, 0x2000,
			"fetch, supervisor · 0x100002000 cut to the 32 bits this mode translates"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(appendAccessNote(nil, tc.acc, tc.hasVA, tc.asked, tc.va)); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
	if got, want := string(appendNoPaging(nil, 0xb8000)), "No paging: linear address 0xb8000 is guest-physical address 0xb8000."; got != want {
		t.Errorf("no paging: got %q, want %q", got, want)
	}
}

func TestEntryText(t *testing.T) {
	long := mustFormat(t, x86.ModeAMD64, 0)
	legacy := mustFormat(t, x86.Mode32Bit, x86.CR4PSE)
	pt, pd := &long.Levels[3], &long.Levels[2]
	key3 := x86.Entry(3) << x86.KeyShift
	tests := []struct {
		name            string
		e               x86.Entry
		lv              *x86.Level
		leaf, keys, raw bool
		want            string
	}{
		{"table entry", x86.Entry(0x4000 | tabP), pd, false, true, false, "→ 0x4000"},
		{"4K leaf", x86.Entry(0x5000 | leafP), pt, true, true, false, "→ 0x5000"},
		{"2M leaf", x86.Entry(0x600000 | leafP | uint64(x86.PS)), pd, true, true, false, "→ 0x600000 2M"},
		{"key of a leaf", x86.Entry(0x5000|leafP) | key3, pt, true, true, false, "→ 0x5000 K3"},
		{"key where the format has none", x86.Entry(0x5000|leafP) | key3, pt, true, false, false, "→ 0x5000"},
		{"raw, 8 bytes", x86.Entry(0x5000 | leafP), pt, true, true, true, "→ 0x5000  0x0000000000005067"},
		{"raw, 4 bytes", x86.Entry(0x400000 | leafP | uint64(x86.PS)), &legacy.Levels[0], true, false, true, "→ 0x400000 4M  0x004000e7"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(appendEntryTarget(nil, tc.e, tc.lv, tc.leaf, tc.keys, tc.raw)); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
	for _, tc := range []struct{ note, want string }{
		{"", "not present"},
		{"built on the next access", "not present · built on the next access"},
	} {
		if got := string(appendNotPresent(nil, tc.note)); got != tc.want {
			t.Errorf("not present with note %q: got %q, want %q", tc.note, got, tc.want)
		}
	}
	if got, want := string(appendBigPageNote(nil, x86.LevelPDPT, 30)), "— the PDPT entry maps a 1G page"; got != want {
		t.Errorf("big page note: got %q, want %q", got, want)
	}
}

func TestFaultWords(t *testing.T) {
	tests := []struct {
		name       string
		f          x86.Fault
		note, code string
	}{
		{"not present", x86.Fault{Kind: x86.NotPresent}, "fault: not present",
			"error code 0x0 = not present, read, supervisor"},
		{"user write to a read-only page", x86.Fault{Kind: x86.Protection, Code: x86.PFPresent | x86.PFWrite | x86.PFUser},
			"fault: protection", "error code 0x7 = present + write + user"},
		{"reserved bit on a fetch", x86.Fault{Kind: x86.ReservedBit, Code: x86.PFPresent | x86.PFRsvd | x86.PFFetch},
			"fault: reserved bit", "error code 0x19 = present + reserved bit + fetch"},
		{"SMEP", x86.Fault{Kind: x86.Protection, Rule: x86.RuleSMEP, Code: x86.PFPresent | x86.PFFetch}, "fault: SMEP",
			"error code 0x11 = present + fetch"},
		{"SMAP", x86.Fault{Kind: x86.Protection, Rule: x86.RuleSMAP, Code: x86.PFPresent}, "fault: SMAP",
			"error code 0x1 = present"},
		{"protection key", x86.Fault{Kind: x86.Protection, Rule: x86.RuleKeyAccess, Key: 5, Code: x86.PFPresent | x86.PFUser | x86.PFPK},
			"fault: key 5", "error code 0x25 = present + user + protection key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := faultNote(&tc.f); got != tc.note {
				t.Errorf("note: got %q, want %q", got, tc.note)
			}
			if got := string(appendErrorCode(nil, tc.f.Code)); got != tc.code {
				t.Errorf("error code: got %q, want %q", got, tc.code)
			}
		})
	}
}

func TestOutcomeLines(t *testing.T) {
	long := mustFormat(t, x86.ModeAMD64, 0)
	w := walkOf(t, long, longTables(0), vaNone, x86.Access{Kind: x86.Write, User: true})
	if got, want := string(appendPFLine(nil, w)), "#PF to the guest: not present at PD, error code 0x6 = write + user"; got != want {
		t.Errorf("not present: got %q, want %q", got, want)
	}
	f := x86.Fault{Kind: x86.Protection, Rule: x86.RuleSMAP, Code: x86.PFPresent | x86.PFWrite}
	if got, want := string(appendPFReason(nil, &f)), "#PF to the guest: SMAP: supervisor write of a user page with AC=0"; got != want {
		t.Errorf("SMAP: got %q, want %q", got, want)
	}
	titles := []struct {
		rows, cols int
		refs       uint64
		want       string
	}{
		{5, 5, 0, "2D walk: 24 memory references for one TLB miss (5 × 5 − 1)"},
		{3, 4, 11, "2D walk: 11 memory references for one TLB miss (3 × 4 − 1); the last access made 11"},
	}
	for _, tc := range titles {
		if got := string(appendWalk2DTitle(nil, tc.rows, tc.cols, tc.refs)); got != tc.want {
			t.Errorf("2D title: got %q, want %q", got, tc.want)
		}
	}
	heads := []struct {
		k           x86.LevelKind
		read, short bool
		want        string
	}{
		{x86.LevelPML4, false, false, "nPML4"}, {x86.LevelPML4, false, true, "n4"}, {x86.LevelPT, false, true, "n1"},
		{0, true, false, "read"}, {0, true, true, "rd"},
	}
	for _, tc := range heads {
		if got := string(appendNestedHeading(nil, tc.k, tc.read, tc.short)); got != tc.want {
			t.Errorf("heading %v read=%v short=%v: got %q, want %q", tc.k, tc.read, tc.short, got, tc.want)
		}
	}
}

func TestEntryNotes(t *testing.T) {
	long := mustFormat(t, x86.ModeAMD64, 0)
	read := x86.Access{Kind: x86.Read}
	ok := walkOf(t, long, longTables(0), va4K, read)
	missing := walkOf(t, long, longTables(0), vaNone, read)
	big := walkOf(t, long, longTables(0), va2M, read)
	unaccessed := walkOf(t, long, mapMem{0x1000: 0x2000 | tabP, 0x2008: 0x3000 | tabP, 0x3008: 0x4000 | tabP, 0x4008: 0x5000 | uint64(x86.P)}, va4K, read)
	if unaccessed.Steps[3].Entry.Accessed() {
		// The walker sets A in the map; the note is about the entry as the
		// walk saw it, so take the walk's own copy back to unaccessed.
		unaccessed.Steps[3].Entry &^= x86.Entry(x86.A)
	}
	pt, pd := &long.Levels[3], &long.Levels[2]
	present := engine.ShadowStep{Level: x86.LevelPT, Entry: x86.Entry(0x9000 | leafP)}
	absent := engine.ShadowStep{Level: x86.LevelPT}
	tests := []struct {
		name   string
		s      engine.ShadowStep
		lv     *x86.Level
		w      *x86.Walk
		gi     int
		nested bool
		want   string
	}{
		{"synced", present, pt, ok, 3, false, ""},
		{"stale", engine.ShadowStep{Level: x86.LevelPT, Entry: present.Entry, Stale: true}, pt, ok, 3, false, "stale"},
		{"guest maps nothing", absent, pd, missing, 2, false, "the guest has no mapping either"},
		{"accessed-bit emulation", absent, pt, unaccessed, 3, false, "until the guest's A bit is set"},
		{"on demand", absent, pt, ok, 3, false, "built on the next access"},
		{"nested says nothing of a miss", absent, pt, ok, 3, true, ""},
		{"hypervisor mapping", engine.ShadowStep{Level: x86.LevelPD, Entry: x86.Entry(0x7000|tabP) | x86.Entry(mappingBit)}, pd, ok, 2, false, "hypervisor mapping"},
		{"piece of a big page", present, pt, big, -1, false, "a 4K piece of the big page"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got, _ := shadowNote(&tc.s, tc.lv, tc.w, tc.gi, tc.nested); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
	if got, _ := guestNote(missing, missing.N-1); got != "fault: not present" {
		t.Errorf("guest note at the fault: got %q", got)
	}
	if got, _ := guestNote(ok, 1); got != "" {
		t.Errorf("guest note on the way: got %q, want none", got)
	}
	// PAE's top level comes from the PDPTE registers, not from memory.
	var pae x86.Walk
	pae.N, pae.Steps[0].Register = 2, true
	if got, _ := guestNote(&pae, 0); got != "PDPTE register" {
		t.Errorf("guest note of a PDPTE: got %q", got)
	}
}
