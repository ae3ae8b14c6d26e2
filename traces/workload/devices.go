package workload

import (
	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/phys"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

func init() {
	register(&spec{
		Info: Info{
			Name: "devices",
			Summary: "a kernel drives a UART through memory-mapped registers, draws into a frame buffer whose pages the hypervisor " +
				"tracks with a physical write handler, and patches a code page a virtual handler watches",
			Params: []Param{
				modeParam("long"),
				intParam("steps", 200, 1, 100000, "driver actions: console output and input, drawing, display refreshes, code patches"),
				intParam("fb", 8, 1, 64, "frame buffer size in 4 KiB pages"),
				intParam("refresh", 16, 1, 1000, "drawing actions between two display refreshes"),
				intParam("ram", 16, 4, 512, "memory size in MiB"),
			},
		},
		build: newDevices,
	})
}

// The machine's devices: a UART whose registers fill the first bytes of
// an MMIO page, and a frame buffer carved out of RAM, below the kernel's
// free frames. Handler names are what outcomes report.
const (
	uartGPA   = 0xfe000000
	uartName  = "uart"
	fbGPA     = 0x180000
	fbName    = "fb"
	fbRow     = 1024 // bytes per row of 4-byte pixels
	fbVAOff   = 0x10000
	patchName = "kpatch"
)

// UART registers (16550 offsets; the divisor latch shares 0 and 1) and
// bits.
const (
	uartTHR  = 0 // transmit (written), receive buffer (read)
	uartIER  = 1
	uartIIR  = 2 // interrupt identification (read), FIFO control (written)
	uartLCR  = 3
	uartMCR  = 4
	uartLSR  = 5
	uartSCR  = 7
	lsrDR    = 0x01 // data ready
	lsrTHRE  = 0x20 // transmit holding register empty
	lsrTEMT  = 0x40
	iirNone  = 0x01
	iirRx    = 0x04
	uartRegs = 8
)

// Cache-control bits of a page-table entry.
const (
	fPWT = uint64(x86.PWT)
	fPCD = uint64(x86.PCD)
)

// devices is the kernel of the devices workload, with the hypervisor's
// side of its devices: the UART's emulation and the display's dirty
// tracking.
type devices struct {
	m       *machine
	k       *kernel
	steps   int
	refresh int
	fbPages int
	uart    [uartRegs]int // the register file as the driver and the device last wrote it (-1: never)
	fbOn    bool          // the frame buffer's write handler is registered
	fbOff   []bool        // its pages turned off (written since the last refresh)
	pixels  map[x86.GPA]uint32
	patchVA x86.GVA // the code page the virtual handler watches
	patchPA x86.GPA // the frame it maps now
	watched bool    // the virtual handler is registered
}

func newDevices(seed uint64, a args) (Workload, error) {
	m := newMachine(seed)
	ram := uint64(a.Int("ram")) << 20
	d := &devices{m: m, k: newKernel(m, a.String("mode"), true, ram, kfreeBase), steps: a.Int("steps"),
		refresh: a.Int("refresh"), fbPages: a.Int("fb"), pixels: map[x86.GPA]uint32{}}
	d.fbOff = make([]bool, d.fbPages)
	for i := range d.uart {
		d.uart[i] = -1
	}
	d.patchVA = d.k.lay.text + x86.GVA(page*(1+m.rnd.IntN(kimgText/page-1)))
	d.patchPA = kimgBase + x86.GPA(d.patchVA-d.k.lay.text)
	ranges := append(pcRanges(ram), phys.RangeSpec{Type: phys.TypeMMIO, Start: uartGPA, Size: page, Name: uartName})
	h := newHeader("devices", seed, a, ranges)
	return start("devices", h, m, d.run), nil
}

func (d *devices) run() {
	m, k := d.m, d.k
	m.label("the hypervisor attaches the devices: a UART in an MMIO page at %#x, and a %d KiB frame buffer in RAM at %#x "+
		"whose writes it watches to know which pages to redraw", uartGPA, d.fbPages*4, fbGPA)
	m.emit(engine.Event{Kind: engine.EvPhysHandler, Size: uint8(engine.PhysMMIO), Addr: uartGPA, Value: page, Text: uartName})
	m.emit(engine.Event{Kind: engine.EvPhysHandler, Size: uint8(engine.PhysWrite), Addr: fbGPA, Value: uint64(d.fbPages * page), Text: fbName})
	d.fbOn = true
	k.load()
	k.boot()

	m.label("the kernel maps the UART's registers uncached (PCD and PWT) at %#x and the frame buffer write-through at %#x",
		uint64(k.lay.vmalloc), uint64(k.lay.vmalloc+fbVAOff))
	k.mapPage(k.lay.vmalloc, uartGPA, fRW|fPCD|fPWT|k.noExec())
	for i := range d.fbPages {
		k.mapPage(k.lay.vmalloc+fbVAOff+x86.GVA(i*page), fbGPA+x86.GPA(i*page), fRW|fPWT|k.noExec())
	}
	m.label("the kernel makes its code page at %#x writable to patch it at run time; the hypervisor watches that page with a "+
		"virtual write handler", uint64(d.patchVA))
	a := k.leafEntry(d.patchVA)
	lv := &k.pg.f.Levels[k.pg.leaf()]
	k.pg.set(a, lv.EntrySize, m.peek(a, lv.EntrySize)|fRW)
	m.invlpg(d.patchVA)
	m.emit(engine.Event{Kind: engine.EvVirtHandler, Size: uint8(engine.VirtWrite), Addr: uint64(d.patchVA), Value: page, Text: patchName})
	d.watched = true

	d.uartInit()
	d.puts("Linux version 0.01")
	draws := 0
	for step := range d.steps {
		k.work()
		if step == d.steps/2 {
			d.remapPatch()
		}
		switch r := m.rnd.IntN(100); {
		case r < 20:
			d.puts(d.word())
		case r < 30:
			d.input()
		case r < 60:
			d.drawRect()
			draws++
		case r < 70:
			d.blend()
			draws++
		case r < 75:
			d.clearRow()
			draws++
		case r < 90:
			d.patch()
		case r < 95:
			m.label("the kernel reloads CR3: the virtual handler's page is resolved again")
			m.cr(engine.EvCR3, uint64(k.root))
		default:
			d.remapPatch()
		}
		if draws >= d.refresh {
			d.refreshDisplay()
			draws = 0
		}
	}
	d.refreshDisplay()

	m.label("the hypervisor removes the virtual handler and the display is switched off: writes to the code page and to " +
		"the frame buffer no longer call a handler")
	m.emit(engine.Event{Kind: engine.EvVirtUnhandler, Addr: uint64(d.patchVA)})
	d.watched = false
	m.emit(engine.Event{Kind: engine.EvPhysUnhandler, Addr: fbGPA})
	d.fbOn = false
	d.patch()
	d.drawRect()
	d.puts("halt")
	m.label("done")
}

// expect is the handler an access of kind ev to gpa must call: the UART
// for every access to its page, the frame buffer for writes to a page
// not turned off, the virtual handler for writes to the page its code
// page maps now (through any address).
func (d *devices) expect(kind engine.EventKind, gpa x86.GPA) string {
	switch {
	case x86.PageDown(gpa) == uartGPA:
		return uartName
	case kind != engine.EvWrite && kind != engine.EvPhysWrite:
		return ""
	case d.fbOn && gpa >= fbGPA && gpa < fbGPA+x86.GPA(d.fbPages*page) && !d.fbOff[(gpa-fbGPA)/page]:
		return fbName
	case d.watched && x86.PageDown(gpa) == d.patchPA:
		return patchName
	}
	return ""
}

// do performs a device or code-page access that must reach gpa and call
// the handler expect names. The display's dirty tracking reacts to the
// frame buffer's handler: the page is written, so the hypervisor turns
// its handler off until the next refresh.
func (d *devices) do(ev engine.Event, gpa x86.GPA) engine.Outcome {
	m := d.m
	o := m.must(m.emit(ev))
	if o.GPA != gpa {
		m.fail("%s %#x reached %#x, the kernel mapped it to %#x", ev.Op(), ev.Addr, uint64(o.GPA), uint64(gpa))
	}
	if ev.Kind == engine.EvWrite || ev.Kind == engine.EvPhysWrite {
		m.mark(gpa, ev.Size)
	}
	want := d.expect(ev.Kind, gpa)
	if o.Handler != want {
		m.fail("%s %#x (physical %#x) called handler %q, want %q", ev.Op(), ev.Addr, uint64(gpa), o.Handler, want)
	}
	if want == fbName {
		p := x86.PageDown(gpa)
		d.fbOff[(p-fbGPA)/page] = true
		m.emit(engine.Event{Kind: engine.EvPhysHandlerOff, Addr: fbGPA, Value: uint64(p)})
	}
	return o
}

// reg is what reading UART register r gives: what was last written
// there, or all ones.
func (d *devices) reg(r int) byte {
	if v := d.uart[r]; v >= 0 {
		return byte(v)
	}
	return 0xff
}

func (d *devices) uartRead(r int) byte {
	va := d.k.lay.vmalloc + x86.GVA(r)
	o := d.do(engine.Event{Kind: engine.EvRead, Size: 1, Addr: uint64(va)}, uartGPA+x86.GPA(r))
	if want := d.reg(r); o.Value != uint64(want) {
		d.m.fail("UART register %d reads %#x, last written %#x", r, o.Value, want)
	}
	return byte(o.Value)
}

func (d *devices) uartWrite(r int, v byte) {
	va := d.k.lay.vmalloc + x86.GVA(r)
	d.do(engine.Event{Kind: engine.EvWrite, Size: 1, Addr: uint64(va), Value: uint64(v)}, uartGPA+x86.GPA(r))
	d.uart[r] = int(v)
}

// deviceSet is the UART's emulation changing one of its registers: a
// physical write to the register page, which reaches the device too.
func (d *devices) deviceSet(r int, v byte) {
	d.do(engine.Event{Kind: engine.EvPhysWrite, Size: 1, Addr: uartGPA + uint64(r), Value: uint64(v)}, uartGPA+x86.GPA(r))
	d.uart[r] = int(v)
}

func (d *devices) uartInit() {
	m := d.m
	m.label("the driver programs the UART (115200 baud, 8 data bits, FIFOs and the receive interrupt on) and checks its " +
		"scratch register: every access is a call to the device's MMIO handler")
	d.uartWrite(uartLCR, 0x80) // divisor latch access
	d.uartWrite(0, 0x01)
	d.uartWrite(1, 0x00)
	d.uartWrite(uartLCR, 0x03)
	d.uartWrite(uartIIR, 0xc7)
	d.uartWrite(uartMCR, 0x0b)
	d.uartWrite(uartIER, 0x01)
	d.uartWrite(uartSCR, byte(m.value(1)))
	d.uartRead(uartSCR)
	d.deviceSet(uartLSR, lsrTHRE|lsrTEMT)
	d.deviceSet(uartIIR, iirNone)
}

// putc sends one byte: the driver polls the line status until the
// transmitter is free (the device frees it after a while), then writes
// the byte; the device may then be busy sending it.
func (d *devices) putc(c byte) {
	m := d.m
	for polls := 0; d.uartRead(uartLSR)&lsrTHRE == 0; polls++ {
		if polls > 1 || m.rnd.IntN(2) == 0 {
			d.deviceSet(uartLSR, lsrTHRE|lsrTEMT)
		}
	}
	d.uartWrite(uartTHR, c)
	if m.rnd.IntN(3) == 0 {
		d.deviceSet(uartLSR, 0)
	}
}

func (d *devices) puts(s string) {
	d.m.label("the kernel prints %q on the serial console", s)
	for i := range len(s) {
		d.putc(s[i])
	}
	d.putc('\n')
}

func (d *devices) word() string {
	words := []string{"ok", "eth0: link up", "EXT4-fs mounted", "random: crng init done", "Freeing unused kernel memory",
		"tick", "login:", "Run /sbin/init"}
	return words[d.m.rnd.IntN(len(words))]
}

// input is a key arriving on the serial line: the device fills its
// receive buffer and raises an interrupt; the handler reads the
// interrupt identification and line status, takes the byte and echoes
// it.
func (d *devices) input() {
	m := d.m
	c := byte('a' + m.rnd.IntN(26))
	m.label("a byte arrives on the serial line: the device raises an interrupt, the driver reads it and echoes it")
	d.deviceSet(uartTHR, c)
	d.deviceSet(uartLSR, d.reg(uartLSR)|lsrDR)
	d.deviceSet(uartIIR, iirRx)
	if d.uartRead(uartIIR)&0x0f != iirRx {
		return // not ours
	}
	lsr := d.uartRead(uartLSR)
	if lsr&lsrDR == 0 {
		m.fail("UART interrupt without data")
	}
	got := d.uartRead(uartTHR)
	d.deviceSet(uartLSR, lsr&^lsrDR)
	d.deviceSet(uartIIR, iirNone)
	d.putc(got)
}

// fbVA is where the kernel sees frame-buffer byte off.
func (d *devices) fbVA(off uint64) x86.GVA { return d.k.lay.vmalloc + fbVAOff + x86.GVA(off) }

func (d *devices) fbRows() int { return d.fbPages * page / fbRow }

// drawRect fills a small rectangle with one colour.
func (d *devices) drawRect() {
	m := d.m
	w, h := 1+m.rnd.IntN(8), 1+m.rnd.IntN(min(4, d.fbRows()))
	x, y := m.rnd.IntN(fbRow/4-w+1), m.rnd.IntN(d.fbRows()-h+1)
	c := uint32(m.value(4))
	m.label("the kernel draws a %dx%d rectangle at (%d,%d)", w, h, x, y)
	for row := y; row < y+h; row++ {
		for col := x; col < x+w; col++ {
			off := uint64(row*fbRow + 4*col)
			d.do(engine.Event{Kind: engine.EvWrite, Size: 4, Addr: uint64(d.fbVA(off)), Value: uint64(c)}, fbGPA+x86.GPA(off))
			d.pixels[fbGPA+x86.GPA(off)] = c
		}
	}
}

// blend reads a pixel and writes it back changed: only the write calls
// the frame buffer's handler.
func (d *devices) blend() {
	m := d.m
	off := uint64(4 * m.rnd.IntN(d.fbPages*page/4))
	gpa := fbGPA + x86.GPA(off)
	o := d.do(engine.Event{Kind: engine.EvRead, Size: 4, Addr: uint64(d.fbVA(off))}, gpa)
	if o.Value != uint64(d.pixels[gpa]) {
		m.fail("pixel at %#x reads %#x, drawn %#x", uint64(gpa), o.Value, d.pixels[gpa])
	}
	c := uint32(o.Value)>>1&0x7f7f7f7f + uint32(m.value(4))>>1&0x7f7f7f7f
	d.do(engine.Event{Kind: engine.EvWrite, Size: 4, Addr: uint64(d.fbVA(off)), Value: uint64(c)}, gpa)
	d.pixels[gpa] = c
}

// clearRow clears part of a row through the kernel's direct map: the
// frame buffer's handler is physical, so it sees these writes too.
func (d *devices) clearRow() {
	m := d.m
	row := m.rnd.IntN(d.fbRows())
	col := 8 * m.rnd.IntN(fbRow/8-7)
	m.label("the console clears part of row %d through the kernel's direct map of RAM", row)
	for i := range 8 {
		gpa := fbGPA + x86.GPA(row*fbRow+col+8*i)
		d.do(engine.Event{Kind: engine.EvWrite, Size: 8, Addr: uint64(d.k.direct(gpa))}, gpa)
		delete(d.pixels, gpa)
		delete(d.pixels, gpa+4)
	}
}

// refreshDisplay is the hypervisor's display update: it reads back the
// pages written since the last refresh (physical reads, which a write
// handler does not see) and re-arms the handler on every page.
func (d *devices) refreshDisplay() {
	m := d.m
	n := 0
	for _, off := range d.fbOff {
		if off {
			n++
		}
	}
	m.label("the display refreshes: the hypervisor reads the %d frame-buffer pages written since the last refresh and "+
		"re-arms the write handler on all of them", n)
	for i, off := range d.fbOff {
		if !off {
			continue
		}
		for range 2 {
			gpa := fbGPA + x86.GPA(i*page+4*m.rnd.IntN(page/4))
			o := d.do(engine.Event{Kind: engine.EvPhysRead, Size: 4, Addr: uint64(gpa)}, gpa)
			if o.Value != uint64(d.pixels[gpa]) {
				m.fail("the display reads %#x at %#x, drawn %#x", o.Value, uint64(gpa), d.pixels[gpa])
			}
		}
	}
	if d.fbOn {
		m.emit(engine.Event{Kind: engine.EvPhysHandlerReset, Addr: fbGPA})
	}
	clear(d.fbOff)
}

// patch changes code in the watched page, as a kernel enabling a
// feature or a tracepoint does: through the page's own address (now
// writable) or, one time in three, through the direct map; then it runs
// the patched code.
func (d *devices) patch() {
	m, k := d.m, d.k
	size := uint8(1) << m.rnd.IntN(3)
	off := uint64(size) * m.rnd.Uint64N(page/uint64(size))
	va := d.patchVA + x86.GVA(off)
	how := "its own address"
	if m.rnd.IntN(3) == 0 {
		va, how = k.direct(d.patchPA+x86.GPA(off)), "the direct map"
	}
	m.label("the kernel patches %d bytes of code at %#x through %s", size, uint64(d.patchVA)+off, how)
	d.do(engine.Event{Kind: engine.EvWrite, Size: size, Addr: uint64(va), Value: m.value(size)}, d.patchPA+x86.GPA(off))
	d.do(engine.Event{Kind: engine.EvExec, Addr: uint64(d.patchVA) + off&^0xf}, d.patchPA+x86.GPA(off&^0xf))
}

// remapPatch moves the watched code page to another frame: copy, point
// the entry there, invlpg. The virtual handler follows the mapping; the
// old frame, scrubbed through the direct map, is no longer watched.
func (d *devices) remapPatch() {
	m, k := d.m, d.k
	old, nf := d.patchPA, k.frame()
	m.label("the kernel moves its patched code page from %#x to %#x: it copies it, points the entry at the copy and "+
		"invalidates it with invlpg; the virtual handler follows the mapping", uint64(old), uint64(nf))
	m.copyFrame(nf, old)
	k.remap(d.patchVA, nf)
	d.patchPA = nf
	m.label("the kernel scrubs the old frame through the direct map: the handler no longer watches it")
	for range 2 {
		off := x86.GPA(8 * m.rnd.IntN(page/8))
		d.do(engine.Event{Kind: engine.EvWrite, Size: 8, Addr: uint64(k.direct(old + off))}, old+off)
	}
	k.release(old)
	d.patch()
}
