package engine

import (
	"github.com/pgm-explorer/pgm-explorer/engine/phys"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// maxTraps bounds how often one access may trap before the engine gives
// up: each trap makes progress (a level synced, a bit emulated), so a
// correct engine needs at most one per level plus a dirty trap.
const maxTraps = 12

// xlate is how one page piece of an access was translated.
type xlate struct {
	gpa     x86.GPA
	data    *[x86.PageSize]byte // host bytes; nil when the access is emulated
	hpa     x86.HPA             // the frame of data (phys.Memory.BeforeWrite before writing it)
	emulate bool
	fault   x86.Fault
	path    Path
}

// access performs a guest read, write or fetch. A page-crossing access is
// checked against the guest tables first, so that a fault in its second
// page leaves no trace of the first (no data, no accessed or dirty bit).
func (s *Shadow) access(ev *Event, o *Outcome) error {
	acc := s.accessOf(ev.Kind)
	ps, n := s.splitAccess(ev)
	if !s.canonical(ps, n) {
		f := x86.NonCanonicalFault()
		s.guestFault(o, &f)
		return nil
	}
	if n == 2 && s.format.Mode.Paging() {
		for i := 0; i < n; i++ {
			s.format.Walk(s.mem, s.regs.Root(), ps[i].va, acc, &s.gw)
			if !s.gw.OK() {
				s.guestFault(o, &s.gw.Fault)
				return nil
			}
		}
	}
	var xs [2]xlate
	for i := 0; i < n; i++ {
		x := &xs[i]
		if err := s.translate(ps[i].va, acc, x); err != nil {
			return err
		}
		if x.fault.Kind != x86.NoFault {
			s.guestFault(o, &x.fault)
			return nil
		}
		ps[i].gpa = x.gpa
		if i == 0 || o.Path == PathTLBHit || o.Path == PathShadowHit {
			o.Path = x.path
		}
	}
	for i := 0; i < n; i++ {
		s.virtHit(ps[i].gpa, acc)
	}
	o.GPA = ps[0].gpa
	if (o.Notes|s.outNotes)&NotePoolEvict != 0 {
		// Resolving the access cost a pool page: the path says so (the
		// most expensive thing that happened).
		o.Path = PathPoolEvict
	}
	var v uint64
	for i := 0; i < n; i++ {
		x, p := &xs[i], &ps[i]
		off := x86.PageOffset(p.va)
		switch {
		case ev.Kind == EvWrite && x.data != nil:
			s.mem.BeforeWrite(x.hpa)
			phys.StoreLE(x.data[off:off+uint64(p.size)], p.size, ev.Value>>(8*uint(sizeBefore(ps, i))))
		case ev.Kind == EvWrite:
			s.emulateWrite(p.gpa, p.size, ev.Value>>(8*uint(sizeBefore(ps, i))))
		case ev.Kind == EvRead && x.data != nil:
			v |= phys.LoadLE(x.data[off:off+uint64(p.size)], p.size) << (8 * uint(sizeBefore(ps, i)))
		case ev.Kind == EvRead:
			v |= s.mem.Read(p.gpa, p.size) << (8 * uint(sizeBefore(ps, i)))
		}
	}
	o.Value = v
	return nil
}

// accessHit is the hot path of every replay: an access within one page
// that the TLB translates to host bytes. It reports false, having changed
// nothing, for everything else; the caller then calls access. A
// non-canonical address cannot hit (see translate), and an access within
// one page is canonical when its first byte is.
func (s *Shadow) accessHit(ev *Event, o *Outcome) bool {
	size := uint64(ev.Size)
	if ev.Kind == EvExec {
		size = 1
	}
	va := s.format.Linear(x86.GVA(ev.Addr))
	off := x86.PageOffset(va)
	if off+size > x86.PageSize {
		return false
	}
	acc := s.accessOf(ev.Kind)
	// tlbHit written out: a call costs much under WebAssembly.
	vpn, slot := tlbKey(va, s.tlb.cur)
	t := &s.tlb
	e := &t.e[slot]
	if e.vpn != vpn || e.genAll != t.genAll || !(e.global || e.pcid == t.cur && e.genP == t.curGen) ||
		!permits(e.rights, acc) || s.deny[acc.Kind]>>e.pk&1 != 0 || e.data == nil ||
		s.paging != PagingShadow && !s.nestedPermits(e, acc) {
		return false
	}
	s.st.TLBHits.Inc()
	gpa := e.gpa | x86.GPA(off)
	s.virtHit(gpa, acc)
	o.GPA, o.Path = gpa, PathTLBHit
	switch ev.Kind {
	case EvWrite:
		s.mem.BeforeWrite(e.hpa)
		phys.StoreLE(e.data[off:off+size], int(size), ev.Value)
	case EvRead:
		o.Value = phys.LoadLE(e.data[off:off+size], int(size))
	}
	return true
}

// tlbHit is the TLB entry that lets acc through va in the current PCID's
// slot, or nil.
func (s *Shadow) tlbHit(va x86.GVA, acc x86.Access) *tlbEntry {
	vpn, slot := tlbKey(va, s.tlb.cur)
	t := &s.tlb
	if e := &t.e[slot]; e.vpn == vpn && e.genAll == t.genAll && (e.global || e.pcid == t.cur && e.genP == t.curGen) &&
		permits(e.rights, acc) && s.deny[acc.Kind]>>e.pk&1 == 0 && (s.paging == PagingShadow ||
		e.guest.Permits(acc, s.regs.CR0&x86.CR0WP != 0) && (e.dirty || acc.Kind != x86.Write)) {
		return e
	}
	return nil
}

func sizeBefore(ps [2]piece, i int) int {
	if i == 0 {
		return 0
	}
	return ps[0].size
}

func (s *Shadow) guestFault(o *Outcome, f *x86.Fault) {
	o.OK, o.Fault, o.Path = false, *f, FaultPath(*f)
	s.countFault(o.Path)
}

// emulateWrite performs a write the shadow tables do not allow directly:
// through guest physical memory, which calls handlers and monitors.
func (s *Shadow) emulateWrite(gpa x86.GPA, size int, v uint64) {
	s.guestWrite = true
	s.mem.Write(gpa, size, v)
	s.guestWrite = false
}

// translate resolves one page piece: the TLB, then the shadow tables,
// then the trap handler until the access can proceed. The TLB hit is the
// hot path of every replay, so it is checked inline before anything else:
// a non-canonical address can never hit (its page number differs from
// every canonical one the TLB was filled with).
//
// The result goes to *x, here and in translateSlow and trap: returned by
// value, the struct (with its fault) was copied at every level.
func (s *Shadow) translate(va x86.GVA, acc x86.Access, x *xlate) error {
	if e := s.tlbHit(va, acc); e != nil {
		s.st.TLBHits.Inc()
		x.gpa, x.data, x.hpa, x.path = e.gpa|x86.GPA(x86.PageOffset(va)), e.data, e.hpa, PathTLBHit
		return nil
	}
	return s.translateSlow(va, acc, x)
}

// nestedPermits is the guest side of a nested TLB entry's check: the
// guest's rights with its CR0.WP, and a write only once the guest's leaf
// is dirty (so that the first write walks and sets D).
func (s *Shadow) nestedPermits(e *tlbEntry, acc x86.Access) bool {
	return e.guest.Permits(acc, s.regs.CR0&x86.CR0WP != 0) && (e.dirty || acc.Kind != x86.Write)
}

func (s *Shadow) translateSlow(va x86.GVA, acc x86.Access, x *xlate) error {
	if !s.format.Canonical(va) {
		*x = xlate{fault: x86.NonCanonicalFault()}
		return nil
	}
	if s.paging != PagingShadow {
		// A global entry of another PCID's slot (see tlb.lookup), or a
		// hit the inline check refused.
		if e := s.tlb.lookup(va); e != nil && permits(e.rights, acc) && s.nestedPermits(e, acc) && s.allowed(e.pk, acc) {
			s.st.TLBHits.Inc()
			*x = xlate{gpa: e.gpa | x86.GPA(x86.PageOffset(va)), data: e.data, hpa: e.hpa, path: PathTLBHit}
			return nil
		}
		var err error
		*x, err = s.translateNested(va, acc)
		return err
	}
	path := PathTLBHit
	for try := 0; try < maxTraps; try++ {
		e := s.tlb.lookup(va)
		if e != nil && permits(e.rights, acc) && s.allowed(e.pk, acc) {
			s.st.TLBHits.Inc()
			*x = xlate{gpa: e.gpa | x86.GPA(x86.PageOffset(va)), data: e.data, hpa: e.hpa, path: path}
			return nil
		}
		s.st.TLBMisses.Inc()
		var sw shadowResult
		if e != nil && try == 0 {
			// The TLB holds the shadow's translation and refuses the
			// access: trap as the host MMU would, without walking. A trap
			// drops the page's TLB entries (sync.go), and a retry walks
			// in any case, so an entry staler than the shadow costs one
			// trap that syncs nothing, as a stale TLB entry does on
			// hardware.
			sw = shadowResult{ok: true, rights: e.rights, global: e.global, hpa: e.hpa, gpa: e.gpa,
				pdIndex: int(s.shw.Levels[s.shw.N-2].Index(va))}
		} else {
			s.hostWalkTo(va, &sw)
			if sw.ok {
				pk := pkOf(sw.rights, sw.key)
				data := s.mem.Host().Bytes(sw.hpa)
				// Refused or not, the translation goes to the TLB, so
				// that the next access to the page that the shadow
				// refuses traps without a walk.
				s.tlb.fill(va, sw.gpa, sw.hpa, sw.rights, pk, sw.global, data)
				if permits(sw.rights, acc) && s.allowed(pk, acc) {
					if path == PathTLBHit {
						path = PathShadowHit
						s.st.ShadowHits.Inc()
					}
					*x = xlate{gpa: sw.gpa | x86.GPA(x86.PageOffset(va)), data: data, hpa: sw.hpa, path: path}
					return nil
				}
			}
		}
		done, err := s.trap(va, acc, &sw, x)
		if err != nil || done {
			return err
		}
		if path == PathTLBHit || path == PathShadowHit || rank(x.path) > rank(path) {
			path = x.path
		}
	}
	*x = xlate{}
	return errLivelock
}

// rank orders trap paths by how much work they stand for, so that an
// access that first synced a table and then took a dirty trap reports
// the table.
func rank(p Path) int {
	switch p {
	case PathSyncPT:
		return 4
	case PathDirtyTrap:
		return 3
	case PathAccessedTrap:
		return 2
	case PathSyncPage:
		return 1
	}
	return 0
}

// shadowResult is a walk of the shadow tables.
type shadowResult struct {
	ok       bool
	hpa      x86.HPA
	gpa      x86.GPA
	rights   x86.Rights
	key      uint8 // the leaf's protection key (IA-32e shadows)
	global   bool
	notPres  bool // stopped on a not-present entry (else: a protection miss)
	rsvd     bool
	pdIndex  int
	levels   int // tables read, the last one included
	leafPage *poolPage
}

// hostWalk walks the shadow hierarchy like the host MMU would.
func (s *Shadow) hostWalk(va x86.GVA) shadowResult {
	var r shadowResult
	s.hostWalkTo(va, &r)
	return r
}

// hostWalkTo is hostWalk with the result in *r, which must be zero:
// the miss path's form (no copy of the result). It runs on every TLB
// miss, and under nested paging for every guest entry a 2D walk reads,
// so it is poolPath's descent with the cursor's state in locals: through
// the cursor, whose fields live in memory, the fault-heavy replay ran a
// quarter slower (shadow) and a third slower (nested). The step of a
// level is the cursor's own (poolStep).
func (s *Shadow) hostWalkTo(va x86.GVA, r *shadowResult) {
	if s.root == nilIdx {
		r.notPres = true
		return
	}
	f, nxMask := s.shw, s.shw.NXMask()
	pg, rights := &s.pool.pages[s.root], x86.AllRights
	for l := 0; l < f.N; l++ {
		lv := &f.Levels[l]
		i, e := poolStep(lv, pg, va)
		r.levels = l + 1
		if l == f.N-2 {
			r.pdIndex = int(i)
		}
		if !e.Present() || e&shwMapping != 0 {
			// A hypervisor mapping is no translation for the guest.
			r.notPres = true
			return
		}
		if lv.Rights {
			rights &= x86.RightsMasked(e, nxMask)
		}
		if l == f.N-1 {
			r.ok, r.rights, r.global, r.key = true, rights, e.Global(), e.Key()
			r.hpa, r.gpa, r.leafPage = x86.HPA(uint64(e)&lv.FrameMask), pg.gpas[i], pg
			return
		}
		if pg = s.pool.page(x86.HPA(uint64(e) & lv.FrameMask)); pg == nil {
			r.notPres = true
			return
		}
	}
}

// trap is the #PF handler (Trap0eHandler). done means the access is
// settled (a guest fault, or emulated through guest-physical memory);
// otherwise the shadow was fixed and the access must be retried.
func (s *Shadow) trap(va x86.GVA, acc x86.Access, sw *shadowResult, x *xlate) (bool, error) {
	tp := s.st.Trap0e.Begin()
	done, err := s.trap0e(va, acc, sw, x)
	s.st.Trap0e.End(tp) // not deferred: a deferred call cost much on the fault path
	return done, err
}

func (s *Shadow) trap0e(va x86.GVA, acc x86.Access, sw *shadowResult, x *xlate) (bool, error) {
	s.countError(acc, sw)
	s.st.TrapPD.Inc(sw.pdIndex % pdFamily)
	gw := &s.gw
	s.format.Walk(s.mem, s.regs.Root(), va, acc, gw)
	inMap := s.mappingAt(va) != nil
	if inMap && !gw.OK() {
		s.st.GuestPFInMapping.Inc()
	}
	if inMap && gw.OK() {
		if s.maps.fixed {
			// The guest promised to leave this range alone: its access is
			// reflected as a not-present fault, as the original did.
			s.st.GuestPFInMapping.Inc()
			s.st.GuestPF.Inc()
			root := s.regs.Root()
			code := x86.PageFaultCode(x86.NotPresent, acc, root.FetchBit(s.format))
			*x = xlate{fault: x86.Fault{Kind: x86.NotPresent, Code: code, Rule: x86.RuleNotPresent,
				Rules: 1 << x86.RuleNotPresent}}
			return true, nil
		}
		s.resolveConflicts() // an undetected conflict: move the mapping first
		s.format.Walk(s.mem, s.regs.Root(), va, acc, gw)
	}
	if !gw.OK() {
		s.st.DirtyRealPF.Inc()
		s.st.GuestPF.Inc()
		s.st.GuestPFUnhandled.Inc()
		s.st.T2GuestTrap.Inc()
		// Field by field: zeroing *x and then writing the fault over it
		// stalled the stores.
		x.gpa, x.data, x.emulate, x.path = 0, nil, false, PathNone
		x.fault = gw.Fault
		return true, nil
	}
	leafAccessed, bigCleaned := true, false
	if l := gw.Leaf(); l != nil {
		bigCleaned = l.Big && acc.Kind == x86.Write && !l.Entry.Dirty()
		leafAccessed = l.Entry.Accessed()
		if acc.Kind == x86.Write {
			if l.Entry.Dirty() {
				s.st.DirtyAlreadySet.Inc()
			} else {
				s.st.DirtySetDirty.Inc()
			}
		}
	}
	dp := s.st.DirtyPage.Begin()
	gw.SetAccessedDirty(s.mem, acc.Kind == x86.Write)
	s.st.DirtyPage.End(dp)
	gpa := gw.GPA
	write := acc.Kind == x86.Write
	bigDirtyTrap := false
	if bigCleaned {
		// The big page's PDE just became dirty: its dirty tracking in the
		// shadow PDE goes now, even if the write itself is emulated below.
		r, _ := s.syncPath(va, gw, false)
		bigDirtyTrap = r.dirtyTrap
	}
	p, _, inRAM := s.mem.Lookup(gpa)
	switch {
	case !inRAM:
		s.st.HndInvalid.Inc()
		s.st.T2Misc.Inc()
		*x = xlate{gpa: gpa, emulate: true, path: PathHandler}
		return true, nil
	case p.Type() == phys.TypeMMIO || p.Handler() == phys.HandlerAll:
		s.st.HndPhysical.Inc()
		s.st.T2HndPhys.Inc()
		*x = xlate{gpa: gpa, emulate: true, path: PathHandler}
		return true, nil
	case write && (p.Handler() == phys.HandlerWrite || !p.Type().Writable()):
		if _, monitored := s.monitors[x86.PageDown(gpa)]; monitored {
			s.st.T2HndUnhandled.Inc()
			*x = xlate{gpa: gpa, emulate: true, path: PathMonitorWrite}
			return true, nil
		}
		s.st.HndUnhandled.Inc()
		s.st.T2HndPhys.Inc()
		*x = xlate{gpa: gpa, emulate: true, path: PathHandler}
		return true, nil
	case write && !acc.User && gw.Rights&x86.RightWrite == 0:
		// CR0.WP=0: the guest lets its kernel write read-only pages; the
		// shadow runs with WP set, so the write is emulated.
		s.st.WPInRZ.Inc()
		s.st.T2WP.Inc()
		*x = xlate{gpa: gpa, emulate: true, path: PathWPEmulation}
		return true, nil
	}
	wasPresent := !sw.notPres
	res, err := s.syncPath(va, gw, write)
	if err != nil {
		*x = xlate{}
		return true, err
	}
	*x = xlate{gpa: gpa}
	switch {
	case res.createdTable:
		x.path = PathSyncPT
		s.st.T2SyncPT.Inc()
	case res.dirtyTrap || bigDirtyTrap:
		x.path = PathDirtyTrap
		s.st.T2DirtyAcc.Inc()
	case !leafAccessed:
		x.path = PathAccessedTrap
		s.st.T2DirtyAcc.Inc()
	default:
		x.path = PathSyncPage
		s.st.T2OutOfSync.Inc()
		if !wasPresent {
			if acc.User {
				s.st.OutOfSyncUser.Inc()
			} else {
				s.st.OutOfSyncSuper.Inc()
			}
		}
	}
	return false, nil
}

// countError files a trap under the original's error-code counters.
func (s *Shadow) countError(acc x86.Access, sw *shadowResult) {
	write, fetch := acc.Kind == x86.Write, acc.Kind == x86.Fetch
	switch {
	case acc.User && sw.notPres && write:
		s.st.ErrUserNPWrite.Inc()
	case acc.User && sw.notPres:
		s.st.ErrUserNPRead.Inc()
	case acc.User && write:
		s.st.ErrUserWrite.Inc()
	case acc.User && fetch:
		s.st.ErrUserNXE.Inc()
	case acc.User:
		s.st.ErrUserRead.Inc()
	case sw.notPres && write:
		s.st.ErrSupNPWrite.Inc()
	case sw.notPres:
		s.st.ErrSupNPRead.Inc()
	case write:
		s.st.ErrSupWrite.Inc()
	case fetch:
		s.st.ErrSupNXE.Inc()
	}
}
