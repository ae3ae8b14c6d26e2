package engine

import (
	"fmt"

	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// EventKind is what a trace event does. The numbers are stored in binary
// traces: changing one is a format change (a test pins them).
type EventKind uint8

const (
	EvInvalid   EventKind = 0
	EvCR0       EventKind = 1  // Value: new CR0
	EvCR3       EventKind = 2  // Value: new CR3
	EvCR4       EventKind = 3  // Value: new CR4
	EvEFER      EventKind = 4  // Value: new EFER (LMA ignored)
	EvCPL       EventKind = 5  // Value: 0..3
	EvPhysWrite EventKind = 6  // Addr: GPA, Size, Value
	EvPhysRead  EventKind = 7  // Addr: GPA, Size
	EvRead      EventKind = 8  // Addr: GVA, Size
	EvWrite     EventKind = 9  // Addr: GVA, Size, Value
	EvExec      EventKind = 10 // Addr: GVA
	EvInvlpg    EventKind = 11 // Addr: GVA
	EvLabel     EventKind = 12 // Text

	// Hypervisor-side events: what devices and the VMM do to guest memory.
	EvPhysHandler      EventKind = 13 // Size: PhysHandlerType, Addr: GPA, Value: bytes, Text: name
	EvPhysUnhandler    EventKind = 14 // Addr: the handler's first byte
	EvPhysHandlerReset EventKind = 15 // Addr: the handler's first byte
	EvPhysHandlerOff   EventKind = 16 // Addr: the handler's first byte, Value: the page to turn off
	EvBalloon          EventKind = 17 // Addr: GPA of a page the guest's balloon takes
	EvDeflate          EventKind = 18 // Addr: GPA of a page the balloon gives back
	EvShare            EventKind = 19 // one pass of the page-sharing scan
	EvReset            EventKind = 20 // machine reset
	EvSave             EventKind = 21 // Text: snapshot name; the machine's state is kept under it
	EvRestore          EventKind = 22 // Text: snapshot name to load (a full resync follows)
	EvVirtHandler      EventKind = 23 // Size: VirtHandlerType, Addr: GVA, Value: bytes, Text: name
	EvVirtUnhandler    EventKind = 24 // Addr: the handler's first byte
	EvMappingsFix      EventKind = 25 // Addr: GVA, Value: bytes: fix the hypervisor mappings there
	EvMappingsUnfix    EventKind = 26 // let the hypervisor mappings float again

	// Modern paging features (TRACE-TEXT.md, "Modern paging features").
	EvInvpcid EventKind = 27 // Size: INVPCID type 0..3, Value: PCID, Addr: GVA (type 0)
	EvAC      EventKind = 28 // Value: RFLAGS.AC, 0 or 1
	EvPKRU    EventKind = 29 // Value: PKRU (32 bits)
	evMax     EventKind = 30
)

// MaxPCID is the largest process-context identifier (12 bits).
const MaxPCID = 4095

var eventNames = [evMax]string{
	"invalid", "cr0", "cr3", "cr4", "efer", "cpl", "pw", "pr", "r", "w", "x", "invlpg", "label",
	"phys-handler", "phys-unhandler", "phys-handler-reset", "phys-handler-off",
	"balloon", "deflate", "share", "reset", "save", "restore", "virt-handler", "virt-unhandler",
	"mappings-fix", "mappings-unfix", "invpcid", "ac", "pkru",
}

// String is the kind's name as the text form spells it (without size).
func (k EventKind) String() string {
	if k < evMax {
		return eventNames[k]
	}
	return fmt.Sprintf("EventKind(%d)", uint8(k))
}

// Valid reports whether k is a known kind.
func (k EventKind) Valid() bool { return k > EvInvalid && k < evMax }

// Sized reports whether events of kind k carry an access size.
func (k EventKind) Sized() bool {
	return k == EvPhysWrite || k == EvPhysRead || k == EvRead || k == EvWrite
}

// Access reports whether k is a guest memory access through paging.
func (k EventKind) Access() bool { return k == EvRead || k == EvWrite || k == EvExec }

// Reg is the control register a register-write kind writes.
func (k EventKind) Reg() (x86.Reg, bool) {
	switch k {
	case EvCR0:
		return x86.CR0, true
	case EvCR3:
		return x86.CR3, true
	case EvCR4:
		return x86.CR4, true
	case EvEFER:
		return x86.EFER, true
	}
	return 0, false
}

// Event is one step of a guest workload.
type Event struct {
	Kind  EventKind
	Size  uint8  // 1, 2, 4 or 8 for sized kinds
	Addr  uint64 // GVA or GPA, by kind
	Value uint64 // data written, register value, or CPL
	Text  string // label text
}

// Op is the event's operation as the text form and outcomes spell it:
// "r4", "pw8", "x", "cr3", ...
func (e Event) Op() string {
	if e.Kind.Sized() {
		return fmt.Sprintf("%s%d", e.Kind, e.Size)
	}
	return e.Kind.String()
}

// ValidSize reports whether s is an access size the engine accepts.
func ValidSize(s uint8) bool { return s == 1 || s == 2 || s == 4 || s == 8 }

// Validate checks the fields an engine relies on. Trace readers call it so
// that malformed events become errors, never panics.
func (e Event) Validate() error {
	if e.validAccess() {
		return nil
	}
	return e.validate()
}

// validAccess is Validate's answer for a well-formed access, the event
// nearly every replay is made of; small enough to inline.
func (e *Event) validAccess() bool {
	const sizes = 1<<1 | 1<<2 | 1<<4 | 1<<8
	return e.Kind == EvExec || (e.Kind == EvRead || e.Kind == EvWrite) && e.Size <= 8 && sizes>>e.Size&1 != 0
}

func (e Event) validate() error {
	switch {
	case !e.Kind.Valid():
		return fmt.Errorf("unknown event kind %d", uint8(e.Kind))
	case e.Kind.Sized() && !ValidSize(e.Size):
		return fmt.Errorf("%s: access size %d is not 1, 2, 4 or 8", e.Kind, e.Size)
	case e.Kind == EvCPL && e.Value > 3:
		return fmt.Errorf("cpl %d is not 0..3", e.Value)
	case e.Kind == EvPhysHandler && (e.Size < uint8(PhysMMIO) || e.Size > uint8(PhysAll)):
		return fmt.Errorf("phys-handler: type %d is not mmio, write or all", e.Size)
	case e.Kind == EvPhysHandler && e.Value == 0:
		return fmt.Errorf("phys-handler: size 0")
	case e.Kind == EvVirtHandler && (e.Size < uint8(VirtWrite) || e.Size > uint8(VirtHypervisor) || e.Value == 0):
		return fmt.Errorf("virt-handler: type %d or size %d invalid", e.Size, e.Value)
	case (e.Kind == EvSave || e.Kind == EvRestore) && e.Text == "":
		return fmt.Errorf("%s: a snapshot name is needed", e.Kind)
	case e.Kind == EvInvpcid && e.Size > 3:
		return fmt.Errorf("invpcid: #GP: type %d is above 3", e.Size)
	case e.Kind == EvInvpcid && e.Value > MaxPCID:
		return fmt.Errorf("invpcid: #GP: PCID %#x is above %#x", e.Value, MaxPCID)
	case e.Kind == EvAC && e.Value > 1:
		return fmt.Errorf("ac %d is not 0 or 1", e.Value)
	case e.Kind == EvPKRU && e.Value > 0xffffffff:
		return fmt.Errorf("pkru %#x does not fit in 32 bits", e.Value)
	}
	return nil
}
