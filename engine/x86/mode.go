package x86

// Mode is a paging mode. The numbering of the first ten values follows
// the original engine's PGMMODE (it is shown to users and stored in saved
// states); the 5-level modes are additions.
type Mode uint8

const (
	ModeInvalid   Mode = 0
	ModeReal      Mode = 1
	ModeProtected Mode = 2
	Mode32Bit     Mode = 3
	ModePAE       Mode = 4
	ModePAENX     Mode = 5
	ModeAMD64     Mode = 6
	ModeAMD64NX   Mode = 7
	ModeNested    Mode = 8  // shadow only: AMD-V nested paging
	ModeEPT       Mode = 9  // shadow only: Intel EPT
	ModeLA57      Mode = 10 // guest: 5-level paging
	ModeLA57NX    Mode = 11 // guest: 5-level paging with EFER.NXE
	modeMax       Mode = 12
)

var modeNames = [modeMax]string{
	"invalid", "Real", "Protected", "32-bit", "PAE", "PAE+NX",
	"AMD64", "AMD64+NX", "Nested", "EPT", "AMD64+LA57", "AMD64+LA57+NX",
}

func (m Mode) String() string {
	if m < modeMax {
		return modeNames[m]
	}
	return "unknown mode value"
}

// Paging reports whether m translates through page tables. Values past
// the last mode (a corrupt saved state, say) are not paging modes.
func (m Mode) Paging() bool {
	return m >= Mode32Bit && m < modeMax && m != ModeNested && m != ModeEPT
}

// PAEFormat reports whether m uses 8-byte entries (PAE and long modes).
func (m Mode) PAEFormat() bool { return m.Paging() && m != Mode32Bit }

// Long reports whether m is a long (IA-32e) paging mode.
func (m Mode) Long() bool {
	return m == ModeAMD64 || m == ModeAMD64NX || m == ModeLA57 || m == ModeLA57NX
}

// NX reports whether the NX bit is architectural in m (EFER.NXE with PAE
// or long-mode paging).
func (m Mode) NX() bool {
	return m == ModePAENX || m == ModeAMD64NX || m == ModeLA57NX
}

// WithNX is the NX variant of a PAE-format mode (the same tables, with
// bit 63 meaning no-execute); other modes are returned as they are.
func (m Mode) WithNX() Mode {
	switch m {
	case ModePAE:
		return ModePAENX
	case ModeAMD64:
		return ModeAMD64NX
	case ModeLA57:
		return ModeLA57NX
	}
	return m
}

// WithoutNX is WithNX undone: the mode whose tables have m's layout,
// without the NX bit.
func (m Mode) WithoutNX() Mode {
	switch m {
	case ModePAENX:
		return ModePAE
	case ModeAMD64NX:
		return ModeAMD64
	case ModeLA57NX:
		return ModeLA57
	}
	return m
}

// Control register bits the engine looks at.
const (
	CR0PE uint64 = 1 << 0
	CR0ET uint64 = 1 << 4
	CR0WP uint64 = 1 << 16
	CR0PG uint64 = 1 << 31

	CR4PSE   uint64 = 1 << 4
	CR4PAE   uint64 = 1 << 5
	CR4PGE   uint64 = 1 << 7
	CR4LA57  uint64 = 1 << 12
	CR4PCIDE uint64 = 1 << 17 // CR3[11:0] is the PCID; CR3 bit 63 on a write keeps TLB entries
	CR4SMEP  uint64 = 1 << 20 // supervisor fetches from user pages fault
	CR4SMAP  uint64 = 1 << 21 // supervisor data accesses to user pages fault unless RFLAGS.AC
	CR4PKE   uint64 = 1 << 22 // protection keys (PKRU) for user pages in IA-32e mode

	// CR3NoFlush is bit 63 of a value written to CR3 with CR4.PCIDE=1:
	// keep the new PCID's TLB entries. It is never stored in CR3.
	CR3NoFlush uint64 = 1 << 63
	// CR3PCID is where CR3 holds the current PCID when CR4.PCIDE=1.
	CR3PCID uint64 = 0xfff

	EFERLME uint64 = 1 << 8
	EFERLMA uint64 = 1 << 10
	EFERNXE uint64 = 1 << 11
)

// GuestMode derives the guest paging mode from control registers as the
// processor does: long mode is active when paging is on with EFER.LME set
// (the processor then sets EFER.LMA).
func GuestMode(cr0, cr4, efer uint64) Mode {
	switch {
	case cr0&CR0PE == 0:
		return ModeReal
	case cr0&CR0PG == 0:
		return ModeProtected
	case cr4&CR4PAE == 0:
		return Mode32Bit
	}
	nx := efer&EFERNXE != 0
	switch {
	case efer&EFERLME == 0 && nx:
		return ModePAENX
	case efer&EFERLME == 0:
		return ModePAE
	case cr4&CR4LA57 != 0 && nx:
		return ModeLA57NX
	case cr4&CR4LA57 != 0:
		return ModeLA57
	case nx:
		return ModeAMD64NX
	}
	return ModeAMD64
}
