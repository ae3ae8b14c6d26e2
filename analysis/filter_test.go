package analysis

import (
	"errors"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/phys"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// Records the filter tests match against: a successful read, a faulting
// user write, a #GP, a physical read through a handler and a CR3 write.
var (
	recRead = Record{Outcome: &engine.Outcome{Index: 10, Event: engine.Event{Kind: engine.EvRead, Size: 4, Addr: 0xffff888000001000},
		OK: true, GPA: 0x1000, Value: 0x55, Path: engine.PathSyncPage, AS: 0x213000}, Label: "process 3 forks", CPL: 0}
	recFault = Record{Outcome: &engine.Outcome{Index: 1500, Event: engine.Event{Kind: engine.EvWrite, Size: 8, Addr: 0x400000, Value: 7},
		Fault: x86.Fault{Kind: x86.Protection, Code: x86.PFPresent | x86.PFWrite | x86.PFUser}, Path: engine.PathGuestFault, AS: 0x214000},
		Label: "user code", CPL: 3}
	recGP = Record{Outcome: &engine.Outcome{Index: 2000, Event: engine.Event{Kind: engine.EvExec, Addr: 0x8000000000000000},
		Fault: x86.Fault{Kind: x86.NonCanonical}, Path: engine.PathGP, AS: 0x213000}}
	recPhys = Record{Outcome: &engine.Outcome{Index: 3, Event: engine.Event{Kind: engine.EvPhysRead, Size: 2, Addr: 0xb8000},
		OK: true, GPA: 0xb8000, Value: 0x720, Path: engine.PathPhys, Handler: "vga"}}
	recCR3 = Record{Outcome: &engine.Outcome{Index: 4, Event: engine.Event{Kind: engine.EvCR3, Value: 0x214000}, OK: true, AS: 0x213000}}
)

func TestFilterMatch(t *testing.T) {
	all := []*Record{&recRead, &recFault, &recGP, &recPhys, &recCR3}
	names := []string{"read", "fault", "gp", "phys", "cr3"}
	tests := []struct {
		expr string
		want string // the names of the records that match, in order
	}{
		{"op==r", "read"},
		{"op==r4", "read"},
		{"op==r8", ""},
		{"kind==w", "fault"},
		{"op!=r", "fault gp phys cr3"},
		{"op==x && !ok", "gp"},
		{"!ok", "fault gp"},
		{"ok", "read phys cr3"},
		{"path==sync-page && as==0x213000", "read"},
		{"path==guest-fault || path==gp", "fault gp"},
		{"gva in 0xffff888000000000..0xffff888100000000", "read"},
		{"gva in 0x400000..0x400001", "fault"},
		{"gva in 0x400001..0x500000", ""},
		{"gva != 0x400000", "read gp"},
		{"!(gva == 0x400000)", "read gp phys cr3"},
		{"gva", "read fault gp"},
		{"gpa", "read phys"},
		{"gpa >= 0xb8000", "phys"},
		{"gpa < 0x2000", "read"},
		{"as==0x214000", "fault"},
		{"pcid==0", "read fault gp phys cr3"},
		{"root==0x213000", "read gp cr3"},
		{"cpl==3", "fault"},
		{"cpl<3", "read gp phys cr3"},
		{"err&0x2", "fault"},
		{"err & 0x8", ""},
		{"err.w && err.u", "fault"},
		{"err.p", "fault"},
		{"err.id", ""},
		{"err==0x7", "fault"},
		{"err==gp", "gp"},
		{"err!=gp", "fault"},
		{"err", "fault"},
		{"handler==vga", "phys"},
		{`handler~"vg"`, "phys"},
		{"handler", "phys"},
		{"i in 1000..2000", "fault"},
		{"i in 1000..2001", "fault gp"},
		{"i >= 1000 && i <= 2000", "fault gp"},
		{`label~"fork"`, "read"},
		{`label=="user code"`, "fault"},
		{"label != \"user code\"", "read gp phys cr3"},
		{"value==0x214000", "cr3"},
		{"value==0x55", "read"},
		{"op==cr3", "cr3"},
		{"size==2", "phys"},
		{"(op==r || op==w) && !(cpl==3)", "read"},
		{"!!ok", "read phys cr3"},
		{"ok || !ok", "read fault gp phys cr3"},
		{"op==pr && path==phys", "phys"},
	}
	for _, tc := range tests {
		t.Run(tc.expr, func(t *testing.T) {
			f, err := Parse(tc.expr)
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			for i, r := range all {
				if f.Match(r) {
					if got != "" {
						got += " "
					}
					got += names[i]
				}
			}
			if got != tc.want {
				t.Errorf("%s matched %q, want %q", tc.expr, got, tc.want)
			}
			// The canonical form means the same.
			g, err := Parse(f.String())
			if err != nil {
				t.Fatalf("canonical form %q: %v", f.String(), err)
			}
			for i, r := range all {
				if g.Match(r) != f.Match(r) {
					t.Errorf("canonical form %q differs on %s", f.String(), names[i])
				}
			}
		})
	}
}

func TestFilterPrecedence(t *testing.T) {
	f, err := Parse("ok || op==w && cpl==3")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := f.String(), "(ok || (op==w && cpl==0x3))"; got != want {
		t.Errorf("got %s, want %s (&& binds tighter than ||)", got, want)
	}
}

func TestFilterParseErrors(t *testing.T) {
	tests := []struct {
		expr string
		col  int
		msg  string
	}{
		{"", 1, "empty filter"},
		{"gva ==", 7, `want a number for gva, got end of filter`},
		{"bogus==1", 1, `unknown field "bogus"`},
		{"path==dirty", 7, `unknown path "dirty"`},
		{"op==r3", 5, `unknown event kind "r3"`},
		{"op==q", 5, `unknown event kind "q"`},
		{"(ok", 4, "want ) to close the ( at column 1"},
		{"ok)", 3, `unexpected ")" after a complete expression`},
		{"ok && ", 7, "want a field, ! or (, got end of filter"},
		{"gva in 1..", 11, "want a number for gva"},
		{"gva in 1 2", 10, "want .. in the range"},
		{"i == 0xzz", 6, `bad number "0xzz"`},
		{"label~\"abc", 7, "unterminated string"},
		{"ok # x", 4, `unexpected character '#'`},
		{"op < r", 4, "want == or != after op"},
		{"gva == 99999999999999999999", 8, "bad number"},
	}
	for _, tc := range tests {
		t.Run(tc.expr, func(t *testing.T) {
			_, err := Parse(tc.expr)
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("got %v, want a ParseError", err)
			}
			if pe.Col != tc.col || !contains(pe.Msg, tc.msg) {
				t.Errorf("got column %d %q, want column %d containing %q", pe.Col, pe.Msg, tc.col, tc.msg)
			}
		})
	}
}

func TestFilterDepth(t *testing.T) {
	expr := ""
	for i := 0; i < 10000; i++ {
		expr += "!"
	}
	if _, err := Parse(expr + "ok"); err == nil {
		t.Fatal("10000 nested ! parsed; want a depth error")
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

func TestTrackerLabelAndCPL(t *testing.T) {
	evs := []engine.Event{
		{Kind: engine.EvRead, Size: 1},
		{Kind: engine.EvLabel, Text: "a"},
		{Kind: engine.EvCPL, Value: 3},
		{Kind: engine.EvRead, Size: 1},
		{Kind: engine.EvReset},
		{Kind: engine.EvRead, Size: 1},
	}
	want := []struct {
		label string
		cpl   uint8
	}{{"", 0}, {"a", 0}, {"a", 0}, {"a", 3}, {"a", 3}, {"a", 0}}
	var tr Tracker
	for i, ev := range evs {
		o := engine.Outcome{Index: uint64(i), Event: ev}
		r := tr.Next(&o)
		if r.Label != want[i].label || r.CPL != want[i].cpl {
			t.Errorf("event %d %v: label %q cpl %d, want %q %d", i, ev.Kind, r.Label, r.CPL, want[i].label, want[i].cpl)
		}
	}
}

// TestFilterPCID: with PCIDs two processes can share a root table and
// differ in CR3's low bits; as, pcid and root tell them apart or not.
func TestFilterPCID(t *testing.T) {
	r := Record{Outcome: &engine.Outcome{Event: engine.Event{Kind: engine.EvRead, Size: 1}, OK: true, AS: 0x213005}}
	for expr, want := range map[string]bool{
		"as==0x213005": true, "as==0x213000": false, "pcid==5": true, "root==0x213000": true, "pcid==0": false,
	} {
		f, err := Parse(expr)
		if err != nil {
			t.Fatal(err)
		}
		if f.Match(&r) != want {
			t.Errorf("%s on CR3 0x213005: %v, want %v", expr, !want, want)
		}
	}
}

// TestTrackerRestore: after a restore the CPL is the saved state's,
// read from the engine.
func TestTrackerRestore(t *testing.T) {
	eng, err := engine.NewShadow(engine.Config{Ranges: []phys.RangeSpec{{Type: phys.TypeRAM, Start: 0, Size: 1 << 20, Name: "ram"}}})
	if err != nil {
		t.Fatal(err)
	}
	tr := Tracker{Eng: eng}
	var last Record
	for _, ev := range []engine.Event{
		{Kind: engine.EvCPL, Value: 3}, {Kind: engine.EvSave, Text: "s"}, {Kind: engine.EvCPL, Value: 0},
		{Kind: engine.EvRestore, Text: "s"}, {Kind: engine.EvRead, Size: 4, Addr: 0x1000},
	} {
		o, err := eng.Apply(ev)
		if err != nil {
			t.Fatal(err)
		}
		last = tr.Next(&o)
	}
	if last.CPL != 3 {
		t.Errorf("CPL after restoring a state saved at CPL 3: %d", last.CPL)
	}
}
