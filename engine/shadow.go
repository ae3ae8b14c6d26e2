package engine

import (
	"errors"
	"fmt"

	"github.com/pgm-explorer/pgm-explorer/engine/stats"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// Software bits of shadow entries (the original engine's AVL usage).
const (
	shwTrackDirtyPTE = x86.Entry(x86.AVL9)  // PTE made read-only to catch the first write
	shwMapping       = x86.Entry(x86.AVL10) // PDE of a hypervisor mapping
	shwTrackDirtyPDE = x86.Entry(x86.AVL11) // PDE of a big page made read-only likewise
)

// errLivelock reports an access the engine could not resolve: a bug.
var errLivelock = errors.New("engine: access did not resolve after repeated traps")

// Shadow is the PGM engine proper: guest accesses are translated through
// a software TLB and shadow page tables in the host's paging format,
// built lazily in a page pool; misses trap to a #PF handler that syncs,
// emulates accessed and dirty bits, calls handlers or reflects real
// guest faults. With nested paging the guest tables are walked directly
// and only the guest-physical to host mapping comes from the pool.
type Shadow struct {
	guest
	reg *stats.Registry
	st  pgmStats

	paging   Paging
	shwMode  x86.Mode // shadow paging mode (NESTED or EPT under nested paging)
	switcher Switcher
	shw      *x86.Format // format of the shadow (or nested) tables
	root     uint16      // pool index of the shadow root, nilIdx when none yet
	cr3      x86.GPA     // guest CR3 as last mapped (GCPhysCR3)
	pdptes   [4]uint64   // PAE guest: the PDPTE registers the root mirrors

	pool     pool
	tlb      tlb
	maps     mappings
	dirtyPTs []uint16 // page tables unmonitored for now (Config.DirtyPT)
	inter    intermediate
	monitors map[x86.GPA]uint16 // guest page -> head of its monitor chain

	gw x86.Walk  // scratch guest walk
	nm nestedMem // scratch 2D-walk reader
	// outNotes and outRefs collect what the pool and the nested walker
	// add to the outcome of the event being applied, so that code deep
	// in the pool need not be handed the outcome. The outcome itself is
	// the caller's (ApplyTo): kept in the engine, every event paid for
	// copying it in and out (with write barriers for its strings), a
	// third of a TLB hit's cost.
	outNotes   Notes
	outRefs    uint16
	guestWrite bool // the write being emulated comes from a guest instruction
	// deny[kind]: the keys (bits 0..15) whose user pages SMEP, SMAP or
	// PKRU refuse to an access of that kind now; see rights.go.
	deny [3]uint32
	// walkRoot is s.regs.Root(), kept with deny: the #PF handler walks
	// from it on every trap.
	walkRoot   x86.Root
	syncAlways bool // resync everything after every event (info syncalways)
	// conflictPending: a guest write put a page table where a floating
	// mapping is; it moves when the event completes.
	conflictPending bool
	// touch records what events change for CheckTouched; nil until it is
	// first called.
	touch *touchLog
}

// NewShadow builds the engine in the power-on state (real mode).
func NewShadow(cfg Config) (*Shadow, error) {
	s := &Shadow{}
	if err := s.init(cfg); err != nil {
		return nil, err
	}
	s.paging = s.cfg.Paging
	s.reg = stats.New()
	s.reg.SetTiming(false)
	s.st.register(s.reg)
	s.registerGauges()
	s.pool.init(s.mem.Host(), s.cfg.PoolPages)
	s.monitors = make(map[x86.GPA]uint16)
	s.mem.SetAccessHandler(handlerDispatch{s})
	s.mem.SetObserver(s.backingChanged)
	s.extraState = s.monitorState
	s.stateChanged = s.flushGCPhys
	if err := s.initMappings(); err != nil {
		return nil, err
	}
	s.initIntermediate()
	s.mappingsSaved = s.savedMappings
	if err := s.changeMode(); err != nil {
		return nil, err
	}
	s.regsChanged()
	return s, nil
}

// Stats is the engine's statistics registry.
func (s *Shadow) Stats() *stats.Registry { return s.reg }

// SetTiming turns the time measurement of profiles on or off (off by
// default, so that statistics are deterministic).
func (s *Shadow) SetTiming(on bool) { s.reg.SetTiming(on) }

// ShadowMode is the current shadow paging mode and switcher.
func (s *Shadow) ShadowMode() (x86.Mode, Switcher) { return s.shwMode, s.switcher }

// Apply performs one event.
func (s *Shadow) Apply(ev Event) (Outcome, error) {
	var o Outcome
	err := s.ApplyTo(&ev, &o)
	return o, err
}

// ApplyTo performs one event and writes its outcome over *o.
//
// An access, nearly every event, takes a short function of its own: under
// WebAssembly the size of the function an event runs through costs as
// much as the translation (locals live in linear memory, and a large
// switch is a table of blocks).
func (s *Shadow) ApplyTo(ev *Event, o *Outcome) error {
	s.startOutcome(o, ev)
	if !ev.validAccess() {
		return s.applyOther(ev, o)
	}
	s.counted()
	s.outNotes, s.outRefs = 0, 0
	var err error
	if !s.accessHit(ev, o) {
		err = s.access(ev, o)
	}
	if err != nil || s.conflictPending || s.syncAlways || s.touch != nil {
		return s.finish(ev, o, err)
	}
	s.endOutcome(o)
	o.Notes |= s.outNotes
	o.MemRefs += s.outRefs
	return nil
}

// applyOther is ApplyTo for every event but a valid access.
func (s *Shadow) applyOther(ev *Event, o *Outcome) error {
	if err := ev.validate(); err != nil {
		return err
	}
	s.counted()
	var err error
	s.outNotes, s.outRefs = 0, 0
	switch k := ev.Kind; {
	case k == EvCR0 || k == EvCR3 || k == EvCR4 || k == EvEFER:
		err = s.writeCR(*ev, o)
	case k == EvCPL:
		s.setCPL(*ev)
	case k == EvAC:
		s.setAC(*ev)
		s.st.ACWrites.Inc()
	case k == EvPKRU:
		s.setPKRU(*ev)
		s.st.PKRUWrites.Inc()
	case k == EvInvpcid:
		err = s.invpcid(*ev)
	case k == EvPhysWrite || k == EvPhysRead:
		err = s.physAccess(*ev, o)
	case k == EvInvlpg:
		s.invalidatePage(x86.GVA(ev.Addr))
	case k == EvLabel:
		o.Notes |= NoteLabel
	case k == EvReset:
		err = s.reset()
	case k == EvMappingsFix:
		err = s.MappingsFix(x86.GVA(ev.Addr), ev.Value)
	case k == EvMappingsUnfix:
		s.MappingsUnfix()
	case k == EvSave:
		err = s.saveSnapshot(ev.Text)
	case k == EvRestore:
		err = s.restore(ev.Text, func(st *State) error { return s.load(st, false) })
		if err == nil {
			o.Notes |= NotePoolFlush | NoteModeChange
		}
	default:
		var ok bool
		if ok, err = s.hyper(*ev, o); !ok {
			err = fmt.Errorf("event kind %v not handled", k)
		}
	}
	return s.finish(ev, o, err)
}

// finish completes an event's outcome and what the event leaves to do
// after it: a mode's registers, a conflict found, the checks.
func (s *Shadow) finish(ev *Event, o *Outcome, err error) error {
	s.endOutcome(o)
	o.Notes |= s.outNotes
	o.MemRefs += s.outRefs
	switch ev.Kind {
	case EvCR0, EvCR3, EvCR4, EvEFER, EvCPL, EvAC, EvPKRU, EvReset, EvRestore:
		s.regsChanged()
	}
	if s.conflictPending {
		s.conflictPending = false
		s.resolveConflicts()
	}
	if s.syncAlways && err == nil {
		s.syncAll()
	}
	if s.touch != nil {
		s.touch.event(*ev, o)
	}
	if err != nil {
		s.next--
	}
	return err
}

// writeCR applies a control-register write and keeps the shadow in step:
// a mode change rebuilds everything, a CR3 load switches roots, and
// changes to how guest entries are read (PSE, PGE, NXE) drop the pool.
func (s *Shadow) writeCR(ev Event, o *Outcome) error {
	old := s.regs
	ch, err := s.writeReg(ev, o)
	if err != nil {
		return err
	}
	if ch.ModeChanged() {
		s.st.ModeChanges.Inc()
		return s.changeMode()
	}
	const layout = x86.CR4PSE | x86.CR4PGE
	if s.paging == PagingShadow && ((old.CR4^s.regs.CR4)&layout != 0 || (old.EFER^s.regs.EFER)&x86.EFERNXE != 0) {
		s.flushAll()
	}
	switch {
	case ch.CR3Loaded:
		s.flushTLB(s.regs.CR4&x86.CR4PGE == 0, ch.NoFlush)
	case ch.FlushAll:
		// CR0/CR4 changes that drop global translations too (PGE, WP).
		s.tlb.flushAll()
		s.st.TLBFlushesAll.Inc()
	}
	return nil
}

// changeMode recomputes the shadow mode after a guest mode change, in the
// original's order: new shadow mode, pool flush, new root.
func (s *Shadow) changeMode() error {
	mode, sw, err := ShadowMode(s.format.Mode, s.cfg.Host, s.paging, s.shwMode)
	if err != nil {
		return err
	}
	shw := mode
	switch {
	case mode == x86.ModeNested || mode == x86.ModeEPT:
		shw = x86.ModeAMD64NX
	case s.format.Mode.NX():
		shw = mode.WithNX()
	}
	f, err := x86.NewFormat(shw, 0, x86.MaxMaxPhys)
	if err != nil {
		return err
	}
	s.shwMode, s.shw = mode, f
	if sw != SwitcherInvalid {
		s.switcher = sw
	}
	s.cr3 = s.guestCR3()
	if s.paging == PagingShadow || s.root == nilIdx {
		// Nested tables map guest-physical memory, whatever the guest's
		// mode: they survive mode changes.
		s.flushAll()
	}
	s.tlb.flushAll()
	s.st.TLBFlushesAll.Inc()
	if s.paging == PagingShadow && s.format.Mode.Paging() {
		// Paging just came on over a CR3 loaded earlier (whose SyncCR3
		// had no tables to look at): the floating mappings must leave
		// the guest's way before the first access installs them.
		s.resolveConflicts()
	}
	return nil
}

// flushTLB is the CR3-load path (PGMFlushTLB): a new CR3 switches the
// shadow root, the same one resyncs it; then the TLB is flushed (the new
// PCID's entries only, with CR4.PCIDE). A load with bit 63 (noFlush)
// keeps the TLB and skips the resync: see pcid.go.
func (s *Shadow) flushTLB(global, noFlush bool) {
	p := s.st.FlushTLB.Begin()
	defer s.st.FlushTLB.End(p)
	kind, key := s.rootSpec()
	same := s.guestCR3() == s.cr3
	s.cr3 = s.guestCR3()
	if s.root != nilIdx && (s.pool.pages[s.root].kind != kind || s.pool.pages[s.root].key != key) {
		s.releaseRoot()
	}
	switch {
	case same && global:
		s.st.SameCR3Global.Inc()
	case same:
		s.st.SameCR3.Inc()
	case global:
		s.st.NewCR3Global.Inc()
	default:
		s.st.NewCR3.Inc()
	}
	pcid := s.regs.PCID()
	s.tlb.setPCID(pcid)
	switch {
	case noFlush:
		s.lightSync()
		return
	case global:
		s.tlb.flushAll()
		s.st.TLBFlushesAll.Inc()
	default:
		// With PCIDE=0 every entry has PCID 0: this is the old flush of
		// all non-global entries.
		s.tlb.flushPCID(pcid)
		s.st.TLBFlushes.Inc()
	}
	if s.regs.CR4&x86.CR4PCIDE != 0 {
		s.st.PCIDFlush.Inc()
	}
	s.syncCR3(global)
}

// guestCR3 is CR3 masked as the current mode reads it (GCPhysCR3); without
// paging, as a 32-bit CR3.
func (s *Shadow) guestCR3() x86.GPA {
	if s.format.RootMask == 0 {
		return x86.GPA(s.regs.CR3 & 0xfffff000)
	}
	return x86.GPA(s.regs.CR3 & s.format.RootMask)
}

// reset is PGMR3Reset: the pool is flushed, RAM returns to zero pages and
// the guest to real mode; handlers (devices) stay.
func (s *Shadow) reset() error {
	// Unfix the mappings (only the flag: nothing moves), as PGMR3Reset did.
	s.maps.fixed, s.maps.fixBase, s.maps.fixSize = false, 0, 0
	s.flushAll()
	s.mem.Reset()
	s.regs.Reset(s.cfg.MaxPhys)
	if err := s.refreshFormat(); err != nil {
		return err
	}
	s.virtUpdate(true)
	s.st.ModeChanges.Inc()
	return s.changeMode()
}
