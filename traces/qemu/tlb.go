package qemu

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// TLBLine is one line of QEMU's HMP `info tlb`: a present leaf of the
// current CR3's tables. QEMU prints the leaf entry's own flags, not the
// rights accumulated over the levels above it (`info mem` does that).
type TLBLine struct {
	VA    uint64 // canonical linear address of the page
	PA    uint64 // physical address of the page (the entry's frame bits)
	NX    bool   // 'X': the entry's bit 63
	G     bool   // global
	Big   bool   // 'P': PS set (a 2 MiB, 4 MiB or 1 GiB page; QEMU does not say which)
	D, A  bool   // dirty, accessed
	PCD   bool   // 'C'
	PWT   bool   // 'T'
	User  bool   // 'U'
	Write bool   // 'W'
}

// MaxTLBLines bounds what ParseInfoTLB keeps: a 4 GiB guest with every
// page mapped by 4 KiB pages twice over has about 2M leaves.
const MaxTLBLines = 1 << 22

// ParseInfoTLB reads `info tlb` output: lines "VA: PA FLAGS" with VA and
// PA in hex (QEMU prints 16 digits) and nine flag characters XGPDACTUW,
// each the letter or '-'. "PG disabled" (paging off) gives no lines.
// Anything else is an error naming the line.
func ParseInfoTLB(r io.Reader) ([]TLBLine, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), 4096)
	var out []TLBLine
	for n := 1; sc.Scan(); n++ {
		s := strings.TrimSpace(sc.Text())
		if s == "" || s == "PG disabled" {
			continue
		}
		l, err := parseTLBLine(s)
		if err != nil {
			return nil, fmt.Errorf("info tlb line %d: %w", n, err)
		}
		if len(out) >= MaxTLBLines {
			return nil, fmt.Errorf("info tlb line %d: more than %d leaves", n, MaxTLBLines)
		}
		out = append(out, l)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("info tlb: %w", err)
	}
	return out, nil
}

const tlbFlags = "XGPDACTUW"

func parseTLBLine(s string) (TLBLine, error) {
	va, rest, ok := strings.Cut(s, ":")
	f := strings.Fields(rest)
	if !ok || len(f) != 2 || len(f[1]) != len(tlbFlags) {
		return TLBLine{}, fmt.Errorf("%q is not \"VA: PA FLAGS\"", s)
	}
	var l TLBLine
	var err error
	if l.VA, err = strconv.ParseUint(strings.TrimSpace(va), 16, 64); err != nil {
		return l, fmt.Errorf("virtual address %q: %w", va, err)
	}
	if l.PA, err = strconv.ParseUint(f[0], 16, 64); err != nil {
		return l, fmt.Errorf("physical address %q: %w", f[0], err)
	}
	bits := [9]*bool{&l.NX, &l.G, &l.Big, &l.D, &l.A, &l.PCD, &l.PWT, &l.User, &l.Write}
	for i := range tlbFlags {
		switch f[1][i] {
		case tlbFlags[i]:
			*bits[i] = true
		case '-':
		default:
			return l, fmt.Errorf("flag %d is %q (want %q or '-')", i, f[1][i], tlbFlags[i])
		}
	}
	return l, nil
}

// Translation is one answer of HMP `gva2gpa ADDR`: QEMU's own walk,
// which ignores rights.
type Translation struct {
	VA     uint64
	PA     uint64
	Mapped bool
}

// ParseGva2gpa reads the file the linux-guest target writes: one line
// per address, "VA gpa: PA" or "VA Unmapped" (QEMU's words after the
// address it was asked about), hex with or without 0x.
func ParseGva2gpa(r io.Reader) ([]Translation, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), 4096)
	var out []Translation
	for n := 1; sc.Scan(); n++ {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		var t Translation
		va, err := strconv.ParseUint(strings.TrimPrefix(f[0], "0x"), 16, 64)
		switch {
		case err != nil:
			return nil, fmt.Errorf("gva2gpa line %d: address %q: %v", n, f[0], err)
		case len(f) == 2 && f[1] == "Unmapped":
		case len(f) == 3 && f[1] == "gpa:":
			t.PA, err = strconv.ParseUint(strings.TrimPrefix(f[2], "0x"), 16, 64)
			if err != nil {
				return nil, fmt.Errorf("gva2gpa line %d: %q: %v", n, f[2], err)
			}
			t.Mapped = true
		default:
			return nil, fmt.Errorf("gva2gpa line %d: %q is not \"VA gpa: PA\" or \"VA Unmapped\"", n, sc.Text())
		}
		t.VA = va
		if len(out) >= MaxTLBLines {
			return nil, fmt.Errorf("gva2gpa line %d: more than %d answers", n, MaxTLBLines)
		}
		out = append(out, t)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("gva2gpa: %w", err)
	}
	return out, nil
}

// MemRange is one line of HMP `info mem`: a run of linear addresses with
// the same effective rights (U and W ANDed over the levels; QEMU does not
// print NX there). QEMU 7.2 prints nothing under 5-level paging.
type MemRange struct {
	Start, End  uint64
	User, Write bool
}

// ParseInfoMem reads `info mem` output: "START-END SIZE PROT" with PROT
// three characters, 'u' or '-', 'r', 'w' or '-'.
func ParseInfoMem(r io.Reader) ([]MemRange, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), 4096)
	var out []MemRange
	for n := 1; sc.Scan(); n++ {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		lo, hi, ok := strings.Cut(f[0], "-")
		if len(f) != 3 || !ok || len(f[2]) != 3 || f[2][1] != 'r' || !strings.ContainsRune("u-", rune(f[2][0])) || !strings.ContainsRune("w-", rune(f[2][2])) {
			return nil, fmt.Errorf("info mem line %d: %q is not \"START-END SIZE PROT\"", n, sc.Text())
		}
		var m MemRange
		var err1, err2 error
		m.Start, err1 = strconv.ParseUint(lo, 16, 64)
		m.End, err2 = strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("info mem line %d: bad range %q", n, f[0])
		}
		m.User, m.Write = f[2][0] == 'u', f[2][2] == 'w'
		if len(out) >= MaxTLBLines {
			return nil, fmt.Errorf("info mem line %d: more than %d ranges", n, MaxTLBLines)
		}
		out = append(out, m)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("info mem: %w", err)
	}
	return out, nil
}
