package x86_test

import (
	"fmt"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// The rights of the modern features (SMEP, SMAP with AC, protection
// keys) and the error codes they give, checked two ways: named cases
// with the code written out bit by bit, and every combination of a
// compact space against specCode, a small function written from the
// contract's words alone.

// Error-code bits as the contract numbers them.
const (
	cP, cW, cU, cRSVD, cID, cPK = 1, 2, 4, 8, 16, 32
)

func modeVA(m x86.Mode) x86.GVA {
	switch {
	case m == x86.ModeLA57 || m == x86.ModeLA57NX:
		return permVA57
	case m.Long():
		return permVA48
	}
	return permVA32
}

// modernWalk maps modeVA(m) with a 4 KiB leaf: upper[i] are the flags
// of the directory levels (P added), leaf the leaf's flags (P and frame
// added), and walks it for acc with regs-derived state.
func modernWalk(m x86.Mode, upper []uint64, leaf uint64, root func(x86.Root) x86.Root, acc x86.Access) x86.Walk {
	b := newBuilder(m)
	g := geometryOf(m)
	flags := make([]uint64, len(g.shifts))
	for i := range flags {
		flags[i] = uint64(x86.P)
		if i < len(flags)-1 && i < len(upper) && !(i == 0 && g.pdpteRegs) {
			flags[i] |= upper[i]
		}
	}
	flags[len(flags)-1] |= leaf
	b.mapVA(modeVA(m), flags, 0x2_3456_7000&(1<<32-1))
	f, err := x86.NewFormat(m, 0, 40)
	if err != nil {
		panic(err)
	}
	var w x86.Walk
	f.Walk(b.mem, root(b.root(false)), modeVA(m), acc, &w)
	return w
}

func TestModernRightsTable(t *testing.T) {
	const (
		u, w, x = uint64(x86.US), uint64(x86.RW), uint64(x86.NX)
		rd, wr  = x86.Read, x86.Write
		fe      = x86.Fetch
	)
	key := func(k uint64) uint64 { return k << x86.KeyShift }
	all := []uint64{u | w, u | w, u | w, u | w} // user, writable directories
	sup := []uint64{w, w, w, w}                 // supervisor directories
	for _, c := range []struct {
		name  string
		mode  x86.Mode
		upper []uint64
		leaf  uint64
		st    x86.Protect
		wp    bool
		user  bool
		kind  x86.AccessKind
		code  int // -1: the access succeeds
		rule  x86.Rule
		why   string // Fault.Reason, when given
	}{
		// SMEP: supervisor fetches from user pages, in every paging mode,
		// with I/D set even where NX is not architectural.
		{"SMEP/32-bit", x86.Mode32Bit, all, u, x86.Protect{SMEP: true}, false, false, fe, cP | cID, x86.RuleSMEP, "SMEP: supervisor fetch from a user page"},
		{"SMEP/PAE", x86.ModePAE, all, u | w, x86.Protect{SMEP: true}, true, false, fe, cP | cID, x86.RuleSMEP, ""},
		{"SMEP/AMD64+NX", x86.ModeAMD64NX, all, u, x86.Protect{SMEP: true}, true, false, fe, cP | cID, x86.RuleSMEP, ""},
		{"SMEP/LA57", x86.ModeLA57, all, u, x86.Protect{SMEP: true}, false, false, fe, cP | cID, x86.RuleSMEP, ""},
		{"SMEP/off", x86.Mode32Bit, all, u, x86.Protect{}, false, false, fe, -1, 0, ""},
		{"SMEP/supervisor-directory-makes-it-a-supervisor-page", x86.ModeAMD64, []uint64{u, w, u, u}, u, x86.Protect{SMEP: true}, false, false, fe, -1, 0, ""},
		{"SMEP/user-fetch", x86.ModeAMD64, all, u, x86.Protect{SMEP: true}, false, true, fe, -1, 0, ""},
		{"SMEP/data-read", x86.ModeAMD64, all, u, x86.Protect{SMEP: true}, false, false, rd, -1, 0, ""},
		{"SMEP/and-NX", x86.ModeAMD64NX, all, u | x, x86.Protect{SMEP: true}, false, false, fe, cP | cID, x86.RuleSMEP, ""},
		{"SMEP/ID-on-not-present-32-bit", x86.Mode32Bit, all, 0, x86.Protect{SMEP: true}, false, false, fe, -2, x86.RuleNotPresent, ""},
		{"NX/no-ID-without-SMEP-32-bit", x86.Mode32Bit, all, 0, x86.Protect{}, false, false, fe, -3, x86.RuleNotPresent, ""},
		// SMAP: supervisor data accesses to user pages while AC=0.
		{"SMAP/read-AC0", x86.ModePAE, all, u, x86.Protect{SMAP: true}, false, false, rd, cP, x86.RuleSMAP, "SMAP: supervisor read of a user page with AC=0"},
		{"SMAP/write-AC0", x86.Mode32Bit, all, u | w, x86.Protect{SMAP: true}, true, false, wr, cP | cW, x86.RuleSMAP, "SMAP: supervisor write of a user page with AC=0"},
		{"SMAP/read-AC1", x86.ModeAMD64NX, all, u, x86.Protect{SMAP: true, AC: true}, true, false, rd, -1, 0, ""},
		{"SMAP/write-readonly-AC1-WP1", x86.ModeAMD64NX, all, u, x86.Protect{SMAP: true, AC: true}, true, false, wr, cP | cW, x86.RuleReadOnly, "write to a read-only page"},
		{"SMAP/write-readonly-AC1-WP0", x86.ModeAMD64NX, all, u, x86.Protect{SMAP: true, AC: true}, false, false, wr, -1, 0, ""},
		{"SMAP/write-readonly-AC0-WP0", x86.ModeAMD64NX, all, u, x86.Protect{SMAP: true}, false, false, wr, cP | cW, x86.RuleSMAP, ""},
		{"SMAP/user-access", x86.ModeAMD64NX, all, u, x86.Protect{SMAP: true}, false, true, rd, -1, 0, ""},
		{"SMAP/fetch-is-not-data", x86.ModeAMD64NX, all, u, x86.Protect{SMAP: true}, false, false, fe, -1, 0, ""},
		{"SMAP/supervisor-page", x86.ModeAMD64NX, sup, u | w, x86.Protect{SMAP: true}, false, false, wr, -1, 0, ""},
		// Keys: bits 62:59 of an IA-32e leaf, user pages only.
		{"PK/user-read-AD", x86.ModeAMD64NX, all, u | key(3), x86.Protect{PKE: true, PKRU: 1 << 6}, false, true, rd, cP | cU | cPK, x86.RuleKeyAccess, "key 3: access disabled"},
		{"PK/user-write-WD", x86.ModeAMD64NX, all, u | w | key(3), x86.Protect{PKE: true, PKRU: 2 << 6}, false, true, wr, cP | cW | cU | cPK, x86.RuleKeyWrite, "key 3: write disabled"},
		{"PK/user-read-WD", x86.ModeAMD64NX, all, u | w | key(3), x86.Protect{PKE: true, PKRU: 2 << 6}, false, true, rd, -1, 0, ""},
		{"PK/supervisor-write-WD-WP1", x86.ModeLA57NX, all, u | w | key(15), x86.Protect{PKE: true, PKRU: 2 << 30}, true, false, wr, cP | cW | cPK, x86.RuleKeyWrite, ""},
		{"PK/supervisor-write-WD-WP0", x86.ModeLA57NX, all, u | w | key(15), x86.Protect{PKE: true, PKRU: 2 << 30}, false, false, wr, -1, 0, ""},
		{"PK/supervisor-read-AD", x86.ModeAMD64, all, u | key(1), x86.Protect{PKE: true, PKRU: 1 << 2, SMAP: true, AC: true}, false, false, rd, cP | cPK, x86.RuleKeyAccess, ""},
		{"PK/fetch-not-affected", x86.ModeAMD64, all, u | key(1), x86.Protect{PKE: true, PKRU: 3 << 2}, false, true, fe, -1, 0, ""},
		{"PK/supervisor-page-no-key", x86.ModeAMD64, sup, w | key(1), x86.Protect{PKE: true, PKRU: 3 << 2}, false, false, wr, -1, 0, ""},
		{"PK/PKE-off", x86.ModeAMD64, all, u | key(1), x86.Protect{PKRU: 3 << 2}, false, true, wr, cP | cW | cU, x86.RuleReadOnly, ""},
		{"PK/other-key", x86.ModeAMD64, all, u | key(2), x86.Protect{PKE: true, PKRU: 3 << 2}, false, true, rd, -1, 0, ""},
		{"PK/and-read-only", x86.ModeAMD64, all, u | key(4), x86.Protect{PKE: true, PKRU: 2 << 8}, false, true, wr, cP | cW | cU | cPK, x86.RuleKeyWrite, ""},
		{"PK/and-SMAP", x86.ModeAMD64, all, u | key(4), x86.Protect{PKE: true, SMAP: true, PKRU: 1 << 8}, false, false, rd, cP | cPK, x86.RuleSMAP, "SMAP: supervisor read of a user page with AC=0; key 4: access disabled"},
		{"PK/not-in-PAE", x86.ModePAENX, all, u, x86.Protect{PKE: true, PKRU: ^uint32(0)}, true, true, rd, -1, 0, ""},
		{"PK/bits-reserved-in-PAE", x86.ModePAENX, all, u | key(8), x86.Protect{PKE: true}, true, true, rd, cP | cU | cRSVD, x86.RuleReserved, "reserved bit set"},
		{"PK/not-present-no-PK", x86.ModeAMD64, []uint64{u, u, 0}, u | key(1), x86.Protect{PKE: true, PKRU: 1 << 2}, false, true, rd, -4, x86.RuleNotPresent, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := modernWalkNP(c.mode, c.upper, c.leaf, c.code <= -2, func(r x86.Root) x86.Root {
				r.Protect, r.WP = c.st, c.wp
				return r
			}, x86.Access{Kind: c.kind, User: c.user})
			want := c.code
			switch c.code {
			case -2: // not present, I/D because of SMEP
				want = cID
			case -3:
				want = 0
			case -4:
				want = cU
			}
			if c.code == -1 {
				if !w.OK() {
					t.Fatalf("faulted: %v (%s), want success", w.Fault, w.Fault.Reason())
				}
				return
			}
			if w.OK() || w.Fault.Code != x86.ErrorCode(want) || w.Fault.Rule != c.rule {
				t.Fatalf("fault %v rule %v, want code %#x rule %v", w.Fault, w.Fault.Rule, want, c.rule)
			}
			for bit := 0; bit < 6; bit++ {
				if (w.Fault.Code>>bit)&1 != x86.ErrorCode(want>>bit)&1 {
					t.Errorf("error code bit %d: got %d", bit, (w.Fault.Code>>bit)&1)
				}
			}
			if !w.Fault.Rules.Has(w.Fault.Rule) || w.Fault.Rules.Keys() != (w.Fault.Code&x86.PFPK != 0) {
				t.Errorf("rules %v do not agree with rule %v and code %v", w.Fault.Rules, w.Fault.Rule, w.Fault.Code)
			}
			if c.why != "" && w.Fault.Reason() != c.why {
				t.Errorf("Reason() = %q, want %q", w.Fault.Reason(), c.why)
			}
		})
	}
}

// modernWalkNP is modernWalk, or with np the walk's second level not
// present.
func modernWalkNP(m x86.Mode, upper []uint64, leaf uint64, np bool, root func(x86.Root) x86.Root, acc x86.Access) x86.Walk {
	if !np {
		return modernWalk(m, upper, leaf, root, acc)
	}
	b := newBuilder(m)
	b.mapVA(modeVA(m), []uint64{uint64(x86.P | x86.US | x86.RW), 0}, 0)
	f, _ := x86.NewFormat(m, 0, 40)
	var w x86.Walk
	f.Walk(b.mem, root(b.root(false)), modeVA(m), acc, &w)
	return w
}

// specIn is one point of the brute-force space.
type specIn struct {
	long, nxArch        bool
	us, rw, nx          []bool // per rights level
	key                 uint64
	cpl3, wp            bool
	kind                x86.AccessKind
	smep, smap, ac, pke bool
	pkru                uint32
}

// specCode is the contract, read literally: ok, or the #PF error code.
func specCode(s specIn) (bool, int) {
	userAddr, writable, noExec := true, true, false
	for i := range s.us {
		userAddr = userAddr && s.us[i]
		writable = writable && s.rw[i]
		noExec = noExec || s.nx[i]
	}
	write, fetch := s.kind == x86.Write, s.kind == x86.Fetch
	sup := !s.cpl3
	fault, pk := false, false
	// Ordinary rules.
	if s.cpl3 && !userAddr || write && !writable && (s.cpl3 || s.wp) || fetch && s.nxArch && noExec {
		fault = true
	}
	// "a supervisor-mode (CPL < 3) instruction fetch from a user-mode address"
	if s.smep && sup && fetch && userAddr {
		fault = true
	}
	// "With SMAP=1 and AC=0, a supervisor-mode data read or write of a user-mode address faults"
	if s.smap && !s.ac && sup && !fetch && userAddr {
		fault = true
	}
	// "Bit 2k of PKRU (AD) forbids every data access with key k; bit 2k+1
	// (WD) forbids writes by CPL 3, and by the supervisor when CR0.WP=1.
	// Fetches are not affected."
	if s.long && s.pke && userAddr && !fetch {
		ad := s.pkru>>(2*s.key)&1 == 1
		wd := s.pkru>>(2*s.key+1)&1 == 1
		if ad || write && wd && (s.cpl3 || s.wp) {
			fault, pk = true, true
		}
	}
	if !fault {
		return true, 0
	}
	code := cP
	if write {
		code |= cW
	}
	if s.cpl3 {
		code |= cU
	}
	// "I/D is set for instruction fetches only when CR4.SMEP=1, or
	// EFER.NXE=1 and PAE or long-mode paging is on."
	if fetch && (s.smep || s.nxArch) {
		code |= cID
	}
	if pk {
		code |= cPK
	}
	return false, code
}

// TestModernRightsBruteForce walks every combination of per-level U/S,
// leaf and top-level R/W, leaf NX, CPL, access kind, CR0.WP, SMEP, SMAP,
// AC, PKE and the AD/WD bits of the leaf's key, in each paging mode, and
// compares the error code bit by bit with specCode.
func TestModernRightsBruteForce(t *testing.T) {
	for _, m := range []x86.Mode{x86.Mode32Bit, x86.ModePAE, x86.ModePAENX, x86.ModeAMD64, x86.ModeAMD64NX, x86.ModeLA57NX} {
		t.Run(m.String(), func(t *testing.T) { bruteForce(t, m) })
	}
}

func bruteForce(t *testing.T, m x86.Mode) {
	g := geometryOf(m)
	f, err := x86.NewFormat(m, 0, 40)
	if err != nil {
		t.Fatal(err)
	}
	var rightsAt []int
	for i, r := range g.rights {
		if r {
			rightsAt = append(rightsAt, i)
		}
	}
	n := len(rightsAt)
	b := newBuilder(m)
	flags := make([]uint64, len(g.shifts))
	for i := range flags {
		flags[i] = uint64(x86.P)
	}
	addrs := b.mapVA(modeVA(m), flags, 0x77000)
	va := modeVA(m)
	keys := []uint64{0}
	if m.Long() {
		keys = []uint64{0, 5, 15}
	}
	nxBits := []bool{false}
	if m.NX() {
		nxBits = []bool{false, true}
	}
	in := specIn{long: m.Long(), nxArch: m.NX(), us: make([]bool, n), rw: make([]bool, n), nx: make([]bool, n)}
	var seen [64]int
	walks, failures := 0, 0
	for usBits := 0; usBits < 1<<n; usBits++ {
		for rwBits := 0; rwBits < 4; rwBits++ {
			for _, leafNX := range nxBits {
				for _, key := range keys {
					for j, i := range rightsAt {
						in.us[j] = usBits>>j&1 == 1
						in.rw[j] = j == n-1 && rwBits&1 == 1 || j != n-1 && (j != 0 || rwBits&2 == 2)
						in.nx[j] = j == n-1 && leafNX
						v := uint64(x86.P)
						if in.us[j] {
							v |= uint64(x86.US)
						}
						if in.rw[j] {
							v |= uint64(x86.RW)
						}
						if in.nx[j] {
							v |= uint64(x86.NX)
						}
						if j == n-1 {
							v |= 0x77000 | key<<x86.KeyShift
						} else {
							v |= b.mem.ReadEntry(addrs[i], g.size) &^ (0xfff | 1<<63)
						}
						b.mem.write(addrs[i], g.size, v)
					}
					in.key = key
					for state := 0; state < 1<<9; state++ {
						bit := func(k int) bool { return state>>k&1 == 1 }
						in.cpl3, in.wp, in.smep, in.smap, in.ac, in.pke = bit(0), bit(1), bit(2), bit(3), bit(4), bit(5)
						// The leaf key's AD and WD, the other keys' bits opposite.
						kb := uint32(state>>6&3) << (2 * key)
						in.pkru = kb | 0xaaaaaaaa&^(3<<(2*key))
						for _, kind := range []x86.AccessKind{x86.Read, x86.Write, x86.Fetch} {
							in.kind = kind
							root := b.root(in.wp)
							root.Protect = x86.Protect{SMEP: in.smep, SMAP: in.smap, AC: in.ac, PKE: in.pke, PKRU: in.pkru}
							var w x86.Walk
							f.Walk(b.mem, root, va, x86.Access{Kind: kind, User: in.cpl3}, &w)
							walks++
							ok, code := specCode(in)
							seen[code]++
							if w.OK() != ok || !ok && (w.Fault.Kind != x86.Protection || int(w.Fault.Code) != code) {
								failures++
								if failures < 10 {
									t.Errorf("%+v: got %v (%s), want ok=%v code %#x", in, w.Fault, w.Fault.Reason(), ok, code)
								}
							}
							if !ok && (!w.Fault.Rules.Has(w.Fault.Rule) || w.Fault.Rules.Keys() != (code&cPK != 0)) {
								t.Fatalf("%+v: rules %v rule %v", in, w.Fault.Rules, w.Fault.Rule)
							}
						}
					}
				}
			}
		}
	}
	// The space must reach every kind of verdict the mode allows.
	want := []int{0, cP, cP | cW, cP | cU, cP | cW | cU, cP | cID}
	if m.Long() {
		want = append(want, cP|cPK, cP|cU|cPK, cP|cW|cPK, cP|cW|cU|cPK)
	}
	for _, c := range want {
		if seen[c] == 0 {
			t.Errorf("no case gave code %#x (of %d walks): %v", c, walks, fmt.Sprint(seen))
		}
	}
}

// TestKeysEachKey: every key, AD and WD, CPL 0 and 3, CR0.WP 0 and 1,
// read and write, in 4- and 5-level paging.
func TestKeysEachKey(t *testing.T) {
	for _, m := range []x86.Mode{x86.ModeAMD64, x86.ModeLA57NX} {
		for key := uint64(0); key < 16; key++ {
			for rights := uint32(0); rights < 4; rights++ {
				for _, cpl3 := range []bool{false, true} {
					for _, wpOn := range []bool{false, true} {
						for _, kind := range []x86.AccessKind{x86.Read, x86.Write} {
							ad, wd := rights&1 == 1, rights&2 == 2
							pkru := rights << (2 * key)
							w := modernWalk(m, []uint64{7, 7, 7, 7}, uint64(x86.US|x86.RW)|key<<x86.KeyShift, func(r x86.Root) x86.Root {
								r.WP, r.Protect = wpOn, x86.Protect{PKE: true, PKRU: pkru}
								return r
							}, x86.Access{Kind: kind, User: cpl3})
							deny := ad || kind == x86.Write && wd && (cpl3 || wpOn)
							if w.OK() == deny || w.Key != uint8(key) && !deny {
								t.Fatalf("%v key %d AD %v WD %v cpl3 %v wp %v %v: %v", m, key, ad, wd, cpl3, wpOn, kind, w.Fault)
							}
							if deny && (w.Fault.Code&x86.PFPK == 0 || w.Fault.Key != uint8(key)) {
								t.Fatalf("key %d: fault %v key %d", key, w.Fault, w.Fault.Key)
							}
						}
					}
				}
			}
		}
	}
}

// TestKeyBitsReservedOnlyInPAE: bits 62:59 of a leaf are the key in
// IA-32e paging (never reserved, PKE on or off) and reserved under PAE.
func TestKeyBitsReservedOnlyInPAE(t *testing.T) {
	for _, m := range []x86.Mode{x86.ModePAE, x86.ModePAENX, x86.ModeAMD64, x86.ModeAMD64NX, x86.ModeLA57} {
		for bit := uint(59); bit <= 62; bit++ {
			for _, pkeOn := range []bool{false, true} {
				w := modernWalk(m, nil, 1<<bit, func(r x86.Root) x86.Root { r.PKE = pkeOn; return r }, x86.Access{Kind: x86.Read})
				if m.Long() && !w.OK() || !m.Long() && w.Fault.Kind != x86.ReservedBit {
					t.Errorf("%v bit %d pke %v: %v", m, bit, pkeOn, w.Fault)
				}
			}
		}
	}
}

func TestPinRules(t *testing.T) {
	for _, c := range []struct {
		r   x86.Rule
		num uint8
	}{
		{x86.RuleNone, 0}, {x86.RuleNotPresent, 1}, {x86.RuleReserved, 2}, {x86.RuleNonCanonical, 3},
		{x86.RuleUser, 4}, {x86.RuleReadOnly, 5}, {x86.RuleNoExec, 6}, {x86.RuleSMEP, 7},
		{x86.RuleSMAP, 8}, {x86.RuleKeyAccess, 9}, {x86.RuleKeyWrite, 10},
	} {
		if uint8(c.r) != c.num || c.r.String() == "" || c.r.Modern() != (c.num >= 7) {
			t.Errorf("rule %v = %d, want %d", c.r, uint8(c.r), c.num)
		}
	}
	if x86.PFPK != 1<<5 {
		t.Errorf("PFPK = %#x", x86.PFPK)
	}
	if s := x86.Rule(99).String(); s != "Rule(99)" {
		t.Errorf("unknown rule: %q", s)
	}
}
