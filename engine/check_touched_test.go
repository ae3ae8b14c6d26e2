package engine

import (
	"strings"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine/phys"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// touchedGuest is a long-mode guest whose page table at 0x4000 maps
// va 0..8 pages, read-only, to 0x10000..; it has read va 0 (so that page
// table is what the last event touched) after an incremental check that
// found nothing.
func touchedGuest(t *testing.T) *Shadow {
	t.Helper()
	s, err := NewShadow(Config{Ranges: []phys.RangeSpec{{Type: phys.TypeRAM, Size: 4 << 20}}, PoolPages: 64})
	if err != nil {
		t.Fatal(err)
	}
	apply := func(ev Event) {
		t.Helper()
		if _, err := s.Apply(ev); err != nil {
			t.Fatal(err)
		}
	}
	pw := func(gpa, v uint64) { apply(Event{Kind: EvPhysWrite, Size: 8, Addr: gpa, Value: v}) }
	pw(0x1000, 0x2007)
	pw(0x2000, 0x3007)
	pw(0x3000, 0x4007)
	pw(0x3008, 0x5007) // va 2 MiB: a second page table
	for i := uint64(0); i < 8; i++ {
		pw(0x4000+8*i, 0x10000+i<<12|0x25) // P US A, read-only
		pw(0x5000+8*i, 0x20000+i<<12|0x27)
	}
	apply(Event{Kind: EvCR4, Value: 0x20})
	apply(Event{Kind: EvEFER, Value: 0x900})
	apply(Event{Kind: EvCR3, Value: 0x1000})
	apply(Event{Kind: EvCR0, Value: 0x80000011})
	if err := s.CheckTouched(); err != nil {
		t.Fatal(err)
	}
	apply(Event{Kind: EvRead, Size: 4, Addr: 0x200000}) // the other table, checked below
	if err := s.CheckTouched(); err != nil {
		t.Fatal(err)
	}
	apply(Event{Kind: EvRead, Size: 4, Addr: 0})
	return s
}

// leafOf is the shadow page table and index that map va.
func leafOf(t *testing.T, s *Shadow, va x86.GVA) (*poolPage, int) {
	t.Helper()
	r := s.hostWalk(va)
	if !r.ok {
		t.Fatalf("va %#x is not shadowed", uint64(va))
	}
	return r.leafPage, int(s.shw.Levels[s.shw.N-1].Index(va))
}

// leafPage is the pool index of the shadow page table that maps va.
func leafPage(t *testing.T, s *Shadow, va x86.GVA) uint16 {
	pg, _ := leafOf(t, s, va)
	return pg.idx
}

// TestCheckTouchedFindsCorruption: the incremental checker finds a
// corrupted shadow entry, table or TLB entry among what the last event
// touched, and a guest write the write monitor missed; a corruption of a table nothing touched since the last check
// is left to the full check, which finds it.
func TestCheckTouchedFindsCorruption(t *testing.T) {
	tests := []struct {
		name    string
		corrupt func(t *testing.T, s *Shadow)
		want    string // in CheckTouched's error; "" when only Check sees it
	}{
		{"accessed entry made writable", func(t *testing.T, s *Shadow) {
			pg, i := leafOf(t, s, 0)
			pg.ents[i] |= x86.Entry(x86.RW)
		}, "writable where the guest is read-only"},
		{"accessed entry pointing at another frame", func(t *testing.T, s *Shadow) {
			pg, i := leafOf(t, s, 0)
			pg.ents[i] += 0x1000
		}, "does not map the guest page's host frame"},
		{"neighbour in the touched table made user-writable", func(t *testing.T, s *Shadow) {
			pg, _ := leafOf(t, s, 0)
			pg.ents[3] |= x86.Entry(x86.RW)
		}, "writable where the guest is read-only"},
		{"entry of the touched table dropped behind the count's back", func(t *testing.T, s *Shadow) {
			pg, i := leafOf(t, s, 0)
			for j := len(pg.ents) - 1; j > i; j-- {
				if pg.ents[j]&x86.Entry(x86.P) != 0 {
					pg.ents[j] = 0
					return
				}
			}
			t.Fatal("the read prefetched nothing")
		}, "present (recorded"},
		{"TLB entry of the accessed address", func(t *testing.T, s *Shadow) {
			_, slot := tlbKey(0, s.tlb.cur)
			s.tlb.e[slot].hpa += 0x1000
		}, "disagrees with the shadow tables"},
		{"table untouched since the last check", func(t *testing.T, s *Shadow) {
			pg, i := leafOf(t, s, 0x200000)
			pg.ents[i] += 0x1000
		}, ""},
		{"guest write the monitor missed", func(t *testing.T, s *Shadow) {
			// The page table's monitor is lost, as a bug would lose it;
			// the guest then remaps va 0 and the shadow keeps the old frame.
			// Only the write touches anything after this check.
			if err := s.CheckTouched(); err != nil {
				t.Fatal(err)
			}
			delete(s.monitors, 0x4000)
			s.pool.pages[leafPage(t, s, 0)].monitored = false
			s.setPageState(0x4000)
			if _, err := s.Apply(Event{Kind: EvPhysWrite, Size: 8, Addr: 0x4000, Value: 0x30025}); err != nil {
				t.Fatal(err)
			}
		}, "the guest maps 0x30000"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := touchedGuest(t)
			if tc.name == "neighbour in the touched table made user-writable" {
				if pg, _ := leafOf(t, s, 0); pg.ents[3]&x86.Entry(x86.P) == 0 {
					t.Fatal("the read did not prefetch entry 3")
				}
			}
			tc.corrupt(t, s)
			err := s.CheckTouched()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("CheckTouched: %v; want nothing (the table was not touched)", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("CheckTouched: %v; want an error about %q", err, tc.want)
			}
			if err := s.Check(); err == nil {
				t.Fatal("the full check found nothing")
			}
		})
	}
}

// TestCheckTouchedLogBounded: an engine checked once and then replayed
// for long keeps a bounded log (past its cap the next check is a full
// one), and that check passes.
func TestCheckTouchedLogBounded(t *testing.T) {
	s := touchedGuest(t)
	for i := 0; i < 4*maxTouched; i++ {
		if _, err := s.Apply(Event{Kind: EvRead, Size: 4, Addr: uint64(i%8) << 12}); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(s.touch.vas) + len(s.touch.entries) + len(s.touch.writes); n > 2*maxTouched || !s.touch.full {
		t.Errorf("log of %d items, full %v", n, s.touch.full)
	}
	if err := s.CheckTouched(); err != nil {
		t.Fatal(err)
	}
	if s.touch.full || len(s.touch.vas) != 0 {
		t.Error("the full check did not empty the log")
	}
}

// TestCheckAfterSchedule: CheckAfter checks what an event touched between
// full checks, so a corruption of an untouched table goes unseen until
// the next multiple of every, where the full check finds it.
func TestCheckAfterSchedule(t *testing.T) {
	s := touchedGuest(t)
	if full, err := s.CheckAfter(1, 3); full || err != nil {
		t.Fatalf("CheckAfter(1, 3) = %v, %v; want an incremental check that passes", full, err)
	}
	pg, i := leafOf(t, s, 0x200000)
	pg.ents[i] += 0x1000 // untouched from here on
	for n := uint64(2); n <= 3; n++ {
		if _, err := s.Apply(Event{Kind: EvRead, Size: 4, Addr: 0}); err != nil {
			t.Fatal(err)
		}
		full, err := s.CheckAfter(n, 3)
		switch {
		case n == 2 && (full || err != nil):
			t.Fatalf("CheckAfter(2, 3) = %v, %v; want an incremental check that trusts the untouched table", full, err)
		case n == 3 && (!full || err == nil):
			t.Fatalf("CheckAfter(3, 3) = %v, %v; want a full check that finds the corruption", full, err)
		}
	}
	if full, err := s.CheckAfter(4, 1); !full || err == nil {
		t.Fatalf("CheckAfter(4, 1) = %v, %v; want a full check after every event", full, err)
	}
}
