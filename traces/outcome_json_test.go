package traces

import (
	"encoding/json"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

func pf(code x86.ErrorCode) x86.Fault {
	kind := x86.NotPresent
	if code&x86.PFPresent != 0 {
		kind = x86.Protection
	}
	return x86.Fault{Kind: kind, Code: code}
}

// TestAppendOutcomeJSON checks the exact bytes of every outcome form, field
// order included. The first cases are the examples of TRACE-TEXT.md and
// README.md, byte for byte.
func TestAppendOutcomeJSON(t *testing.T) {
	gp := x86.Fault{Kind: x86.NonCanonical}
	tests := []struct {
		name string
		o    engine.Outcome
		want string
	}{
		{"spec read", engine.Outcome{Index: 17, Event: engine.Event{Kind: engine.EvRead, Size: 4, Addr: 0x400000},
			OK: true, GPA: 0x2000, Value: 0x12345678, Path: engine.PathSyncPage},
			`{"i":17,"op":"r4","gva":"0x400000","ok":true,"gpa":"0x2000","value":"0x12345678","path":"sync-page"}`},
		{"spec write fault", engine.Outcome{Index: 18, Event: engine.Event{Kind: engine.EvWrite, Size: 4, Addr: 0x800000, Value: 1},
			Fault: pf(x86.PFPresent | x86.PFWrite | x86.PFUser), Path: engine.PathGuestFault},
			`{"i":18,"op":"w4","gva":"0x800000","ok":false,"err":"0x7","path":"guest-fault"}`},
		{"spec pr", engine.Outcome{Index: 19, Event: engine.Event{Kind: engine.EvPhysRead, Size: 8, Addr: 0x3000},
			OK: true, GPA: 0x3000, Value: 0x2067, Path: engine.PathPhys},
			`{"i":19,"op":"pr8","gpa":"0x3000","ok":true,"value":"0x2067"}`},
		{"readme read", engine.Outcome{Index: 11, Event: engine.Event{Kind: engine.EvRead, Size: 4, Addr: 0x7c00},
			OK: true, GPA: 0x7c00, Value: 0x12345678, Path: engine.PathWalk},
			`{"i":11,"op":"r4","gva":"0x7c00","ok":true,"gpa":"0x7c00","value":"0x12345678","path":"walk"}`},
		{"readme not present", engine.Outcome{Index: 34, Event: engine.Event{Kind: engine.EvRead, Size: 4, Addr: 0x10000},
			Fault: pf(0), Path: engine.PathGuestFault},
			`{"i":34,"op":"r4","gva":"0x10000","ok":false,"err":"0x0","path":"guest-fault"}`},
		{"write ok: no value", engine.Outcome{Index: 0, Event: engine.Event{Kind: engine.EvWrite, Size: 8, Addr: 0x8010, Value: 0x0123456789abcdef},
			OK: true, GPA: 0x8010, Path: engine.PathWalk},
			`{"i":0,"op":"w8","gva":"0x8010","ok":true,"gpa":"0x8010","path":"walk"}`},
		{"fetch ok: no value", engine.Outcome{Index: 64, Event: engine.Event{Kind: engine.EvExec, Addr: 0x7000},
			OK: true, GPA: 0x7000, Path: engine.PathWalk},
			`{"i":64,"op":"x","gva":"0x7000","ok":true,"gpa":"0x7000","path":"walk"}`},
		{"fetch nx fault", engine.Outcome{Index: 65, Event: engine.Event{Kind: engine.EvExec, Addr: 0x8000},
			Fault: pf(x86.PFPresent | x86.PFFetch), Path: engine.PathGuestFault},
			`{"i":65,"op":"x","gva":"0x8000","ok":false,"err":"0x11","path":"guest-fault"}`},
		{"reserved bit fault", engine.Outcome{Index: 3, Event: engine.Event{Kind: engine.EvRead, Size: 2, Addr: 0x40000000},
			Fault: x86.Fault{Kind: x86.ReservedBit, Code: x86.PFPresent | x86.PFRsvd | x86.PFUser}, Path: engine.PathGuestFault},
			`{"i":3,"op":"r2","gva":"0x40000000","ok":false,"err":"0xd","path":"guest-fault"}`},
		{"gp", engine.Outcome{Index: 70, Event: engine.Event{Kind: engine.EvRead, Size: 4, Addr: 0x800000000000},
			Fault: gp, Path: engine.PathGP},
			`{"i":70,"op":"r4","gva":"0x800000000000","ok":false,"err":"gp","path":"gp"}`},
		{"identity read, all ones", engine.Outcome{Index: 5, Event: engine.Event{Kind: engine.EvRead, Size: 8, Addr: 0xffffffff},
			OK: true, GPA: 0xffffffff, Value: ^uint64(0), Path: engine.PathIdentity},
			`{"i":5,"op":"r8","gva":"0xffffffff","ok":true,"gpa":"0xffffffff","value":"0xffffffffffffffff","path":"identity"}`},
		{"high gva, zero value", engine.Outcome{Index: 18446744073709551615, Event: engine.Event{Kind: engine.EvRead, Size: 1, Addr: 0xffff800000000000},
			OK: true, GPA: 0xff00000000, Path: engine.PathTLBHit},
			`{"i":18446744073709551615,"op":"r1","gva":"0xffff800000000000","ok":true,"gpa":"0xff00000000","value":"0x0","path":"tlb-hit"}`},
		{"address space", engine.Outcome{Index: 9, Event: engine.Event{Kind: engine.EvRead, Size: 4, Addr: 0x400000},
			OK: true, GPA: 0x2000, Value: 1, Path: engine.PathTLBHit, AS: 0x213000},
			`{"i":9,"op":"r4","gva":"0x400000","ok":true,"gpa":"0x2000","value":"0x1","path":"tlb-hit","as":"0x213000"}`},
		{"address space with a PCID, after the handler", engine.Outcome{Index: 9, Event: engine.Event{Kind: engine.EvWrite, Size: 4, Addr: 0x400000},
			Fault: pf(x86.PFWrite), Path: engine.PathGuestFault, Handler: "vga", AS: 0x213005},
			`{"i":9,"op":"w4","gva":"0x400000","ok":false,"err":"0x2","path":"guest-fault","handler":"vga","as":"0x213005"}`},
		{"handler name with a control character and non-ASCII (JSON escapes, not Go's)", engine.Outcome{Index: 9, Event: engine.Event{Kind: engine.EvRead, Size: 1, Addr: 0x10},
			OK: true, GPA: 0x10, Value: 1, Path: engine.PathHandler, Handler: "uart\x01 é"},
			`{"i":9,"op":"r1","gva":"0x10","ok":true,"gpa":"0x10","value":"0x1","path":"handler","handler":"uart\u0001 é"}`},
		{"physical read: no address space", engine.Outcome{Index: 9, Event: engine.Event{Kind: engine.EvPhysRead, Size: 1, Addr: 0x10},
			OK: true, GPA: 0x10, Value: 1, Path: engine.PathPhys, AS: 0x213000},
			`{"i":9,"op":"pr1","gpa":"0x10","ok":true,"value":"0x1"}`},
		{"no path", engine.Outcome{Index: 1, Event: engine.Event{Kind: engine.EvRead, Size: 4, Addr: 0x10},
			OK: true, GPA: 0x10, Value: 7},
			`{"i":1,"op":"r4","gva":"0x10","ok":true,"gpa":"0x10","value":"0x7"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := string(AppendOutcomeJSON(nil, &tc.o))
			if got != tc.want {
				t.Errorf("AppendOutcomeJSON:\n got %s\nwant %s", got, tc.want)
			}
			if !json.Valid([]byte(got)) {
				t.Errorf("not valid JSON: %s", got)
			}
			// AppendOutcomeJSON appends: a prefix stays as it was.
			pre := []byte("prefix\n")
			if got := string(AppendOutcomeJSON(pre, &tc.o)); got != "prefix\n"+tc.want {
				t.Errorf("AppendOutcomeJSON(prefix) = %q", got)
			}
		})
	}
}
