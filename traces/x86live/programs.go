// Package x86live runs real x86 machine code as a live guest: small
// kernels written in NASM (guests/*.asm) run in the Unicorn CPU emulator,
// loaded at run time with purego, in two ways. The reference way lets
// Unicorn's own MMU walk the guest's page tables; the engine way makes
// the PGM engine (shadow or nested paging) the MMU: Unicorn's TLB misses
// are answered from the engine's guest memory and every access goes
// through the engine. Both record what the guest saw, so that Compare can
// tell where they part, and the engine way yields engine events with
// their outcomes, a trace.
//
// Unicorn delivers no exception itself: the host delivers each #PF and
// int n through the guest's IDT, onto the ring-0 stack its TSS names when
// the guest was in user mode, and tells the engine of every change of
// CPL, RFLAGS.AC and PKRU as an event, so guests may use user mode,
// SMEP, SMAP and protection keys (see CPUModel for what Unicorn lacks).
//
// Not available under js/wasm (no native library there).
package x86live

import (
	"embed"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/phys"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// The guest machine every program runs on: RAM at 0, a device register
// page (MMIO) above it, code loaded at LoadAddr and entered in 32-bit
// protected mode with paging off (Unicorn's UC_MODE_32 start state).
const (
	RAMSize  = 4 << 20
	MMIOBase = 0xfec00000
	MMIOSize = x86.PageSize
	MMIOName = "x86dev"
	LoadAddr = 0x1000
	// Guests report success by halting with this value in EAX.
	DoneMagic = 0x600d
)

// Program is one guest: a flat binary loaded at LoadAddr.
type Program struct {
	Name string
	Doc  string
	Code []byte
}

//go:embed guests/*.asm guests/*.bin
var guestFS embed.FS

var docs = map[string]string{
	"paging32":  "32-bit kernel: builds a page directory with 4 KiB and 4 MiB pages, turns paging on, reads and writes through them, checks its accessed and dirty bits",
	"longmode":  "boots through 32-bit paging to PAE and on to long mode with NX and a higher-half mapping",
	"multiproc": "three processes with their own page directories: CR3 switches, invlpg, and a #PF handler in the IDT that maps pages on demand",
	"mmio":      "maps the device register page (MMIO) uncached and talks to it through two virtual addresses",
	"modern":    "a 64-bit kernel with SMEP, SMAP, protection keys and PCIDs: two address spaces switched with CR3 bit 63, user mode through iretq and back through int 0x80, and a #PF handler that checks each fault these features cause",
}

// Names lists the built-in programs.
func Names() []string {
	var n []string
	for k := range docs {
		n = append(n, k)
	}
	slices.Sort(n)
	return n
}

// Builtin returns a built-in program by name.
func Builtin(name string) (*Program, error) {
	doc, ok := docs[name]
	if !ok {
		return nil, fmt.Errorf("%w %q (built in: %s; or give a .asm or flat .bin file)", ErrNoProgram, name, strings.Join(Names(), ", "))
	}
	code, err := guestFS.ReadFile("guests/" + name + ".bin")
	if err != nil {
		return nil, fmt.Errorf("guest %s: %w", name, err)
	}
	return &Program{Name: name, Doc: doc, Code: code}, nil
}

// AsmSource returns the NASM source of a built-in program.
func AsmSource(name string) ([]byte, error) { return guestFS.ReadFile("guests/" + name + ".asm") }

// ErrNoProgram: the name is neither a built-in program nor a file.
var ErrNoProgram = errors.New("no x86 guest program")

// Load returns a built-in program, or reads a file: a flat binary, or a
// NASM source (.asm) assembled with nasm (`bits 32`, `org 0x1000`).
func Load(nameOrPath string) (*Program, error) {
	if _, ok := docs[nameOrPath]; ok {
		return Builtin(nameOrPath)
	}
	if _, err := os.Stat(nameOrPath); err != nil {
		return Builtin(nameOrPath)
	}
	name := strings.TrimSuffix(filepath.Base(nameOrPath), filepath.Ext(nameOrPath))
	if strings.HasSuffix(nameOrPath, ".asm") {
		code, err := Assemble(nameOrPath)
		if err != nil {
			return nil, err
		}
		return &Program{Name: name, Code: code}, nil
	}
	code, err := os.ReadFile(nameOrPath)
	if err != nil {
		return nil, err
	}
	return &Program{Name: name, Code: code}, nil
}

// Assemble runs nasm on a source file and returns the flat binary.
func Assemble(src string) ([]byte, error) {
	if _, err := exec.LookPath("nasm"); err != nil {
		return nil, fmt.Errorf("assembling %s needs nasm: run `make x86-guests` (it installs Debian's nasm) or apt-get install nasm", src)
	}
	dir, err := os.MkdirTemp("", "x86live")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "guest.bin")
	// The source's own directory is on the include path, so that a guest
	// finds the files beside it (%include "common.inc") from anywhere.
	inc := filepath.Dir(src) + string(filepath.Separator)
	if b, err := exec.Command("nasm", "-f", "bin", "-I", inc, "-o", out, src).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("nasm %s: %v\n%s", src, err, b)
	}
	return os.ReadFile(out)
}

// Config is the engine configuration of the guest machine.
func Config(paging engine.Paging) engine.Config {
	c := engine.DefaultConfig()
	c.Ranges = []phys.RangeSpec{
		{Type: phys.TypeRAM, Start: 0, Size: RAMSize, Name: "ram"},
		{Type: phys.TypeMMIO, Start: MMIOBase, Size: MMIOSize, Name: MMIOName},
	}
	c.Paging = paging
	return c
}

// setupEvents attach the device and load the program: physical writes
// of the code, then the processor's start state (protected mode, no
// paging), so that a recording replays from power-on.
func setupEvents(p *Program) []engine.Event {
	ev := []engine.Event{
		{Kind: engine.EvLabel, Text: "x86 guest " + p.Name + ": the loader writes its code at " + fmt.Sprintf("%#x", LoadAddr)},
		{Kind: engine.EvPhysHandler, Size: uint8(engine.PhysMMIO), Addr: MMIOBase, Value: MMIOSize, Text: MMIOName},
	}
	code := p.Code
	for i := 0; i < len(code); i += 8 {
		var v uint64
		n := min(8, len(code)-i)
		for j := n - 1; j >= 0; j-- {
			v = v<<8 | uint64(code[i+j])
		}
		size := uint8(8)
		if n < 8 {
			// Keep the tail exact: bytes past the program stay untouched.
			for j := 0; j < n; j++ {
				ev = append(ev, engine.Event{Kind: engine.EvPhysWrite, Size: 1, Addr: uint64(LoadAddr + i + j), Value: uint64(code[i+j])})
			}
			break
		}
		ev = append(ev, engine.Event{Kind: engine.EvPhysWrite, Size: size, Addr: uint64(LoadAddr + i), Value: v})
	}
	return append(ev,
		engine.Event{Kind: engine.EvCR0, Value: x86.CR0PE | x86.CR0ET},
		engine.Event{Kind: engine.EvLabel, Text: "the CPU starts at " + fmt.Sprintf("%#x", LoadAddr) + " in 32-bit protected mode, paging off"})
}
