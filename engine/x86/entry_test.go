package x86_test

import (
	"strings"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

func TestEntryAccessors(t *testing.T) {
	e := x86.Entry(0).Set(x86.P | x86.RW | x86.G | x86.NX)
	if uint64(e) != 0x8000_0000_0000_0103 {
		t.Fatalf("Set = %#x", uint64(e))
	}
	got := []bool{e.Present(), e.Writable(), e.User(), e.Accessed(), e.Dirty(), e.Big(), e.Global(), e.NoExec()}
	want := []bool{true, true, false, false, false, false, true, true}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("accessor %d = %v, want %v", i, got[i], want[i])
		}
	}
	if !e.Has(x86.P|x86.G) || e.Has(x86.P|x86.US) || !e.Has(0) {
		t.Errorf("Has is not all-of")
	}
	if c := e.Clear(x86.RW | x86.NX | x86.D); uint64(c) != 0x101 {
		t.Errorf("Clear = %#x", uint64(c))
	}
	if s := x86.Entry(^uint64(0)).FlagString(); s != "PWUADSGX" {
		t.Errorf("FlagString(all) = %q", s)
	}
	if s := x86.Entry(0).FlagString(); s != "--------" {
		t.Errorf("FlagString(0) = %q", s)
	}
}

func TestRightsAlgebra(t *testing.T) {
	w, u, x := x86.RightWrite, x86.RightUser, x86.RightExec
	if (w|u).Intersect(u|x) != u || (w).Union(x) != w|x || !x86.AllRights.SupersetOf(w|u) ||
		(w | x).SupersetOf(u) || !x86.Rights(0).SupersetOf(0) {
		t.Errorf("Intersect/Union/SupersetOf")
	}
	for _, c := range []struct {
		e    x86.Entry
		nx   bool
		want x86.Rights
	}{
		{0x1, false, x},
		{0x7, true, w | u | x},
		{0x8000_0000_0000_0001, true, 0},
		{0x8000_0000_0000_0007, false, w | u | x}, // NX not architectural: ignored here
		{0x5, true, u | x},
	} {
		if got := x86.RightsOf(c.e, c.nx); got != c.want {
			t.Errorf("RightsOf(%#x, %v) = %v, want %v", uint64(c.e), c.nx, got, c.want)
		}
	}
}

// TestPermits spells out the SDM's access rules for every rights value.
func TestPermits(t *testing.T) {
	for r := x86.Rights(0); r <= x86.AllRights; r++ {
		for _, user := range []bool{false, true} {
			for _, wp := range []bool{false, true} {
				for _, k := range []x86.AccessKind{x86.Read, x86.Write, x86.Fetch} {
					W, U, X := r&x86.RightWrite != 0, r&x86.RightUser != 0, r&x86.RightExec != 0
					want := true
					switch {
					case user && !U:
						want = false
					case k == x86.Write && !W && (user || wp):
						want = false
					case k == x86.Fetch && !X:
						want = false
					}
					acc := x86.Access{Kind: k, User: user}
					if got := r.Permits(acc, wp); got != want {
						t.Errorf("%v.Permits(%+v, wp=%v) = %v, want %v", r, acc, wp, got, want)
					}
				}
			}
		}
	}
}

func TestPageFaultCode(t *testing.T) {
	for _, kind := range []x86.FaultKind{x86.NotPresent, x86.ReservedBit, x86.Protection} {
		for _, user := range []bool{false, true} {
			for _, fetchBit := range []bool{false, true} {
				for _, k := range []x86.AccessKind{x86.Read, x86.Write, x86.Fetch} {
					want := x86.ErrorCode(0)
					if kind != x86.NotPresent {
						want |= 1
					}
					if kind == x86.ReservedBit {
						want |= 8
					}
					if k == x86.Write {
						want |= 2
					}
					if user {
						want |= 4
					}
					if k == x86.Fetch && fetchBit {
						want |= 16
					}
					acc := x86.Access{Kind: k, User: user}
					if got := x86.PageFaultCode(kind, acc, fetchBit); got != want {
						t.Errorf("PageFaultCode(%v, %+v, %v) = %v, want %v", kind, acc, fetchBit, got, want)
					}
				}
			}
		}
	}
}

func TestMiscStrings(t *testing.T) {
	err := (&x86.GPError{Reg: x86.CR4, Value: 0x20, Reason: "clearing PAE in long mode"}).Error()
	if !strings.Contains(err, "cr4") || !strings.Contains(err, "0x20") || !strings.Contains(err, "#GP") {
		t.Errorf("GPError.Error() = %q", err)
	}
	for _, c := range []struct{ got, want string }{
		{x86.AccessKind(9).String(), "access?"},
		{x86.FaultKind(9).String(), "fault?"},
		{x86.Fault{}.String(), "no fault"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
	if (x86.Fault{Kind: x86.NonCanonical}).IsPF() || !(x86.Fault{Kind: x86.Protection}).IsPF() {
		t.Errorf("IsPF")
	}
}

func TestLevelHelpers(t *testing.T) {
	f, _ := x86.NewFormat(x86.ModeAMD64, 0, 40)
	for _, c := range []struct {
		k       x86.LevelKind
		entries int
		covers  uint64
	}{{x86.LevelPML4, 512, 1 << 39}, {x86.LevelPDPT, 512, 1 << 30}, {x86.LevelPD, 512, 1 << 21}, {x86.LevelPT, 512, 1 << 12}} {
		lv := f.Level(c.k)
		if lv == nil || lv.Kind != c.k || lv.Entries() != c.entries || lv.Covers() != c.covers {
			t.Errorf("Level(%v) = %+v", c.k, lv)
		}
	}
	if f.Level(x86.LevelPML5) != nil {
		t.Errorf("4-level format has a PML5")
	}
	p, _ := x86.NewFormat(x86.ModePAE, 0, 40)
	if lv := p.Level(x86.LevelPDPT); lv == nil || lv.Entries() != 4 || !lv.Register {
		t.Errorf("PAE PDPT = %+v", lv)
	}
	l, _ := x86.NewFormat(x86.Mode32Bit, 0, 40)
	if lv := l.Level(x86.LevelPD); lv == nil || lv.Entries() != 1024 || lv.Covers() != 4<<20 || lv.BigPages {
		t.Errorf("32-bit PD without PSE = %+v", lv)
	}
}

// RightsMasked must agree with RightsOf for every combination of the bits
// either reads, with NX architectural or not.
func TestRightsMaskedMatchesRightsOf(t *testing.T) {
	for _, nx := range []bool{false, true} {
		f := &x86.Format{NX: nx}
		for bits := 0; bits < 16; bits++ {
			e := x86.Entry(bits&1) | x86.Entry(bits&2) | x86.Entry(bits&4)
			if bits&8 != 0 {
				e |= x86.Entry(x86.NX)
			}
			if got, want := x86.RightsMasked(e, f.NXMask()), x86.RightsOf(e, nx); got != want {
				t.Errorf("entry %#x nx=%v: RightsMasked %v, RightsOf %v", uint64(e), nx, got, want)
			}
		}
	}
}
