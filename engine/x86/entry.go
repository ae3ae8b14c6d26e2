package x86

import "strings"

// Entry is one raw page-table entry. 32-bit entries are zero-extended; the
// meaning of the frame bits depends on the level and paging format, so
// frame extraction lives in Level, not here.
type Entry uint64

// Flag is one architectural (or software-available) bit of an entry.
type Flag uint64

// Entry bits. PS (in directory entries) and PAT (in 4 KiB PTEs) share bit 7.
const (
	P     Flag = 1 << 0
	RW    Flag = 1 << 1
	US    Flag = 1 << 2
	PWT   Flag = 1 << 3
	PCD   Flag = 1 << 4
	A     Flag = 1 << 5
	D     Flag = 1 << 6
	PS    Flag = 1 << 7
	PAT   Flag = 1 << 7
	G     Flag = 1 << 8
	AVL9  Flag = 1 << 9
	AVL10 Flag = 1 << 10
	AVL11 Flag = 1 << 11
	NX    Flag = 1 << 63
)

// Has reports whether every bit of f is set in e.
func (e Entry) Has(f Flag) bool { return uint64(e)&uint64(f) == uint64(f) }

// Set returns e with the bits of f set.
func (e Entry) Set(f Flag) Entry { return e | Entry(f) }

// Clear returns e with the bits of f cleared.
func (e Entry) Clear(f Flag) Entry { return e &^ Entry(f) }

func (e Entry) Present() bool  { return e&Entry(P) != 0 }
func (e Entry) Writable() bool { return e&Entry(RW) != 0 }
func (e Entry) User() bool     { return e&Entry(US) != 0 }
func (e Entry) Accessed() bool { return e&Entry(A) != 0 }
func (e Entry) Dirty() bool    { return e&Entry(D) != 0 }
func (e Entry) Big() bool      { return e&Entry(PS) != 0 }
func (e Entry) Global() bool   { return e&Entry(G) != 0 }
func (e Entry) NoExec() bool   { return e&Entry(NX) != 0 }

// KeyShift is where an IA-32e leaf entry holds its protection key (bits
// 62:59). The bits are ignored by the hardware walk whether or not
// CR4.PKE is set; under PAE paging they are reserved.
const KeyShift = 59

// Key is the protection key of an IA-32e leaf entry (bits 62:59). It is
// meaningful only for leaves of long-mode formats.
func (e Entry) Key() uint8 { return uint8(e>>KeyShift) & 0xf }

// FlagString renders the usual flag letters of an entry, upper case when
// set and '-' when clear, in the order P W U A D S G X (S = big page or
// PAT, X = no-execute). It is meant for dumps and golden files.
func (e Entry) FlagString() string {
	var b strings.Builder
	for _, f := range []struct {
		bit Flag
		c   byte
	}{{P, 'P'}, {RW, 'W'}, {US, 'U'}, {A, 'A'}, {D, 'D'}, {PS, 'S'}, {G, 'G'}, {NX, 'X'}} {
		if e.Has(f.bit) {
			b.WriteByte(f.c)
		} else {
			b.WriteByte('-')
		}
	}
	return b.String()
}

// Rights are the access rights a translation grants. The zero value grants
// reading only (supervisor, writable: no, executable: yes is not implied).
type Rights uint8

const (
	RightWrite Rights = 1 << iota
	RightUser
	RightExec
)

// AllRights is what identity translations (no paging) grant.
const AllRights = RightWrite | RightUser | RightExec

// Intersect keeps the rights both grant: this is how RW, US and (inverted)
// NX combine across levels.
func (r Rights) Intersect(o Rights) Rights { return r & o }

// Union keeps the rights either grants.
func (r Rights) Union(o Rights) Rights { return r | o }

// SupersetOf reports whether r grants at least everything o grants.
func (r Rights) SupersetOf(o Rights) bool { return r&o == o }

func (r Rights) String() string {
	b := []byte("r--")
	if r&RightWrite != 0 {
		b[1] = 'w'
	}
	if r&RightExec != 0 {
		b[2] = 'x'
	}
	s := string(b)
	if r&RightUser != 0 {
		return s + " user"
	}
	return s + " supervisor"
}

// RightsOf is what a single entry grants on its own (nx says whether the
// NX bit is architectural in this format).
func RightsOf(e Entry, nx bool) Rights {
	// RW (bit 1) and US (bit 2) shifted down are RightWrite and
	// RightUser: no branches, cheap enough to inline into every walk.
	r := Rights(uint64(e)>>1&uint64(RightWrite|RightUser)) | RightExec
	if nx && e.NoExec() {
		r &^= RightExec
	}
	return r
}

// RightsMasked is RightsOf with nx given as a mask: NX when the bit is
// architectural, else 0. It has no branch, so that the pool's walks,
// which know the mask up front, can inline it at every level.
func RightsMasked(e, nxMask Entry) Rights {
	return Rights(uint64(e)>>1&uint64(RightWrite|RightUser)) | RightExec&^Rights(uint64(e&nxMask)>>61)
}

// The shifts in RightsOf and RightsMasked depend on these.
var _ = [1]struct{}{}[uint64(RW)>>1-uint64(RightWrite)+uint64(US)>>1-uint64(RightUser)+uint64(NX)>>61-uint64(RightExec)]
