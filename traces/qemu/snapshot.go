package qemu

import (
	"encoding/binary"
	"fmt"
	"strconv"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/phys"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
	"github.com/pgm-explorer/pgm-explorer/traces"
)

// Options say how a snapshot becomes a trace.
type Options struct {
	// NXE: "auto" (or ""): EFER.NXE is on when a reachable present entry
	// has bit 63 set (a guest sets it only with NXE on; without it the bit
	// is reserved), "on" or "off" to say. Ignored when the registers came
	// with EFER (a gdbstub).
	NXE string
	// MaxPhys is the CPU's MAXPHYADDR; 0 means 40 (QEMU's TCG default),
	// raised when guest memory reaches higher.
	MaxPhys uint8
	// AllLeaves reads every present leaf instead of a sample per region.
	AllLeaves bool
	// Addresses are read too, in this order (a user's list).
	Addresses []uint64
	// MaxSamples bounds the region samples (0: DefaultMaxSamples); the
	// regions are thinned evenly beyond it.
	MaxSamples int
	// Source names the snapshot in labels and metadata (a file name, an
	// address).
	Source string
	// MaxLeaves bounds the present leaves walked (0: MaxLeaves).
	MaxLeaves int
	// NoData: do not copy the bytes under the addresses read (a live
	// guest: such an address may be a device's register).
	NoData bool
	// PKRU, when set, is the protection-key rights register the trace
	// loads (a core does not hold it; without it keys forbid nothing).
	PKRU *uint32
}

// DefaultMaxSamples bounds the region samples of a snapshot.
const DefaultMaxSamples = 4096

// Snapshot is a guest's address space as a trace: a header and the
// events that rebuild it in the engine.
type Snapshot struct {
	Header  traces.Header
	Events  []engine.Event
	Tables  *Tables
	Regs    Regs // EFER completed
	Regions []Region
	Stats   SnapshotStats
}

// SnapshotStats count what a snapshot holds.
type SnapshotStats struct {
	TablePages int // table pages written
	Entries    int // non-zero entries written
	Leaves     int // present leaves reached
	Samples    int // guest reads added (regions, leaves, addresses, RIP and RSP)
}

// Region is a run of present leaves with the same effective rights and
// no gap of more than 2 MiB between them: what `info mem` and Linux's
// page-table dump print as one line, give or take holes.
type Region struct {
	Start, End        uint64 // [Start, End) of linear space, End past the last leaf
	Leaves            int
	User, Write, NX   bool
	FirstPA, FirstLen uint64
}

const regionGap = 2 << 20

// Build turns a snapshot (memory, its ranges, a vCPU's registers) into a
// trace. Only the table pages reachable from CR3 and the 8 bytes under
// each sampled address are written, never the whole memory.
func Build(mem PhysReader, ranges []phys.RangeSpec, r Regs, o Options) (*Snapshot, error) {
	maxPhys := o.MaxPhys
	if maxPhys == 0 {
		maxPhys = x86.DefaultMaxPhys
		for _, rg := range ranges {
			for end := uint64(rg.Start) + rg.Size; end > 1<<maxPhys && maxPhys < x86.MaxMaxPhys; {
				maxPhys++
			}
		}
	}
	mode := x86.GuestMode(r.CR0, r.CR4, r.EFER)
	if !mode.Paging() {
		return nil, fmt.Errorf("the vCPU has paging off (%v, CR0 %#x): nothing to import", mode, r.CR0)
	}
	t, err := ReadTables(mem, mode, r.CR3, r.CR4, maxPhys)
	if err != nil {
		return nil, err
	}
	if !r.EFERKnown && mode.PAEFormat() {
		switch o.NXE {
		case "", "auto":
			if t.NXUsed {
				r.EFER |= eferNXE
			}
		case "on":
			r.EFER |= eferNXE
		case "off":
		default:
			return nil, fmt.Errorf("--nxe %q: want auto, on or off", o.NXE)
		}
		// The tables were read with NX on; the walk of leaves must use
		// the mode the trace will have.
		if t.Format, err = x86.NewFormat(x86.GuestMode(r.CR0, r.CR4, r.EFER), r.CR4, maxPhys); err != nil {
			return nil, err
		}
	}
	t.LeafLimit = o.MaxLeaves
	s := &Snapshot{Tables: t, Regs: r}
	s.Header = traces.Header{Version: 1, Config: engine.Config{Ranges: ranges, MaxPhys: maxPhys},
		Meta: map[string]string{"source": "qemu", "snapshot": o.Source, "mode": x86.GuestMode(r.CR0, r.CR4, r.EFER).String(),
			"efer": fmt.Sprintf("%#x", r.EFER&^eferLMA), "efer-from": eferFrom(r, o)}}
	if err := s.validate(mem, maxPhys); err != nil {
		return nil, err
	}
	ev := &s.Events
	add := func(e engine.Event) { *ev = append(*ev, e) }
	add(engine.Event{Kind: engine.EvLabel, Text: "page tables of " + o.Source})
	for _, tb := range t.Pages {
		s.Stats.TablePages++
		for i := 0; i < tb.Len(); i++ {
			if e := tb.Entry(i); e != 0 {
				add(engine.Event{Kind: engine.EvPhysWrite, Size: tb.size, Addr: tb.GPA + uint64(i)*uint64(tb.size), Value: uint64(e)})
				s.Stats.Entries++
			}
		}
	}
	if err := s.regions(o); err != nil {
		return nil, err
	}
	var reads []read
	user, kernel := s.samples(o)
	for _, va := range o.Addresses {
		if s.isUser(va) {
			user = append(user, va)
		} else {
			kernel = append(kernel, va)
		}
	}
	for _, va := range user {
		reads = append(reads, read{va, 3, engine.EvRead})
	}
	for _, va := range kernel {
		reads = append(reads, read{va, 0, engine.EvRead})
	}
	reads = append(reads, read{r.RIP, r.CPL, engine.EvExec}, read{r.RSP &^ 7, r.CPL, engine.EvRead})
	// The bytes the reads will see, so that a value read is the guest's.
	written := map[uint64]bool{}
	for _, rd := range reads {
		if o.NoData {
			break
		}
		if pa, ok := t.Translate(rd.va &^ 7); ok && !written[pa] {
			written[pa] = true
			var b [8]byte
			if mem.ReadPhys(pa, b[:]) == nil && inRanges(ranges, pa) {
				if v := binary.LittleEndian.Uint64(b[:]); v != 0 {
					add(engine.Event{Kind: engine.EvPhysWrite, Size: 8, Addr: pa, Value: v})
				}
			}
		}
	}
	add(engine.Event{Kind: engine.EvLabel, Text: fmt.Sprintf("registers: CR0 %#x CR3 %#x CR4 %#x EFER %#x", r.CR0, r.CR3, r.CR4, r.EFER&^eferLMA)})
	for _, e := range regEvents(r) {
		add(e)
	}
	if r.AC {
		add(engine.Event{Kind: engine.EvAC, Value: 1})
	}
	if o.PKRU != nil {
		add(engine.Event{Kind: engine.EvPKRU, Value: uint64(*o.PKRU)})
		s.Header.Meta["pkru"] = fmt.Sprintf("%#x, given", *o.PKRU)
	}
	cpl, labelled := uint8(255), [4]bool{}
	for i, rd := range reads {
		if i == len(reads)-2 {
			add(engine.Event{Kind: engine.EvLabel, Text: fmt.Sprintf("the vCPU at RIP %#x, RSP %#x, CPL %d", r.RIP, r.RSP, r.CPL)})
		} else if !labelled[rd.cpl] {
			labelled[rd.cpl] = true
			add(engine.Event{Kind: engine.EvLabel, Text: map[uint8]string{3: "user mappings, one read per region", 0: "kernel mappings, one read per region"}[rd.cpl]})
		}
		if rd.cpl != cpl {
			add(engine.Event{Kind: engine.EvCPL, Value: uint64(rd.cpl)})
			cpl = rd.cpl
		}
		if rd.kind == engine.EvExec {
			add(engine.Event{Kind: engine.EvExec, Addr: rd.va})
		} else {
			add(engine.Event{Kind: engine.EvRead, Size: 8, Addr: rd.va &^ 7})
		}
		s.Stats.Samples++
	}
	return s, nil
}

type read struct {
	va   uint64
	cpl  uint8
	kind engine.EventKind
}

func eferFrom(r Regs, o Options) string {
	switch {
	case r.EFERKnown:
		return "read"
	case o.NXE == "on" || o.NXE == "off":
		return "LME from the mode, NXE given (--nxe " + o.NXE + ")"
	}
	return "LME from the mode, NXE inferred from bit 63 in present entries"
}

// regEvents are the control-register writes that put a CPU at reset
// into r's mode: CR4 and EFER first (PAE and LME must be on before
// paging), then CR3, then CR0, which turns paging on.
func regEvents(r Regs) []engine.Event {
	return []engine.Event{
		{Kind: engine.EvCR4, Value: r.CR4},
		{Kind: engine.EvEFER, Value: r.EFER &^ eferLMA},
		{Kind: engine.EvCR3, Value: r.CR3},
		{Kind: engine.EvCR0, Value: r.CR0},
	}
}

// validate replays the register writes on the engine's own register
// model, so that a state the engine refuses (a CR4 feature it does not
// model, say) is a clear error now rather than at replay.
func (s *Snapshot) validate(mem PhysReader, maxPhys uint8) error {
	var regs x86.Regs
	regs.Reset(maxPhys)
	for _, e := range regEvents(s.Regs) {
		reg, _ := e.Kind.Reg()
		if _, err := regs.Write(reg, e.Value, entryReader{mem}); err != nil {
			return fmt.Errorf("the engine refuses the vCPU's registers: %w", err)
		}
	}
	return nil
}

// entryReader adapts a PhysReader to the walker's Memory for the PDPTE
// load of legacy PAE paging.
type entryReader struct{ mem PhysReader }

func (m entryReader) ReadEntry(a x86.GPA, size int) uint64 {
	var b [8]byte
	if m.mem.ReadPhys(uint64(a), b[:size]) != nil {
		return ^uint64(0)
	}
	return binary.LittleEndian.Uint64(b[:])
}

func (m entryReader) SetEntryBits(x86.GPA, int, uint64) {}

func inRanges(rs []phys.RangeSpec, pa uint64) bool {
	for _, r := range rs {
		if pa >= uint64(r.Start) && pa-uint64(r.Start) < r.Size {
			return r.Type == phys.TypeRAM
		}
	}
	return false
}

// isUser says at which privilege an address is read: in long mode the
// lower half is user space (for every OS the explorer meets); in legacy
// modes, where there are no halves, the region's U bit decides.
func (s *Snapshot) isUser(va uint64) bool {
	if s.Tables.Format.Mode.Long() {
		return int64(va) >= 0
	}
	for _, r := range s.Regions {
		if va >= r.Start && va < r.End {
			return r.User
		}
	}
	return false
}

// Name is the snapshot's trace name in labels: the source and its vCPU.
func Name(source string, cpu int) string { return source + ", vCPU " + strconv.Itoa(cpu) }
