package x86

// Memory is what the walker needs from guest physical memory. Reads of
// unbacked addresses return all ones, as on a bus with nothing behind it.
type Memory interface {
	// ReadEntry reads a little-endian entry of size 4 or 8 bytes.
	ReadEntry(addr GPA, size int) uint64
	// SetEntryBits ORs bits into the entry at addr, as the processor's
	// locked accessed/dirty update does. Entries in ROM stay unchanged.
	SetEntryBits(addr GPA, size int, bits uint64)
}

// Root is the processor state a walk starts from.
type Root struct {
	CR3   uint64
	PDPTE *[4]uint64 // legacy PAE: the PDPTE registers; must not be nil for PAE formats
	WP    bool       // CR0.WP
	Protect
}

// FetchBit reports whether #PF error codes of format f report I/D: with
// EFER.NXE under PAE or IA-32e paging, and in every paging mode with
// CR4.SMEP.
func (r *Root) FetchBit(f *Format) bool { return f.FetchBit || r.SMEP && f.N > 0 }

// Step is one level of a walk: where the entry was, what it held, and the
// rights accumulated from the top down to and including it.
type Step struct {
	Level     LevelKind
	Index     uint16
	EntryAddr GPA
	Entry     Entry
	Big       bool   // the entry maps a page (2 MiB, 4 MiB or 1 GiB)
	Leaf      bool   // the walk ended with this entry mapping a page
	Register  bool   // the entry came from a PDPTE register
	Rights    Rights // effective rights so far
	size      uint8
}

// Walk is the result of translating one linear address: every level
// visited, and either a physical address with its effective rights or the
// fault the processor would raise.
type Walk struct {
	VA        GVA // after legacy truncation
	Steps     [5]Step
	N         int // number of valid steps
	GPA       GPA
	PageShift uint8  // 12, 21, 22 or 30
	Rights    Rights // effective rights of the translation
	// Key is the protection key of the leaf (bits 62:59) in IA-32e
	// formats, 0 in the others; it matters only for user pages.
	Key   uint8
	Fault Fault
}

// OK reports whether the translation succeeded.
func (w *Walk) OK() bool { return w.Fault.Kind == NoFault }

// Leaf is the step that mapped the page, or nil for identity walks and for
// walks stopped by a not-present or reserved-bit entry. A protection fault
// has a leaf: the translation exists, only the access is forbidden, and
// the shadow #PF handler needs that entry.
func (w *Walk) Leaf() *Step {
	if w.N == 0 || !w.Steps[w.N-1].Leaf {
		return nil
	}
	return &w.Steps[w.N-1]
}

// Walk translates va for acc through the guest tables described by f,
// starting at root. It reads entries through mem but never writes: call
// SetAccessedDirty on a successful walk to update A/D as hardware does.
// Walk does not allocate.
func (f *Format) Walk(mem Memory, root Root, va GVA, acc Access, w *Walk) {
	*w = Walk{VA: f.Linear(va), PageShift: PageShift}
	if f.N == 0 {
		w.GPA, w.Rights = GPA(w.VA), AllRights
		return
	}
	if !f.Canonical(va) {
		w.Fault = NonCanonicalFault()
		return
	}
	rights := AllRights
	fetchBit := root.FetchBit(f)
	table := GPA(root.CR3 & f.RootMask)
	for i := 0; i < f.N; i++ {
		lv := &f.Levels[i]
		idx := lv.Index(w.VA)
		s := &w.Steps[i]
		w.N = i + 1
		s.Level, s.Index, s.size = lv.Kind, uint16(idx), lv.EntrySize
		s.EntryAddr = table + GPA(idx*uint64(lv.EntrySize))
		if lv.Register {
			s.Register = true
			s.Entry = Entry(root.PDPTE[idx])
		} else {
			s.Entry = Entry(mem.ReadEntry(s.EntryAddr, int(lv.EntrySize)))
		}
		e := s.Entry
		if !e.Present() {
			w.fault(NotPresent, i, acc, fetchBit)
			return
		}
		if lv.Reserved(e) != 0 {
			w.fault(ReservedBit, i, acc, fetchBit)
			return
		}
		if lv.Rights {
			rights = rights.Intersect(RightsOf(e, f.NX))
		}
		s.Rights = rights
		s.Big = lv.Big(e)
		if s.Big || i == f.N-1 {
			s.Leaf = true
			w.PageShift = lv.Shift
			w.GPA = lv.PageBase(e) | GPA(uint64(w.VA)&(lv.Covers()-1))
			break
		}
		table = lv.Table(e)
	}
	w.Rights = rights
	keys := f.Mode.Long()
	if keys {
		w.Key = w.Steps[w.N-1].Entry.Key()
	}
	if set := root.Refused(rights, w.Key, keys, acc, root.WP); set != 0 {
		key := w.Key
		w.fault(Protection, w.N-1, acc, fetchBit)
		w.Fault.Rules, w.Fault.Rule = set, set.First()
		if set.Keys() {
			w.Fault.Code |= PFPK
			w.Fault.Key = key
		}
	}
}

// faultRules names the rule of a fault that ends a walk early.
var faultRules = [...]Rule{NotPresent: RuleNotPresent, ReservedBit: RuleReserved, NonCanonical: RuleNonCanonical}

func (w *Walk) fault(k FaultKind, level int, acc Access, fetchBit bool) {
	w.Fault = Fault{Kind: k, Level: level, Code: PageFaultCode(k, acc, fetchBit), Rule: faultRules[k]}
	w.Fault.Rules = 1 << w.Fault.Rule
	w.Rights = 0
	w.GPA = 0
	w.Key = 0
}

// SetAccessedDirty sets A in every entry the successful walk used (PDPTE
// registers excepted) and, for a write, D in the leaf, writing only
// entries whose bits change. The steps are updated to the new values.
func (w *Walk) SetAccessedDirty(mem Memory, write bool) {
	if !w.OK() {
		return
	}
	for i := 0; i < w.N; i++ {
		s := &w.Steps[i]
		if s.Register {
			continue
		}
		want := Entry(A)
		if write && s.Leaf {
			want |= Entry(D)
		}
		if s.Entry&want != want {
			mem.SetEntryBits(s.EntryAddr, int(s.size), uint64(want&^s.Entry))
			// Re-read: tables in ROM keep their old value.
			s.Entry = Entry(mem.ReadEntry(s.EntryAddr, int(s.size)))
		}
	}
}
