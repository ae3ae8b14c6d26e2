package x86live

import "testing"

// TestDecodeSpecial: the instructions whose effects no hook reports,
// with their operands, in 32-bit and 64-bit code.
func TestDecodeSpecial(t *testing.T) {
	r := gprs{0: 0x1111, 1: 0x2, 2: 0x3, 3: 0x8000000000014002, 6: 0x5000, 8: 0x800000000000a001}
	for _, tc := range []struct {
		name string
		b    []byte
		long bool
		want decoded
	}{
		{"mov cr3, rbx (bit 63 kept)", []byte{0x0f, 0x22, 0xdb}, true, decoded{kind: insnMovCR, cr: 3, src: 0x8000000000014002}},
		{"mov cr3, ebx (32-bit)", []byte{0x0f, 0x22, 0xdb}, false, decoded{kind: insnMovCR, cr: 3, src: 0x14002}},
		{"mov cr3, r8", []byte{0x41, 0x0f, 0x22, 0xd8}, true, decoded{kind: insnMovCR, cr: 3, src: 0x800000000000a001}},
		{"mov cr4, rax", []byte{0x0f, 0x22, 0xe0}, true, decoded{kind: insnMovCR, cr: 4, src: 0x1111}},
		{"wrmsr", []byte{0x0f, 0x30}, false, decoded{kind: insnWRMSR}},
		{"wrpkru", []byte{0x0f, 0x01, 0xef}, true, decoded{kind: insnWRPKRU}},
		{"stac is not special", []byte{0x0f, 0x01, 0xcb}, true, decoded{}},
		{"invlpg [rsi+8]", []byte{0x0f, 0x01, 0x7e, 0x08}, true, decoded{kind: insnInvlpg, addr: 0x5008}},
		{"invpcid rcx, [rsi]", []byte{0x66, 0x0f, 0x38, 0x82, 0x0e}, true, decoded{kind: insnInvpcid, typ: 2, addr: 0x5000}},
		{"invpcid rdx, [rsi+0x10]", []byte{0x66, 0x0f, 0x38, 0x82, 0x56, 0x10}, true, decoded{kind: insnInvpcid, typ: 3, addr: 0x5010}},
		{"invpcid with a register operand is not one", []byte{0x66, 0x0f, 0x38, 0x82, 0xce}, true, decoded{}},
		{"truncated invpcid", []byte{0x66, 0x0f, 0x38, 0x82}, true, decoded{}},
		{"other 0f 38 opcode", []byte{0x66, 0x0f, 0x38, 0x00, 0x0e}, true, decoded{}},
	} {
		if got := decodeSpecial(tc.b, &r, 0x2000, tc.long); got != tc.want {
			t.Errorf("%s: % x: got %+v, want %+v", tc.name, tc.b, got, tc.want)
		}
	}
}
