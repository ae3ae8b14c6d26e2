package phys

import (
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

type recordingHandler struct {
	reads, writes []x86.GPA
	handleWrites  bool
}

func (h *recordingHandler) PhysRead(gpa x86.GPA, dst []byte) bool {
	h.reads = append(h.reads, gpa)
	for i := range dst {
		dst[i] = 0xab
	}
	return true
}

func (h *recordingHandler) PhysWrite(gpa x86.GPA, src []byte) bool {
	h.writes = append(h.writes, gpa)
	return h.handleWrites
}

func TestAccessHandlerStates(t *testing.T) {
	for _, tc := range []struct {
		name          string
		state         HandlerState
		handleWrites  bool
		wantRead      uint64
		wantMem       uint64
		reads, writes int
	}{
		{"none", HandlerNone, true, 0x11, 0x22, 0, 0},
		{"disabled", HandlerDisabled, true, 0x11, 0x22, 0, 0},
		{"write default", HandlerWrite, false, 0x11, 0x22, 0, 1},
		{"write handled", HandlerWrite, true, 0x11, 0x11, 0, 1},
		{"all", HandlerAll, true, 0xabababab, 0x11, 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := New(0)
			if err := m.AddRange(RangeSpec{Type: TypeRAM, Size: 1 << 20}); err != nil {
				t.Fatal(err)
			}
			m.Write(0x1000, 4, 0x11)
			h := &recordingHandler{handleWrites: tc.handleWrites}
			m.SetAccessHandler(h)
			// Prime the page TLB so a stale fast path would show.
			m.Read(0x1000, 4)
			if err := m.SetHandlerState(0x1000, tc.state, HandlerNone); err != nil {
				t.Fatal(err)
			}
			if got := m.Read(0x1000, 4); got != tc.wantRead {
				t.Errorf("read %#x, want %#x", got, tc.wantRead)
			}
			m.Write(0x1000, 4, 0x22)
			var buf [4]byte
			m.ReadNoHandler(0x1000, buf[:])
			if got := uint64(buf[0]); got != tc.wantMem {
				t.Errorf("memory holds %#x, want %#x", got, tc.wantMem)
			}
			m.SetEntryBits(0x1000, 4, 0x100) // never seen by handlers
			if len(h.writes) != tc.writes {
				t.Errorf("%d handler writes, want %d", len(h.writes), tc.writes)
			}
			if len(h.reads) != tc.reads {
				t.Errorf("%d handler reads, want %d", len(h.reads), tc.reads)
			}
			if err := m.Check(); err != nil {
				t.Error(err)
			}
		})
	}
}

// stateChanger drops the page's handler state from inside its write
// handler, as the engine does when a write retires the last monitored
// table of a page.
type stateChanger struct{ m *Memory }

func (h stateChanger) PhysRead(x86.GPA, []byte) bool { return false }
func (h stateChanger) PhysWrite(gpa x86.GPA, src []byte) bool {
	h.m.SetHandlerState(gpa, HandlerNone, HandlerNone)
	return false
}

func TestHandlerChangingState(t *testing.T) {
	m := New(0)
	if err := m.AddRange(RangeSpec{Type: TypeRAM, Size: 1 << 20}); err != nil {
		t.Fatal(err)
	}
	m.SetAccessHandler(stateChanger{m})
	m.SetHandlerState(0x2000, HandlerWrite, HandlerNone)
	m.Write(0x2000, 4, 0x1234)
	if got := m.Read(0x2000, 4); got != 0x1234 {
		t.Fatalf("read %#x after the handler changed the page, want 0x1234", got)
	}
	if err := m.Check(); err != nil {
		t.Fatal(err)
	}
}
