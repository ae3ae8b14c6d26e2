package engine_test

import (
	"strings"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// TestEventKindNumbers pins the event kinds: their numbers are stored in
// binary traces and their names are the keywords of the text form.
func TestEventKindNumbers(t *testing.T) {
	noReg := x86.Reg(255)
	tests := []struct {
		kind   engine.EventKind
		num    uint8
		name   string
		sized  bool
		access bool
		reg    x86.Reg
	}{
		{engine.EvInvalid, 0, "invalid", false, false, noReg},
		{engine.EvCR0, 1, "cr0", false, false, x86.CR0},
		{engine.EvCR3, 2, "cr3", false, false, x86.CR3},
		{engine.EvCR4, 3, "cr4", false, false, x86.CR4},
		{engine.EvEFER, 4, "efer", false, false, x86.EFER},
		{engine.EvCPL, 5, "cpl", false, false, noReg},
		{engine.EvPhysWrite, 6, "pw", true, false, noReg},
		{engine.EvPhysRead, 7, "pr", true, false, noReg},
		{engine.EvRead, 8, "r", true, true, noReg},
		{engine.EvWrite, 9, "w", true, true, noReg},
		{engine.EvExec, 10, "x", false, true, noReg},
		{engine.EvInvlpg, 11, "invlpg", false, false, noReg},
		{engine.EvLabel, 12, "label", false, false, noReg},
		{engine.EvPhysHandler, 13, "phys-handler", false, false, noReg},
		{engine.EvPhysUnhandler, 14, "phys-unhandler", false, false, noReg},
		{engine.EvPhysHandlerReset, 15, "phys-handler-reset", false, false, noReg},
		{engine.EvPhysHandlerOff, 16, "phys-handler-off", false, false, noReg},
		{engine.EvBalloon, 17, "balloon", false, false, noReg},
		{engine.EvDeflate, 18, "deflate", false, false, noReg},
		{engine.EvShare, 19, "share", false, false, noReg},
		{engine.EvReset, 20, "reset", false, false, noReg},
		{engine.EvSave, 21, "save", false, false, noReg},
		{engine.EvRestore, 22, "restore", false, false, noReg},
		{engine.EvVirtHandler, 23, "virt-handler", false, false, noReg},
		{engine.EvVirtUnhandler, 24, "virt-unhandler", false, false, noReg},
		{engine.EvMappingsFix, 25, "mappings-fix", false, false, noReg},
		{engine.EvMappingsUnfix, 26, "mappings-unfix", false, false, noReg},
		{engine.EvInvpcid, 27, "invpcid", false, false, noReg},
		{engine.EvAC, 28, "ac", false, false, noReg},
		{engine.EvPKRU, 29, "pkru", false, false, noReg},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if uint8(tc.kind) != tc.num {
				t.Errorf("number = %d, want %d", uint8(tc.kind), tc.num)
			}
			if got := tc.kind.String(); got != tc.name {
				t.Errorf("String() = %q, want %q", got, tc.name)
			}
			if got, want := tc.kind.Valid(), tc.kind != engine.EvInvalid; got != want {
				t.Errorf("Valid() = %v, want %v", got, want)
			}
			if got := tc.kind.Sized(); got != tc.sized {
				t.Errorf("Sized() = %v, want %v", got, tc.sized)
			}
			if got := tc.kind.Access(); got != tc.access {
				t.Errorf("Access() = %v, want %v", got, tc.access)
			}
			reg, ok := tc.kind.Reg()
			if ok != (tc.reg != noReg) || (ok && reg != tc.reg) {
				t.Errorf("Reg() = %v, %v; want %v", reg, ok, tc.reg)
			}
		})
	}
	// Every number past the last kind is invalid, and prints as a number.
	for _, n := range []uint8{30, 31, 100, 255} {
		k := engine.EventKind(n)
		if k.Valid() || k.Sized() || k.Access() {
			t.Errorf("EventKind(%d) is valid, sized or an access", n)
		}
		if _, ok := k.Reg(); ok {
			t.Errorf("EventKind(%d) writes a register", n)
		}
		if got, want := k.String(), "EventKind("; !strings.HasPrefix(got, want) {
			t.Errorf("EventKind(%d).String() = %q, want prefix %q", n, got, want)
		}
	}
}

func TestEventOp(t *testing.T) {
	tests := []struct {
		ev   engine.Event
		want string
	}{
		{engine.Event{Kind: engine.EvRead, Size: 4}, "r4"},
		{engine.Event{Kind: engine.EvRead, Size: 1}, "r1"},
		{engine.Event{Kind: engine.EvWrite, Size: 8}, "w8"},
		{engine.Event{Kind: engine.EvWrite, Size: 2}, "w2"},
		{engine.Event{Kind: engine.EvPhysRead, Size: 8}, "pr8"},
		{engine.Event{Kind: engine.EvPhysWrite, Size: 4}, "pw4"},
		{engine.Event{Kind: engine.EvExec}, "x"},
		{engine.Event{Kind: engine.EvCR0}, "cr0"},
		{engine.Event{Kind: engine.EvCR3}, "cr3"},
		{engine.Event{Kind: engine.EvCR4}, "cr4"},
		{engine.Event{Kind: engine.EvEFER}, "efer"},
		{engine.Event{Kind: engine.EvCPL, Value: 3}, "cpl"},
		{engine.Event{Kind: engine.EvInvlpg, Addr: 0x1000}, "invlpg"},
		{engine.Event{Kind: engine.EvLabel, Text: "boot"}, "label"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			if got := tc.ev.Op(); got != tc.want {
				t.Errorf("Op() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestValidSize(t *testing.T) {
	for s := 0; s < 256; s++ {
		want := s == 1 || s == 2 || s == 4 || s == 8
		if got := engine.ValidSize(uint8(s)); got != want {
			t.Errorf("ValidSize(%d) = %v, want %v", s, got, want)
		}
	}
}

func TestEventValidate(t *testing.T) {
	tests := []struct {
		name    string
		ev      engine.Event
		wantErr string // "" for valid
	}{
		{"read", engine.Event{Kind: engine.EvRead, Size: 4, Addr: 0x1000}, ""},
		{"write8", engine.Event{Kind: engine.EvWrite, Size: 8, Addr: 0x1000, Value: 1}, ""},
		{"pw1", engine.Event{Kind: engine.EvPhysWrite, Size: 1}, ""},
		{"pr2", engine.Event{Kind: engine.EvPhysRead, Size: 2}, ""},
		{"exec without size", engine.Event{Kind: engine.EvExec, Addr: 0x1000}, ""},
		{"cr0", engine.Event{Kind: engine.EvCR0, Value: 0x80000011}, ""},
		{"cpl 0", engine.Event{Kind: engine.EvCPL, Value: 0}, ""},
		{"cpl 3", engine.Event{Kind: engine.EvCPL, Value: 3}, ""},
		{"label", engine.Event{Kind: engine.EvLabel, Text: "x"}, ""},
		{"kind 0", engine.Event{}, "unknown event kind 0"},
		{"kind 30", engine.Event{Kind: 30}, "unknown event kind 30"},
		{"invpcid 3 4095", engine.Event{Kind: engine.EvInvpcid, Size: 3, Value: 4095}, ""},
		{"invpcid type 4", engine.Event{Kind: engine.EvInvpcid, Size: 4}, "invpcid: #GP: type 4 is above 3"},
		{"invpcid PCID 4096", engine.Event{Kind: engine.EvInvpcid, Value: 4096}, "invpcid: #GP: PCID 0x1000 is above 0xfff"},
		{"ac 1", engine.Event{Kind: engine.EvAC, Value: 1}, ""},
		{"ac 2", engine.Event{Kind: engine.EvAC, Value: 2}, "ac 2 is not 0 or 1"},
		{"pkru 32 bits", engine.Event{Kind: engine.EvPKRU, Value: 0xffffffff}, ""},
		{"pkru 33 bits", engine.Event{Kind: engine.EvPKRU, Value: 1 << 32}, "pkru 0x100000000 does not fit in 32 bits"},
		{"handler type 0", engine.Event{Kind: engine.EvPhysHandler, Value: 4096}, "phys-handler: type 0 is not mmio, write or all"},
		{"handler of size 0", engine.Event{Kind: engine.EvPhysHandler, Size: 2}, "phys-handler: size 0"},
		{"read size 3", engine.Event{Kind: engine.EvRead, Size: 3}, "r: access size 3 is not 1, 2, 4 or 8"},
		{"read size 0", engine.Event{Kind: engine.EvRead}, "r: access size 0 is not 1, 2, 4 or 8"},
		{"write size 16", engine.Event{Kind: engine.EvWrite, Size: 16}, "w: access size 16 is not 1, 2, 4 or 8"},
		{"pw size 5", engine.Event{Kind: engine.EvPhysWrite, Size: 5}, "pw: access size 5 is not 1, 2, 4 or 8"},
		{"pr size 7", engine.Event{Kind: engine.EvPhysRead, Size: 7}, "pr: access size 7 is not 1, 2, 4 or 8"},
		{"cpl 4", engine.Event{Kind: engine.EvCPL, Value: 4}, "cpl 4 is not 0..3"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.ev.Validate()
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tc.wantErr != "" && err == nil:
				t.Errorf("Validate() = nil, want %q", tc.wantErr)
			case tc.wantErr != "" && err.Error() != tc.wantErr:
				t.Errorf("Validate() = %q, want %q", err, tc.wantErr)
			}
		})
	}
}
