package workload

import (
	"fmt"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

func init() {
	register(&spec{
		Info: Info{
			Name: "multiprocess",
			Summary: "a kernel runs processes with demand paging, fork with copy-on-write, exec, exit and context switches; " +
				"kernel memory is global and shared by every address space",
			Events: 100000,
			Params: []Param{
				intParam("procs", 8, 1, 64, "most processes alive at once (init included)"),
				choiceParam("mode", "long", []string{"32bit", "pae", "long", "la57"}, "paging mode of the guest"),
				boolParam("nx", true, "mark data pages no-execute (PAE and long modes)"),
				intParam("heap", 64, 1, 4096, "largest heap of a process, in 4 KiB pages"),
				intParam("locality", 90, 0, 100, "percentage of accesses that go to one of a process's 8 most recently used pages"),
				intParam("quantum", 64, 1, 100000, "memory accesses of a process per time slice"),
				intParam("ram", 32, 8, 512, "memory size in MiB"),
				boolParam("pcid", false, "give each process its own PCID (CR4.PCIDE, long and la57 modes): a switch loads CR3 with bit 63 set "+
					"and keeps the process's translations; the kernel invalidates with invpcid when it reuses a PCID and "+
					"with a CR3 load without bit 63 when it changes the entries of the running process"),
				boolParam("smap", false, "turn on CR4.SMEP and CR4.SMAP: the kernel brackets its accesses to user memory with "+
					"ac 1 / ac 0 (stac/clac), and now and then a buggy path forgets to, or jumps to user code, and faults"),
			},
		},
		build: newMultiprocess,
	})
}

// Virtual layout of a process: its program's code (shared, read-only),
// a heap that grows and shrinks, a stack below the top of user space.
const (
	codeVA     = 0x400000
	codePages  = 16
	heapVA     = 0x10000000
	stackPages = 16
	hotPages   = 8 // the working set "recent pages" holds
)

// Physical layout: the kernel image at 1 MiB (code, then data: task
// structures and kernel stacks), free frames above.
const (
	kimageText = 0x100000
	kimageData = 0x180000
	kimageEnd  = 0x200000
)

// vmaKind is what a region of a process holds.
type vmaKind uint8

const (
	vmaCode  vmaKind = iota // the program, mapped from its page-cache frames
	vmaHeap                 // anonymous memory, demand-zero
	vmaStack                // likewise
)

// vma is a region of a process's address space, [start, end).
type vma struct {
	start, end x86.GVA
	kind       vmaKind
}

// proc is a process.
type proc struct {
	pid        int
	root       x86.GPA   // top-level table (CR3)
	heapPages  int       // current heap size
	recent     []x86.GVA // pages touched lately, most recent first (at most hotPages)
	execNext   bool      // forked to run a new program: execs when it first runs
	pcid       uint16    // its process-context identifier (0 without PCIDs)
	wildChance int       // 1 in wildChance accesses is a stray pointer (0: never)
}

// multiprocess is the kernel of the multiprocess workload.
type multiprocess struct {
	m *machine
	// parameters
	maxProcs  int
	mode      x86.Mode
	nx        bool
	heapMax   int
	locality  int
	quantum   int
	ram       uint64
	pcids     bool    // each process has a PCID
	smap      bool    // CR4.SMEP and CR4.SMAP
	direct    x86.GVA // where the kernel maps all RAM
	stackTop  x86.GVA // end of the stack (exclusive)
	kernelTop int     // first top-level index of the kernel half
	pg        *pager
	kroot     x86.GPA   // the kernel's own tables (no process)
	free      []x86.GPA // free frames, a stack: the last freed is reused first
	refs      []int32   // mappings of each frame (image frames keep one more)
	image     [codePages]x86.GPA
	procs     []*proc // alive, by pid
	cur       *proc
	nextPID   int
	// pcidOwner is the process holding each PCID (index 0, the kernel's,
	// stays nil); pcidUsed marks those that may have translations cached
	// since they were last invalidated.
	pcidOwner []*proc
	pcidUsed  []bool
}

func newMultiprocess(seed uint64, a args) (Workload, error) {
	k := &multiprocess{m: newMachine(seed), maxProcs: a.Int("procs"), nx: a.Bool("nx"),
		heapMax: a.Int("heap"), locality: a.Int("locality"), quantum: a.Int("quantum"),
		ram: uint64(a.Int("ram")) << 20, nextPID: 1, pcids: a.Bool("pcid"), smap: a.Bool("smap")}
	switch a.String("mode") {
	case "32bit":
		k.mode, k.nx = x86.Mode32Bit, false
		k.direct, k.stackTop, k.kernelTop = 0xc0000000, 0xc0000000, 768
	case "pae":
		k.mode = x86.ModePAE
		k.direct, k.stackTop, k.kernelTop = 0xc0000000, 0xc0000000, 3
	case "long":
		k.mode = x86.ModeAMD64
		k.direct, k.stackTop, k.kernelTop = 0xffff888000000000, 0x800000000000, 256
	case "la57":
		k.mode = x86.ModeLA57
		k.direct, k.stackTop, k.kernelTop = 0xff11000000000000, 0x0100000000000000, 256
	}
	if k.pcids && (k.mode == x86.Mode32Bit || k.mode == x86.ModePAE) {
		return nil, fmt.Errorf("%w: pcid=true needs mode=long or mode=la57 (PCIDs exist only in IA-32e mode)", ErrParamValue)
	}
	if k.nx {
		k.mode = map[x86.Mode]x86.Mode{x86.ModePAE: x86.ModePAENX, x86.ModeAMD64: x86.ModeAMD64NX, x86.ModeLA57: x86.ModeLA57NX}[k.mode]
	}
	// The worst case: every process at its largest, with all its tables,
	// one more being built (fork, exec), the image and the kernel's.
	perProc := k.heapMax + stackPages + 12 + k.heapMax/512
	need := (k.maxProcs+1)*perProc + codePages + 8
	if have := int((k.ram - kimageEnd) / page); need > have {
		return nil, fmt.Errorf("%w: ram=%d MiB is too small for procs=%d and heap=%d (%d frames needed, %d free)",
			ErrParamValue, k.ram>>20, k.maxProcs, k.heapMax, need, have)
	}
	if k.pcids {
		k.pcidOwner, k.pcidUsed = make([]*proc, k.maxProcs+2), make([]bool, k.maxProcs+2)
	}
	for f := x86.GPA(k.ram) - page; f >= kimageEnd; f -= page {
		k.free = append(k.free, f)
	}
	k.refs = make([]int32, k.ram/page)
	cr4 := uint64(x86.CR4PSE)
	if k.mode != x86.Mode32Bit {
		cr4 = x86.CR4PAE
	}
	k.pg = &pager{m: k.m, f: k.m.format(k.mode, cr4), alloc: k.table}
	h := newHeader("multiprocess", seed, a, pcRanges(k.ram))
	return start("multiprocess", h, k.m, k.run), nil
}

func (k *multiprocess) run() {
	k.boot()
	for {
		k.slice()
	}
}

// frame takes a free frame. The parameters are checked so that memory
// never runs out.
func (k *multiprocess) frame() x86.GPA {
	n := len(k.free)
	if n == 0 {
		panic("workload multiprocess: out of memory")
	}
	f := k.free[n-1]
	k.free = k.free[:n-1]
	return f
}

// table is a zeroed frame for a page table.
func (k *multiprocess) table() x86.GPA {
	t := k.frame()
	k.m.zero(t)
	return t
}

// unref drops one mapping of frame f, freeing it with the last.
func (k *multiprocess) unref(f x86.GPA) {
	n := f / page
	k.refs[n]--
	switch {
	case k.refs[n] < 0:
		panic("workload multiprocess: frame reference count below zero")
	case k.refs[n] == 0:
		k.free = append(k.free, f)
	}
}

// boot sets up the kernel's tables (all RAM mapped at k.direct with
// global pages, as every address space will share), loads the program
// and starts init.
func (k *multiprocess) boot() {
	m := k.m
	m.label("the boot loader has the disk controller copy the kernel to 1 MiB")
	for off := x86.GPA(0); off < kimageEnd-kimageText; off += 0x4000 {
		m.pw(kimageText+off, 8, m.value(8))
	}
	m.cr(engine.EvCR0, x86.CR0PE|x86.CR0ET)
	m.label("the kernel maps all %d MiB of RAM at %#x with global pages, identical in every address space", k.ram>>20, uint64(k.direct))
	k.kroot = k.table()
	big := k.pg.f.N - 2
	size := uint64(1) << k.pg.f.Levels[big].Shift
	flags := fRW | fA | fD | fG
	if k.nx {
		flags |= fNX
	}
	for pa := uint64(0); pa < k.ram; pa += size {
		f := flags
		if pa < kimageEnd {
			f &^= fNX // the kernel's code runs from there
		}
		k.pg.mapPage(k.kroot, k.direct+x86.GVA(pa), big, x86.GPA(pa), f, false)
	}
	m.label("the disk controller copies the program every process runs into the page cache")
	for i := range k.image {
		k.image[i] = k.frame()
		k.refs[k.image[i]/page] = 1
		for range 4 {
			m.pw(k.image[i]+x86.GPA(8*m.rnd.IntN(page/8)), 8, m.value(8))
		}
	}
	m.label("the kernel turns paging on (%v)", k.mode)
	var protect uint64
	if k.smap {
		protect = x86.CR4SMEP | x86.CR4SMAP
	}
	switch {
	case k.mode == x86.Mode32Bit:
		m.cr(engine.EvCR4, x86.CR4PSE|x86.CR4PGE|protect)
	case k.mode.Long():
		efer := x86.EFERLME
		if k.nx {
			efer |= x86.EFERNXE
		}
		m.cr(engine.EvEFER, efer)
		cr4 := x86.CR4PAE | x86.CR4PGE
		if k.mode == x86.ModeLA57 || k.mode == x86.ModeLA57NX {
			cr4 |= x86.CR4LA57
		}
		m.cr(engine.EvCR4, cr4|protect)
	default:
		if k.nx {
			m.cr(engine.EvEFER, x86.EFERNXE)
		}
		m.cr(engine.EvCR4, x86.CR4PAE|x86.CR4PGE|protect)
	}
	m.cr(engine.EvCR3, uint64(k.kroot))
	m.cr(engine.EvCR0, x86.CR0PE|x86.CR0ET|x86.CR0PG|x86.CR0WP)
	if k.pcids {
		// PCIDE can be set only in IA-32e mode and with CR3[11:0] = 0:
		// the kernel's own tables run as PCID 0.
		m.label("the kernel turns PCIDs on: each process will have its own")
		m.cr(engine.EvCR4, m.regs.CR4|x86.CR4PCIDE)
	}
	m.kva = func(pa x86.GPA) (x86.GVA, bool) { return k.direct + x86.GVA(pa), true }
	k.kernelTouch(0)

	init := &proc{pid: k.nextPID, root: k.newRoot()}
	k.nextPID++
	k.givePCID(init)
	init.heapPages = 1 + m.rnd.IntN(max(1, k.heapMax/2))
	k.procs = append(k.procs, init)
	m.label("the kernel starts init, process 1")
	k.switchTo(init)
}

// newRoot builds the top-level table of a new address space: the
// kernel's entries copied (so the kernel half is the same everywhere),
// and, for PAE, the three user page directories, allocated up front as
// Linux does (PDPTEs are loaded with CR3 and cannot change afterwards).
func (k *multiprocess) newRoot() x86.GPA {
	root := k.table()
	top := &k.pg.f.Levels[0]
	for i := k.kernelTop; i < top.Entries(); i++ {
		a := x86.GPA(i * int(top.EntrySize))
		if e := k.m.ent[k.kroot+a]; e != 0 {
			k.pg.set(root+a, top.EntrySize, e)
		}
	}
	if top.Register {
		for i := range k.kernelTop {
			k.pg.set(root+x86.GPA(8*i), 8, uint64(k.table())|dirFlags(top, true))
		}
	}
	return root
}

// kernelTouch is the kernel at work: a fetch of its code and an access to
// its data (task structure, kernel stack) for process pid.
func (k *multiprocess) kernelTouch(pid int) {
	m := k.m
	m.setCPL(0)
	m.must(m.exec(k.direct + kimageText + x86.GVA(m.rnd.IntN(0x80000)&^0xf)))
	task := k.direct + kimageData + x86.GVA(pid%256*0x800)
	m.must(m.write(task+x86.GVA(8*m.rnd.IntN(0x100)), 8, m.value(8)))
}
