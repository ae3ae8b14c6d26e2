package phys

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// The model test drives Memory with random operations and compares every
// byte it reads with a trivial model: a map of bytes plus the few rules
// of the page types. Check runs after every operation.

var modelLayout = []RangeSpec{
	{TypeRAM, 0x0000, 0x8000, "ram0"},
	{TypeROM, 0x8000, 0x2000, "rom"},
	{TypeMMIO, 0xa000, 0x1000, "dev"},
	{TypeRAM, 0xb000, 0x4000, "ram1"},
	{TypeReserved, 0xf000, 0x1000, "resv"},
	{TypeMMIO2, 0x12000, 0x2000, "vram"}, // after a hole at 0x10000
	{TypeROMShadow, 0x14000, 0x2000, "shadow"},
	{TypeRAM, 0x40000, 0xe000, "ram2"}, // shares page TLB slots with the pages above
}

// The operations touch two windows, each ending with a hole.
const (
	modelLow     = 0x18000
	modelHigh    = 0x40000
	modelHighEnd = 0x50000
	modelPages   = (modelLow + modelHighEnd - modelHigh) >> x86.PageShift
)

// modelTypes is the page type of each window page, -1 for holes.
var modelTypes = func() (types [modelPages]int8) {
	for i := range types {
		types[i] = -1
	}
	for _, s := range modelLayout {
		for a := s.Start; a < s.Start+x86.GPA(s.Size); a += x86.GPA(x86.PageSize) {
			types[modelPage(a)] = int8(s.Type)
		}
	}
	return types
}()

// modelPage numbers the window pages; -1 outside the windows.
func modelPage(gpa x86.GPA) int {
	switch {
	case gpa < modelLow:
		return int(gpa >> x86.PageShift)
	case gpa >= modelHigh && gpa < modelHighEnd:
		return int((gpa - modelHigh + modelLow) >> x86.PageShift)
	}
	return -1
}

func modelType(gpa x86.GPA) (PageType, bool) {
	if i := modelPage(gpa); i >= 0 && modelTypes[i] >= 0 {
		return PageType(modelTypes[i]), true
	}
	return 0, false
}

// storeDevice is an MMIO device that keeps what is written, byte by byte.
type storeDevice map[x86.GPA]byte

func (d storeDevice) ReadMMIO(gpa x86.GPA, size int) (uint64, bool) {
	var v uint64
	for i := size - 1; i >= 0; i-- {
		v = v<<8 | uint64(d[gpa+x86.GPA(i)])
	}
	return v, true
}

func (d storeDevice) WriteMMIO(gpa x86.GPA, size int, v uint64) bool {
	for i := range size {
		d[gpa+x86.GPA(i)] = byte(v >> (8 * i))
	}
	return true
}

type model struct {
	mem       map[x86.GPA]byte
	dev       map[x86.GPA]byte // nil: no MMIO device
	ballooned map[x86.GPA]bool
}

func (md *model) read(gpa x86.GPA) byte {
	t, ok := modelType(gpa)
	switch {
	case !ok:
		return 0xff
	case t == TypeMMIO && md.dev != nil:
		return md.dev[gpa]
	case t == TypeMMIO:
		return 0xff
	}
	return md.mem[gpa]
}

func (md *model) write(gpa x86.GPA, b byte) {
	t, ok := modelType(gpa)
	switch {
	case !ok:
	case t == TypeMMIO && md.dev != nil:
		md.dev[gpa] = b
	case t.Writable():
		md.mem[gpa] = b
		delete(md.ballooned, x86.PageDown(gpa))
	}
}

func (md *model) readN(gpa x86.GPA, n int) uint64 {
	var v uint64
	for i := n - 1; i >= 0; i-- {
		v = v<<8 | uint64(md.read(gpa+x86.GPA(i)))
	}
	return v
}

// opReader decodes operations from bytes; past the end it reads zeros.
type opReader struct {
	b []byte
	i int
}

func (r *opReader) u8() byte {
	if r.i >= len(r.b) {
		return 0
	}
	r.i++
	return r.b[r.i-1]
}

func (r *opReader) u16() uint16 { return uint16(r.u8()) | uint16(r.u8())<<8 }
func (r *opReader) u64() uint64 {
	return uint64(r.u16()) | uint64(r.u16())<<16 | uint64(r.u16())<<32 | uint64(r.u16())<<48
}
func (r *opReader) done() bool { return r.i >= len(r.b) }

// addr favours page starts and the last bytes of pages.
func (r *opReader) addr() x86.GPA {
	page := x86.GPA(r.u8()%modelPages) << x86.PageShift
	if page >= modelLow {
		page += modelHigh - modelLow
	}
	x := r.u16()
	switch x % 4 {
	case 0:
		return page
	case 1:
		return page + x86.GPA(x86.PageSize-1-uint64(x>>2)%8)
	}
	return page + x86.GPA(uint64(x>>2)%x86.PageSize)
}

// value favours a few small values so that pages often end up equal.
func (r *opReader) value() uint64 {
	if k := r.u8(); k&1 == 0 {
		return uint64(k>>1) % 3
	}
	return r.u64()
}

// runOps applies the operations encoded in data and fails on the first
// disagreement with the model or failed Check.
func runOps(t testing.TB, data []byte, maxOps int) {
	m := newMem(t, modelLayout...)
	md := &model{mem: map[x86.GPA]byte{}, ballooned: map[x86.GPA]bool{}}
	r := &opReader{b: data}
	var ext []x86.HPA
	var frozen []frozenPage
	n := 0
	for ; n < maxOps && !r.done(); n++ {
		op, gpa := r.u8()%17, r.addr()
		switch op {
		case 0, 1, 2:
			size, v := 1+int(r.u8()%8), r.value()
			m.Write(gpa, size, v)
			for i := range size {
				md.write(gpa+x86.GPA(i), byte(v>>(8*i)))
			}
		case 3:
			size := 1 + int(r.u8()%8)
			if got, want := m.Read(gpa, size), md.readN(gpa, size); got != want {
				t.Fatalf("op %d: Read(%v, %d) = %#x, model %#x", n, gpa, size, got, want)
			}
		case 4:
			buf := make([]byte, r.u8()%64)
			for i := range buf {
				buf[i] = byte(r.value())
				md.write(gpa+x86.GPA(i), buf[i])
			}
			m.WriteBytes(gpa, buf)
		case 5:
			buf := make([]byte, int(r.u16())%(3*int(x86.PageSize)))
			m.ReadBytes(gpa, buf)
			for i, b := range buf {
				if want := md.read(gpa + x86.GPA(i)); b != want {
					t.Fatalf("op %d: ReadBytes(%v) byte %d = %#x, model %#x", n, gpa, i, b, want)
				}
			}
		case 6:
			b := r.u8() % 3
			fillPage(m, x86.PageDown(gpa), b)
			for i := range x86.GPA(x86.PageSize) {
				md.write(x86.PageDown(gpa)+i, b)
			}
		case 7:
			m.Share()
		case 8:
			inflate, pg := r.u8()&1 == 0, x86.PageDown(gpa)
			typ, _ := modelType(pg)
			err := m.Balloon(pg, inflate)
			if want := typ == TypeRAM && inBacked(pg) && inflate != md.ballooned[pg]; (err == nil) != want {
				t.Fatalf("op %d: Balloon(%v, %v) = %v, model expects success %v", n, pg, inflate, err, want)
			}
			if err == nil && inflate {
				md.ballooned[pg] = true
				for i := range x86.GPA(x86.PageSize) {
					delete(md.mem, pg+i)
				}
			} else if err == nil {
				delete(md.ballooned, pg)
			}
		case 9:
			if r.u8() < 32 {
				m.Reset()
				for a := range md.mem {
					if typ, _ := modelType(a); typ.Writable() {
						delete(md.mem, a)
					}
				}
				clear(md.ballooned)
			}
		case 10:
			img := make([]byte, uint64(r.u16())%(2*x86.PageSize))
			want, fill := true, r.u8()
			for i := range img {
				img[i] = fill ^ byte(i>>9)
				typ, ok := modelType(gpa + x86.GPA(i))
				want = want && ok && (typ == TypeROM || typ == TypeROMShadow)
			}
			if err := m.LoadROM(gpa, img); (err == nil) != want {
				t.Fatalf("op %d: LoadROM(%v, %d bytes) = %v, model expects success %v", n, gpa, len(img), err, want)
			} else if err == nil {
				for i, b := range img {
					md.mem[gpa+x86.GPA(i)] = b
				}
			}
		case 11:
			_ = m.MonitorWrites(gpa)
		case 12:
			size, bits := []int{4, 8}[r.u8()%2], r.value()
			gpa &^= x86.GPA(size - 1)
			old := md.readN(gpa, size)
			m.SetEntryBits(gpa, size, bits)
			if old|bits != old {
				for i := range size {
					md.write(gpa+x86.GPA(i), byte((old|bits)>>(8*i)))
				}
			}
		case 13:
			// Other users of host memory push guest frames into new chunks.
			for range r.u8() % 96 {
				hpa, _ := m.Host().Alloc()
				ext = append(ext, hpa)
			}
			for len(ext) > 0 && r.u8()&1 == 0 {
				_ = m.Host().Free(ext[0])
				ext = ext[1:]
			}
		case 14:
			switch k := r.u8(); {
			case k < 128:
				_ = m.SetChunkMapMax(1 + int(k%4))
			case k < 192:
				_ = m.SetChunkMapMax(DefaultChunkMapMax)
			case k < 224:
				m.SetMMIO(nil)
				md.dev = nil
			default:
				m.SetMMIO(storeDevice{})
				md.dev = map[x86.GPA]byte{}
			}
		case 15:
			typ, ok := modelType(gpa)
			if err := m.MakeWritable(gpa); (err == nil) != (ok && typ.Writable()) {
				t.Fatalf("op %d: MakeWritable(%v) = %v", n, gpa, err)
			} else if err == nil {
				delete(md.ballooned, x86.PageDown(gpa))
			}
		case 16:
			frozen = freezeOp(t, m, md, r.u8(), gpa, frozen)
		}
		if err := m.Check(); err != nil {
			t.Fatalf("op %d (kind %d at %v): Check: %v", n, op, gpa, err)
		}
		for _, f := range frozen {
			if !bytes.Equal(f.f.Bytes(), f.want) {
				t.Fatalf("op %d (kind %d at %v): the page frozen at %v changed", n, op, gpa, f.gpa)
			}
		}
	}
	if testing.Verbose() {
		t.Logf("%d ops, stats %+v", n, m.Stats())
	}
	for _, w := range []x86.GPARange{{Start: 0, End: modelLow}, {Start: modelHigh, End: modelHighEnd}} {
		all := make([]byte, w.Len())
		m.ReadBytes(w.Start, all)
		for i, b := range all {
			if a := w.Start + x86.GPA(i); b != md.read(a) {
				t.Fatalf("final: byte %v = %#x, model %#x", a, b, md.read(a))
			}
		}
	}
}

func inBacked(gpa x86.GPA) bool { _, ok := modelType(gpa); return ok }

func TestRandomOperations(t *testing.T) {
	seeds := uint64(8)
	if testing.Short() {
		seeds = 2
	}
	for seed := range seeds {
		t.Run("seed"+string(rune('A'+seed)), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
			data := make([]byte, 16*2000)
			for i := 0; i < len(data); i += 8 {
				binary.LittleEndian.PutUint64(data[i:], rng.Uint64())
			}
			runOps(t, data, 2000)
		})
	}
}

func FuzzMemoryOps(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0, 0, 0, 0, 7, 1, 2, 3, 4, 5, 6, 7, 8, 9, 3, 0, 0, 0, 7})
	f.Add([]byte{6, 1, 0, 0, 1, 6, 2, 0, 0, 1, 7, 0, 0, 0, 0, 2, 1, 4, 0, 0, 3, 0, 8, 1, 0, 0, 0})
	f.Add([]byte{13, 0, 0, 0, 255, 0, 6, 3, 0, 0, 2, 14, 0, 0, 0, 0, 6, 4, 0, 0, 2, 7, 0, 0, 0, 9, 0, 0, 0, 0})
	// Write page 0, freeze it, write it again through the page TLB and
	// through the host bytes, freeze it again, reset.
	f.Add([]byte{0, 0, 0, 0, 7, 2, 16, 0, 0, 0, 0, 0, 0, 0, 0, 7, 4, 16, 0, 4, 0, 1, 16, 0, 0, 0, 0, 9, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		runOps(t, data, 300)
	})
}

// frozenPage is a page frozen by the model test and the bytes it had.
type frozenPage struct {
	gpa  x86.GPA
	f    *Frozen
	want []byte
}

// freezeOp freezes the page at gpa (k even) or, as the engine does on a
// TLB hit, writes one byte through the host bytes of a page mapped
// writable after BeforeWrite (k odd). At most 32 frozen pages are kept;
// older ones are unfrozen.
func freezeOp(t testing.TB, m *Memory, md *model, k byte, gpa x86.GPA, frozen []frozenPage) []frozenPage {
	p, _, ok := m.Lookup(gpa)
	if k&1 == 0 {
		before := m.Stats()
		f, err := m.Freeze(gpa)
		if (err == nil) != (ok && p.Type().Backed() && p.Frame() != 0) {
			t.Fatalf("Freeze(%v) of %v: %v", gpa, p, err)
		}
		if m.Stats() != before {
			t.Fatalf("Freeze(%v) changed the statistics", gpa)
		}
		if err != nil {
			return frozen
		}
		pg := x86.PageDown(gpa)
		want := make([]byte, x86.PageSize)
		for i := range want {
			want[i] = md.read(pg + x86.GPA(i))
		}
		if !bytes.Equal(f.Bytes(), want) {
			t.Fatalf("Freeze(%v): the frozen bytes are not the page's", gpa)
		}
		if g, _ := m.Freeze(gpa); g != f {
			t.Fatalf("Freeze(%v) twice without a write: two values", gpa)
		}
		frozen = append(frozen, frozenPage{pg, f, want})
		if len(frozen) > 32 {
			// Let the oldest go, as a snapshot dropped does.
			old := frozen[0]
			frozen = frozen[1:]
			if !slices.ContainsFunc(frozen, func(x frozenPage) bool { return x.f == old.f }) {
				m.Unfreeze(old.f)
			}
		}
		return frozen
	}
	if !ok || !p.Writable() || p.Handler().Active() {
		return frozen
	}
	hpa, _ := m.HostAddr(*p)
	m.BeforeWrite(hpa)
	m.Host().Bytes(hpa)[x86.PageOffset(gpa)] = k
	md.write(gpa, k)
	return frozen
}
