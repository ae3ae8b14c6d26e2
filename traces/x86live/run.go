package x86live

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/traces"
)

// Way is how the guest's virtual addresses are translated.
type Way uint8

const (
	// WayUnicorn: Unicorn's own MMU walks the guest tables (the
	// independent reference).
	WayUnicorn Way = iota
	// WayEngine: the PGM engine is the MMU.
	WayEngine
)

func (w Way) String() string {
	if w == WayEngine {
		return "engine"
	}
	return "unicorn"
}

const (
	// DefaultMaxInstructions and DefaultMaxDuration stop a guest that
	// never halts, whichever comes first: the built-in guests run a few
	// thousand instructions in well under a second, while every
	// instruction of a run costs an event, an outcome and an observation
	// in memory (about 150 bytes) and 10 to 30 µs.
	DefaultMaxInstructions = 1_000_000
	DefaultMaxDuration     = 5 * time.Second
)

// ErrRunaway: the guest ran into a limit (Options.MaxInstructions or
// MaxDuration) without halting.
var ErrRunaway = errors.New("the guest did not halt")

// Options configure a run.
type Options struct {
	Library         string        // libunicorn path; "" searches (see unicorn.Candidates)
	Paging          engine.Paging // engine way: shadow tables or nested paging
	Check           bool          // engine way: the invariant checker after every event (what it touched) and at the end
	CheckEvery      int           // with Check: a full check every this many events; 0: engine.DefaultCheckEvery
	MaxInstructions uint64        // 0: DefaultMaxInstructions
	MaxDuration     time.Duration // wall-clock time of one run; 0: DefaultMaxDuration
}

// ObsKind is what a guest observation is.
type ObsKind uint8

const (
	ObsExec  ObsKind = iota // an instruction started at Addr (virtual)
	ObsRead                 // a data read at physical Addr of Size bytes gave Value
	ObsWrite                // a data write of Value at physical Addr
	ObsFault                // a #PF at virtual Addr (CR2) with error code Value, from EIP
	ObsCR                   // control register Addr (0 cr0, 1 cr3, 2 cr4, 3 efer) became Value
	ObsInt                  // a software interrupt (int Addr) from EIP, the instruction after it
)

// Obs is one thing the guest did or saw. Physical addresses are what
// both ways share: Unicorn's memory hooks report no virtual address.
type Obs struct {
	Kind  ObsKind
	Size  uint8
	Addr  uint64
	Value uint64
	EIP   uint64
	Event int64 // engine way: index of the engine event it came with; -1 otherwise
}

func (o Obs) String() string {
	switch o.Kind {
	case ObsExec:
		return fmt.Sprintf("instruction at %#x", o.Addr)
	case ObsRead:
		return fmt.Sprintf("read%d at physical %#x = %#x", o.Size, o.Addr, o.Value)
	case ObsWrite:
		return fmt.Sprintf("write%d of %#x at physical %#x", o.Size, o.Value, o.Addr)
	case ObsFault:
		return fmt.Sprintf("#PF at %#x error %#x from %#x", o.Addr, o.Value, o.EIP)
	case ObsCR:
		return fmt.Sprintf("%s = %#x", [...]string{"cr0", "cr3", "cr4", "efer"}[o.Addr&3], o.Value)
	case ObsInt:
		return fmt.Sprintf("int %#x, returning to %#x", o.Addr, o.EIP)
	}
	return "?"
}

// Regs are the registers compared at the end of a run.
type Regs struct {
	GPR                      [8]uint64 // eax, ecx, edx, ebx, esp, ebp, esi, edi
	EIP, EFLAGS              uint64
	CR0, CR2, CR3, CR4, EFER uint64
}

// Run is the record of one run of a program.
type Run struct {
	Program string
	Way     Way
	Obs     []Obs
	// Events are the engine events of the run with their Outcomes (engine
	// way). The reference way records its accesses physically (pr/pw):
	// Unicorn's memory hooks see no virtual address; it has no outcomes.
	Events       []engine.Event
	Outcomes     []engine.Outcome
	Regs         Regs
	RAM          []byte
	MMIO         [MMIOSize]byte
	Instructions uint64
	Accesses     uint64 // data accesses
	Faults       uint64
	Duration     time.Duration
}

// Header is the trace header of a recording of r.
func (r *Run) Header(paging engine.Paging) traces.Header {
	return traces.Header{Version: 1, Config: Config(paging), Meta: map[string]string{
		"x86":     r.Program,
		"x86-mmu": r.Way.String(),
	}}
}

// Diff is where two runs part.
type Diff struct {
	Index int    // observation index, -1 for the final state
	Event int64  // engine event index of the engine run's observation, -1 if none
	What  string // a sentence
}

func (d *Diff) Error() string { return d.What }

// Compare reports the first difference in what the guest saw between a
// reference run and an engine run: the observation stream (instructions,
// values read, writes, faults and their addresses and error codes,
// control registers), then the final registers, RAM and device.
func Compare(ref, eng *Run) *Diff {
	n := min(len(ref.Obs), len(eng.Obs))
	for i := 0; i < n; i++ {
		a, b := ref.Obs[i], eng.Obs[i]
		a.Event, b.Event = 0, 0
		if a != b {
			return &Diff{Index: i, Event: eng.Obs[i].Event, What: fmt.Sprintf(
				"observation %d (engine event %d): the reference saw %s, the engine %s%s",
				i, eng.Obs[i].Event, a, b, context(ref.Obs, i))}
		}
	}
	if len(ref.Obs) != len(eng.Obs) {
		longer, w := ref, "reference"
		if len(eng.Obs) > len(ref.Obs) {
			longer, w = eng, "engine"
		}
		return &Diff{Index: n, Event: -1, What: fmt.Sprintf("the %s run goes on after observation %d: %s", w, n, longer.Obs[n])}
	}
	ra, rb := ref.Regs, eng.Regs
	if ra != rb {
		return &Diff{Index: -1, Event: -1, What: fmt.Sprintf("final registers differ:\n  reference %+v\n  engine    %+v", ra, rb)}
	}
	for i := range ref.RAM {
		if i < len(eng.RAM) && ref.RAM[i] != eng.RAM[i] {
			p := i &^ 7
			return &Diff{Index: -1, Event: -1, What: fmt.Sprintf("final RAM differs at physical %#x: reference % x, engine % x",
				i, ref.RAM[p:min(p+8, len(ref.RAM))], eng.RAM[p:min(p+8, len(eng.RAM))])}
		}
	}
	if ref.MMIO != eng.MMIO {
		return &Diff{Index: -1, Event: -1, What: "the device registers differ at the end"}
	}
	return nil
}

func context(obs []Obs, i int) string {
	var b strings.Builder
	b.WriteString("\n  before it:")
	for j := max(0, i-4); j < i; j++ {
		fmt.Fprintf(&b, "\n    %d: %s", j, obs[j])
	}
	return b.String()
}

// Source yields the engine way's events with their outcomes one at a
// time, for a viewer that steps through a live guest. The guest has run
// to its end when NewSource returns (the built-in guests take
// milliseconds), so stepping costs nothing and never blocks on the
// emulator.
type Source struct {
	run  *Run
	next int
}

// NewSource runs p with the engine as the MMU.
func NewSource(p *Program, opt Options) (*Source, error) {
	r, err := RunProgram(p, WayEngine, opt)
	if err != nil {
		return nil, err
	}
	return &Source{run: r}, nil
}

// Header is the trace header of the source's machine.
func (s *Source) Header(paging engine.Paging) traces.Header { return s.run.Header(paging) }

// Next returns the next event and its outcome; ok is false at the end.
func (s *Source) Next() (ev engine.Event, o engine.Outcome, ok bool) {
	if s.next >= len(s.run.Events) {
		return ev, o, false
	}
	i := s.next
	s.next++
	return s.run.Events[i], s.run.Outcomes[i], true
}

// Run is the whole record.
func (s *Source) Run() *Run { return s.run }
