package x86live

// A decoder for the few instructions whose effect the engine must hear of
// that a memory hook cannot see: mov to a control register (a CR3 load
// with an unchanged value still flushes the TLB), wrmsr to EFER, invlpg
// (which needs its operand's linear address), wrpkru (PKRU is not in
// Unicorn's register interface) and invpcid (its type register and the
// address of its descriptor). QEMU ends a
// translation block after each of them, so only the last instruction of
// a block is decoded.

// insnKind is what decodeSpecial found.
type insnKind uint8

const (
	insnOther insnKind = iota
	insnMovCR
	insnWRMSR
	insnInvlpg
	insnWRPKRU
	insnInvpcid
)

// gprs are the general registers, in encoding order (eax, ecx, edx, ebx,
// esp, ebp, esi, edi, r8..r15).
type gprs [16]uint64

type decoded struct {
	kind insnKind
	cr   int    // mov to CR: the register number
	src  uint64 // mov to CR: the value written
	addr uint64 // invlpg: the linear address; invpcid: the descriptor's
	typ  uint64 // invpcid: the type register's value
}

// mayBeSpecial is a quick filter: every instruction decodeSpecial knows
// has a 0x0f opcode byte within its first bytes (after prefixes).
func mayBeSpecial(b []byte) bool {
	for i := 0; i < len(b) && i < 6; i++ {
		if b[i] == 0x0f {
			return true
		}
	}
	return false
}

// decodeSpecial decodes b (the instruction bytes) with the registers r,
// rip the address of the next instruction (for RIP-relative operands),
// long: 64-bit code. Unknown or malformed bytes are insnOther.
func decodeSpecial(b []byte, r *gprs, next uint64, long bool) decoded {
	i := 0
	rex := byte(0)
	addr32 := false
	for ; i < len(b); i++ {
		c := b[i]
		switch {
		case c == 0x66 || c == 0xf2 || c == 0xf3 || c == 0x2e || c == 0x36 || c == 0x3e || c == 0x26 || c == 0x64 || c == 0x65:
			continue
		case c == 0x67:
			addr32 = true
			continue
		case long && c&0xf0 == 0x40:
			rex = c
			continue
		}
		break
	}
	if i+1 >= len(b) || b[i] != 0x0f {
		return decoded{}
	}
	op := b[i+1]
	i += 2
	switch op {
	case 0x30:
		return decoded{kind: insnWRMSR}
	case 0x38:
		// invpcid: 66 0f 38 82 /r, a register and a memory operand.
		if i+1 >= len(b) || b[i] != 0x82 || b[i+1]>>6 == 3 {
			return decoded{}
		}
		m := b[i+1]
		reg := int(m>>3&7) | int(rex&4)<<1
		a, ok := effective(b[i+1:], r, rex, next, long, addr32)
		if !ok {
			return decoded{}
		}
		return decoded{kind: insnInvpcid, typ: r[reg], addr: a}
	case 0x22:
		if i >= len(b) {
			return decoded{}
		}
		m := b[i]
		reg := int(m>>3&7) | int(rex&4)<<1
		rm := int(m&7) | int(rex&1)<<3
		v := r[rm]
		if !long {
			v &= 0xffffffff
		}
		return decoded{kind: insnMovCR, cr: reg, src: v}
	case 0x01:
		if i >= len(b) {
			return decoded{}
		}
		m := b[i]
		if m == 0xef {
			return decoded{kind: insnWRPKRU}
		}
		if m>>6 == 3 || m>>3&7 != 7 {
			return decoded{}
		}
		a, ok := effective(b[i:], r, rex, next, long, addr32)
		if !ok {
			return decoded{}
		}
		return decoded{kind: insnInvlpg, addr: a}
	}
	return decoded{}
}

// effective computes a ModRM memory operand's address (flat segments).
func effective(b []byte, r *gprs, rex byte, next uint64, long, addr32 bool) (uint64, bool) {
	m := b[0]
	mod, rm := m>>6, int(m&7)
	i := 1
	var a uint64
	dispSize := 0
	switch mod {
	case 1:
		dispSize = 1
	case 2:
		dispSize = 4
	}
	if rm == 4 {
		if i >= len(b) {
			return 0, false
		}
		sib := b[i]
		i++
		scale := sib >> 6
		index := int(sib>>3&7) | int(rex&2)<<2
		base := int(sib&7) | int(rex&1)<<3
		if index != 4 {
			a += r[index] << scale
		}
		if sib&7 == 5 && mod == 0 {
			dispSize = 4
		} else {
			a += r[base]
		}
	} else if rm == 5 && mod == 0 {
		dispSize = 4
		if long {
			a = next
		}
	} else {
		a = r[rm|int(rex&1)<<3]
	}
	if i+dispSize > len(b) {
		return 0, false
	}
	switch dispSize {
	case 1:
		a += uint64(int64(int8(b[i])))
	case 4:
		a += uint64(int64(int32(uint32(b[i]) | uint32(b[i+1])<<8 | uint32(b[i+2])<<16 | uint32(b[i+3])<<24)))
	}
	if !long || addr32 {
		a &= 0xffffffff
	}
	return a, true
}
