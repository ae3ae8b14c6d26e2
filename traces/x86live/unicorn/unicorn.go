//go:build !js && !wasip1

// Package unicorn is a small binding to the Unicorn CPU emulator (x86
// only, version 2.1 or later), loaded at run time with purego so that the
// program needs no cgo and runs, without the live x86 source, on machines
// that lack the library.
//
// Unicorn calls back into Go through purego callbacks. Those are a
// process-wide, never-freed resource (about 2000 slots), so the package
// creates each kind once and routes every call to its engine through the
// user-data argument: an index into a table of open engines.
package unicorn

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"unsafe"

	"github.com/ebitengine/purego"
)

// Architecture, modes, hook kinds, memory-access kinds, protections and
// registers, with Unicorn's numbering (unicorn.h, x86.h).
const (
	archX86 = 4

	Mode32 = 1 << 2
	Mode64 = 1 << 3

	HookIntr          = 1 << 0
	HookCode          = 1 << 2
	HookBlock         = 1 << 3
	HookMemReadUnmap  = 1 << 4
	HookMemWriteUnmap = 1 << 5
	HookMemFetchUnmap = 1 << 6
	HookMemRead       = 1 << 10
	HookMemWrite      = 1 << 11
	HookMemReadAfter  = 1 << 13
	HookTLBFill       = 1 << 17

	MemRead          = 16
	MemWrite         = 17
	MemFetch         = 18
	MemReadUnmapped  = 19
	MemWriteUnmapped = 20
	MemFetchUnmapped = 21
	MemReadAfter     = 25

	ProtRead  = 1
	ProtWrite = 2
	ProtExec  = 4
	ProtAll   = 7

	TLBCPU     = 0
	TLBVirtual = 1

	// uc_ctl codes: type | nr<<26 | rw<<30 (rw 1 = write).
	ctlTLBFlush = 11 | 0<<26 | 1<<30
	ctlTLBType  = 12 | 1<<26 | 1<<30
	ctlCPUModel = 7 | 1<<26 | 1<<30
)

// CPU models (uc_cpu_x86) worth naming: the default, qemu64, lacks
// SMEP, SMAP and protection keys, so CR4 writes silently drop them.
const (
	CPUQemu64        = 0
	CPUSkylakeServer = 22
	CPUIcelakeServer = 26
)

// Register numbers (uc_x86_reg).
const (
	RegEAX    = 19
	RegEBP    = 20
	RegEBX    = 21
	RegECX    = 22
	RegEDI    = 23
	RegEDX    = 24
	RegEFLAGS = 25
	RegEIP    = 26
	RegESI    = 29
	RegESP    = 30
	RegRAX    = 35
	RegRBP    = 36
	RegRBX    = 37
	RegRCX    = 38
	RegRDI    = 39
	RegRDX    = 40
	RegRIP    = 41
	RegRSI    = 43
	RegRSP    = 44
	RegCS     = 11
	RegSS     = 49
	RegCR0    = 50
	RegCR2    = 52
	RegCR3    = 53
	RegCR4    = 54
	RegR8     = 106
	RegIDTR   = 242
	RegGDTR   = 243
	RegTR     = 245
	RegMSR    = 248
)

// Error codes worth telling apart.
const (
	ErrOK            = 0
	ErrReadUnmapped  = 6
	ErrWriteUnmapped = 7
	ErrFetchUnmapped = 8
	ErrException     = 21
)

// MinVersion is the oldest Unicorn that honours the guest's page tables:
// 2.0 mapped every virtual address to the same physical address.
const MinVersion = "2.1"

// Error is a failed Unicorn call.
type Error struct {
	Call string
	Code int
	Msg  string
}

func (e *Error) Error() string {
	return fmt.Sprintf("unicorn: %s: %s (error %d)", e.Call, e.Msg, e.Code)
}

// ErrNotFound says that no usable library was found; its message names
// what to install.
var ErrNotFound = errors.New("libunicorn not found")

var lib struct {
	once    sync.Once
	err     error
	path    string
	version [3]int

	version_      func(major, minor *uint32) uint32
	open          func(arch, mode uint32, uc *uintptr) int32
	close_        func(uc uintptr) int32
	strerror      func(code int32) string
	memMap        func(uc uintptr, addr uint64, size uintptr, perms uint32) int32
	memRead       func(uc uintptr, addr uint64, buf unsafe.Pointer, size uintptr) int32
	memWrite      func(uc uintptr, addr uint64, buf unsafe.Pointer, size uintptr) int32
	regRead       func(uc uintptr, reg int32, v unsafe.Pointer) int32
	regWrite      func(uc uintptr, reg int32, v unsafe.Pointer) int32
	hookAdd       func(uc uintptr, hh *uintptr, typ int32, cb uintptr, user uintptr, begin, end uint64) int32
	emuStart      func(uc uintptr, begin, until, timeout uint64, count uintptr) int32
	emuStop       func(uc uintptr) int32
	ctl           func(uc uintptr, control uint32, arg uintptr) int32
	mmioMap       func(uc uintptr, addr uint64, size uintptr, rd, rdUser, wr, wrUser uintptr) int32
	contextAlloc  func(uc uintptr, ctx *unsafe.Pointer) int32
	contextSave   func(uc uintptr, ctx unsafe.Pointer) int32
	contextRestor func(uc uintptr, ctx unsafe.Pointer) int32
	free          func(p unsafe.Pointer) int32
}

// EnvVar names the environment variable that points at the library.
const EnvVar = "PGM_UNICORN"

// CacheDir is where `make unicorn` unpacks Debian trixie's package,
// relative to the repository root.
const CacheDir = ".cache/unicorn"

const cacheLib = CacheDir + "/usr/lib/x86_64-linux-gnu/libunicorn.so.2"

// Candidates lists the places Load tries, in order: path (a flag), the
// environment variable, the project-local cache found from the working
// directory upwards, then the system library.
func Candidates(path string) []string {
	var c []string
	if path != "" {
		return []string{path}
	}
	if p := os.Getenv(EnvVar); p != "" {
		return []string{p}
	}
	if dir, err := os.Getwd(); err == nil {
		for {
			p := filepath.Join(dir, cacheLib)
			if _, err := os.Stat(p); err == nil {
				c = append(c, p)
				break
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	return append(c, "libunicorn.so.2", "libunicorn.so")
}

// Load finds and opens the library once per process; later calls return
// the first result (path is only looked at the first time).
func Load(path string) error {
	lib.once.Do(func() { lib.err = load(path) })
	return lib.err
}

// Loaded reports the library's file and version after a successful Load.
func Loaded() (string, string) {
	return lib.path, fmt.Sprintf("%d.%d.%d", lib.version[0], lib.version[1], lib.version[2])
}

func load(path string) error {
	var tried []string
	var h uintptr
	for _, p := range Candidates(path) {
		var err error
		h, err = purego.Dlopen(p, purego.RTLD_NOW|purego.RTLD_LOCAL)
		if err == nil {
			lib.path = p
			break
		}
		tried = append(tried, fmt.Sprintf("%s (%v)", p, err))
	}
	if h == 0 {
		return fmt.Errorf("%w: the live x86 guests need Unicorn >= %s; run `make unicorn` (it unpacks Debian trixie's libunicorn2t64 into %s), "+
			"or point --unicorn or $%s at a libunicorn.so.2. Tried: %v", ErrNotFound, MinVersion, CacheDir, EnvVar, tried)
	}
	reg := func(fp any, name string) (err error) {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("%s has no %s: %v", lib.path, name, r)
			}
		}()
		purego.RegisterLibFunc(fp, h, name)
		return nil
	}
	for _, f := range []struct {
		fp   any
		name string
	}{
		{&lib.version_, "uc_version"}, {&lib.open, "uc_open"}, {&lib.close_, "uc_close"},
		{&lib.strerror, "uc_strerror"}, {&lib.memMap, "uc_mem_map"}, {&lib.memRead, "uc_mem_read"},
		{&lib.memWrite, "uc_mem_write"}, {&lib.regRead, "uc_reg_read"}, {&lib.regWrite, "uc_reg_write"},
		{&lib.hookAdd, "uc_hook_add"}, {&lib.emuStart, "uc_emu_start"}, {&lib.emuStop, "uc_emu_stop"},
		{&lib.ctl, "uc_ctl"}, {&lib.mmioMap, "uc_mmio_map"}, {&lib.contextAlloc, "uc_context_alloc"},
		{&lib.contextSave, "uc_context_save"}, {&lib.contextRestor, "uc_context_restore"}, {&lib.free, "uc_context_free"},
	} {
		if err := reg(f.fp, f.name); err != nil {
			return fmt.Errorf("%s is not a usable Unicorn 2 (need >= %s; run `make unicorn`): %v", lib.path, MinVersion, err)
		}
	}
	v := lib.version_(nil, nil)
	lib.version = [3]int{int(v >> 24), int(v >> 16 & 0xff), int(v >> 8 & 0xff)}
	if lib.version[0] < 2 || lib.version[0] == 2 && lib.version[1] < 1 {
		return fmt.Errorf("%s is Unicorn %d.%d.%d, which ignores the guest's page tables (2.0 maps every virtual address "+
			"to the same physical one): the live x86 guests need >= %s. Run `make unicorn` (Debian trixie's libunicorn2t64, "+
			"unpacked into %s) or point --unicorn or $%s at a newer libunicorn.so.2",
			lib.path, lib.version[0], lib.version[1], lib.version[2], MinVersion, CacheDir, EnvVar)
	}
	return nil
}

func check(call string, code int32) error {
	if code == ErrOK {
		return nil
	}
	return &Error{Call: call, Code: int(code), Msg: lib.strerror(code)}
}

// Hooks receives Unicorn's callbacks for one engine. Methods run on the
// goroutine that called Start, inside the emulator.
type Hooks interface {
	Code(addr uint64, size uint32)
	Block(addr uint64, size uint32)
	Intr(intno uint32)
	Mem(kind int, addr uint64, size int, value int64)
	// Unmapped returns whether the access was handled (it then retries).
	Unmapped(kind int, addr uint64, size int, value int64) bool
	// TLBFill translates the page vaddr for an access of kind; false
	// raises an exception that stops Start with ErrException.
	TLBFill(vaddr uint64, kind int) (paddr uint64, perms uint32, ok bool)
	MMIORead(offset uint64, size uint32) uint64
	MMIOWrite(offset uint64, size uint32, value uint64)
}

// Engine is one emulated x86 CPU with its memory.
type Engine struct {
	uc    uintptr
	slot  uintptr
	hooks Hooks
}

var engines struct {
	sync.Mutex
	list []*Engine
}

func lookup(slot uintptr) *Engine {
	engines.Lock()
	defer engines.Unlock()
	if int(slot) < len(engines.list) {
		return engines.list[slot]
	}
	return nil
}

// The callbacks, created once (see the package comment).
var cb struct {
	once                                                       sync.Once
	code, block, intr, mem, unmapped, tlb, mmioRead, mmioWrite uintptr
}

type tlbEntry struct {
	paddr uint64
	perms uint32
}

func makeCallbacks() {
	cb.code = purego.NewCallback(func(uc uintptr, addr uint64, size uint32, user uintptr) {
		if e := lookup(user); e != nil {
			e.hooks.Code(addr, size)
		}
	})
	cb.block = purego.NewCallback(func(uc uintptr, addr uint64, size uint32, user uintptr) {
		if e := lookup(user); e != nil {
			e.hooks.Block(addr, size)
		}
	})
	cb.intr = purego.NewCallback(func(uc uintptr, intno uint32, user uintptr) {
		if e := lookup(user); e != nil {
			e.hooks.Intr(intno)
		}
	})
	cb.mem = purego.NewCallback(func(uc uintptr, kind int32, addr uint64, size int32, value int64, user uintptr) {
		if e := lookup(user); e != nil {
			e.hooks.Mem(int(kind), addr, int(size), value)
		}
	})
	cb.unmapped = purego.NewCallback(func(uc uintptr, kind int32, addr uint64, size int32, value int64, user uintptr) bool {
		if e := lookup(user); e != nil {
			return e.hooks.Unmapped(int(kind), addr, int(size), value)
		}
		return false
	})
	cb.tlb = purego.NewCallback(func(uc uintptr, addr uint64, kind int32, res *tlbEntry, user uintptr) bool {
		e := lookup(user)
		if e == nil {
			return false
		}
		p, perms, ok := e.hooks.TLBFill(addr, int(kind))
		if ok {
			res.paddr, res.perms = p, perms
		}
		return ok
	})
	cb.mmioRead = purego.NewCallback(func(uc uintptr, off uint64, size uint32, user uintptr) uint64 {
		if e := lookup(user); e != nil {
			return e.hooks.MMIORead(off, size)
		}
		return 0
	})
	cb.mmioWrite = purego.NewCallback(func(uc uintptr, off uint64, size uint32, value uint64, user uintptr) {
		if e := lookup(user); e != nil {
			e.hooks.MMIOWrite(off, size, value)
		}
	})
}

// Open creates an x86 CPU in mode (Mode32 or Mode64) whose callbacks go
// to h. Load must have succeeded.
func Open(mode int, h Hooks) (*Engine, error) {
	if lib.err != nil || lib.open == nil {
		return nil, fmt.Errorf("unicorn: library not loaded")
	}
	cb.once.Do(makeCallbacks)
	e := &Engine{hooks: h}
	if err := check("uc_open", lib.open(archX86, uint32(mode), &e.uc)); err != nil {
		return nil, err
	}
	engines.Lock()
	e.slot = uintptr(len(engines.list))
	for i, x := range engines.list {
		if x == nil {
			e.slot = uintptr(i)
			break
		}
	}
	if int(e.slot) == len(engines.list) {
		engines.list = append(engines.list, e)
	} else {
		engines.list[e.slot] = e
	}
	engines.Unlock()
	return e, nil
}

// Close frees the emulator.
func (e *Engine) Close() error {
	if e.uc == 0 {
		return nil
	}
	err := check("uc_close", lib.close_(e.uc))
	engines.Lock()
	engines.list[e.slot] = nil
	engines.Unlock()
	e.uc = 0
	return err
}

// MapRAM maps size bytes of RAM at physical address addr.
func (e *Engine) MapRAM(addr, size uint64) error {
	return check("uc_mem_map", lib.memMap(e.uc, addr, uintptr(size), ProtAll))
}

// MapMMIO maps a device whose accesses call Hooks.MMIORead/MMIOWrite.
func (e *Engine) MapMMIO(addr, size uint64) error {
	return check("uc_mmio_map", lib.mmioMap(e.uc, addr, uintptr(size), cb.mmioRead, e.slot, cb.mmioWrite, e.slot))
}

// Read reads physical memory (Unicorn >= 2.1 addresses memory physically).
func (e *Engine) Read(addr uint64, b []byte) error {
	if len(b) == 0 {
		return nil
	}
	return check("uc_mem_read", lib.memRead(e.uc, addr, unsafe.Pointer(&b[0]), uintptr(len(b))))
}

// Write writes physical memory.
func (e *Engine) Write(addr uint64, b []byte) error {
	if len(b) == 0 {
		return nil
	}
	return check("uc_mem_write", lib.memWrite(e.uc, addr, unsafe.Pointer(&b[0]), uintptr(len(b))))
}

// Reg reads a register of up to 64 bits.
func (e *Engine) Reg(r int) uint64 {
	var v uint64
	lib.regRead(e.uc, int32(r), unsafe.Pointer(&v))
	return v
}

// SetReg writes a register of up to 64 bits.
func (e *Engine) SetReg(r int, v uint64) error {
	return check("uc_reg_write", lib.regWrite(e.uc, int32(r), unsafe.Pointer(&v)))
}

// MMR is a descriptor-table register (IDTR, GDTR).
type MMR struct {
	Selector uint16
	Base     uint64
	Limit    uint32
	Flags    uint32
}

// TableReg reads IDTR or GDTR.
func (e *Engine) TableReg(r int) MMR {
	var m MMR
	lib.regRead(e.uc, int32(r), unsafe.Pointer(&m))
	return m
}

// SetTableReg writes IDTR or GDTR.
func (e *Engine) SetTableReg(r int, m MMR) error {
	return check("uc_reg_write", lib.regWrite(e.uc, int32(r), unsafe.Pointer(&m)))
}

type msr struct {
	rid   uint32
	value uint64
}

// MSR reads a model-specific register.
func (e *Engine) MSR(id uint32) uint64 {
	m := msr{rid: id}
	lib.regRead(e.uc, RegMSR, unsafe.Pointer(&m))
	return m.value
}

// AddHook installs a hook of type typ (Hook* constants) over [begin, end]
// (begin > end: everywhere).
func (e *Engine) AddHook(typ int) error {
	var fn uintptr
	switch typ {
	case HookCode:
		fn = cb.code
	case HookBlock:
		fn = cb.block
	case HookIntr:
		fn = cb.intr
	case HookMemRead, HookMemWrite, HookMemReadAfter, HookMemRead | HookMemWrite, HookMemWrite | HookMemReadAfter:
		fn = cb.mem
	case HookMemReadUnmap | HookMemWriteUnmap | HookMemFetchUnmap:
		fn = cb.unmapped
	case HookTLBFill:
		fn = cb.tlb
	default:
		return fmt.Errorf("unicorn: hook type %#x not supported by this binding", typ)
	}
	var hh uintptr
	return check("uc_hook_add", lib.hookAdd(e.uc, &hh, int32(typ), fn, e.slot, 1, 0))
}

// Start runs from begin until the address until, count instructions
// (0: no limit), or a stop.
func (e *Engine) Start(begin, until uint64, count uint64) error {
	return check("uc_emu_start", lib.emuStart(e.uc, begin, until, 0, uintptr(count)))
}

// Stop asks a running Start to return.
func (e *Engine) Stop() { lib.emuStop(e.uc) }

// SetCPUModel selects the CPU model (CPU* constants). Call it right
// after Open: Unicorn builds the CPU on the first call that needs it.
func (e *Engine) SetCPUModel(model int) error {
	return check("uc_ctl(CPU_MODEL)", lib.ctl(e.uc, ctlCPUModel, uintptr(model)))
}

// SetTLBMode chooses who translates virtual addresses: TLBCPU
// (Unicorn's own MMU walks the guest tables) or TLBVirtual (the
// TLB-fill hook).
func (e *Engine) SetTLBMode(mode int) error {
	return check("uc_ctl(TLB_TYPE)", lib.ctl(e.uc, ctlTLBType, uintptr(mode)))
}

// FlushTLB drops every cached translation.
func (e *Engine) FlushTLB() error {
	return check("uc_ctl(TLB_FLUSH)", lib.ctl(e.uc, ctlTLBFlush, 0))
}

// Context is a saved CPU state (registers only, not memory).
type Context struct{ p unsafe.Pointer }

// SaveContext saves the registers.
func (e *Engine) SaveContext() (*Context, error) {
	c := &Context{}
	if err := check("uc_context_alloc", lib.contextAlloc(e.uc, &c.p)); err != nil {
		return nil, err
	}
	if err := check("uc_context_save", lib.contextSave(e.uc, c.p)); err != nil {
		lib.free(c.p)
		return nil, err
	}
	return c, nil
}

// Bytes is the saved CPU state itself: uc_context is a header (size_t
// size, then mode, arch and snapshot level as 4-byte ints: 20 bytes)
// followed by a copy of QEMU's CPU state, which starts with the general
// registers. Callers that patch
// it must know that layout's version (see MinVersion).
func (c *Context) Bytes() []byte {
	if c.p == nil {
		return nil
	}
	size := *(*uintptr)(c.p)
	if size > 1<<20 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Add(c.p, 20)), size)
}

// Free releases a context without restoring it.
func (c *Context) Free() {
	if c.p != nil {
		lib.free(c.p)
		c.p = nil
	}
}

// RestoreContext loads registers saved by SaveContext and frees c.
func (e *Engine) RestoreContext(c *Context) error {
	err := check("uc_context_restore", lib.contextRestor(e.uc, c.p))
	lib.free(c.p)
	c.p = nil
	return err
}
