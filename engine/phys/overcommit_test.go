package phys

import (
	"fmt"
	"strings"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

var overcommitLayout = []RangeSpec{
	{TypeRAM, 0, 0x10000, "ram"},
	{TypeROM, 0x10000, 0x1000, "rom"},
	{TypeMMIO2, 0x20000, 0x2000, "vram"},
	{TypeMMIO, 0x30000, 0x1000, "dev"},
}

// fillPage writes b to every byte of the page at gpa.
func fillPage(m *Memory, gpa x86.GPA, b byte) {
	buf := make([]byte, x86.PageSize)
	for i := range buf {
		buf[i] = b
	}
	m.WriteBytes(gpa, buf)
}

func page(t *testing.T, m *Memory, gpa x86.GPA) Page {
	t.Helper()
	p, _, ok := m.Lookup(gpa)
	if !ok {
		t.Fatalf("no page at %v", gpa)
	}
	return *p
}

func TestShareZeroDetection(t *testing.T) {
	m := newMem(t, overcommitLayout...)
	frames := m.Stats().HostFrames
	m.Write(0x1000, 8, 5)
	m.Write(0x1000, 8, 0)
	m.Write(0x2000, 1, 1)
	got := m.Share()
	if want := (ShareStats{Scanned: 2, Zeroed: 1, FramesFreed: 1}); got != want {
		t.Errorf("Share = %+v, want %+v", got, want)
	}
	if p := page(t, m, 0x1000); p.State() != StateZero || p.Frame() != 0 {
		t.Errorf("zero page after Share: %v", p)
	}
	if st := m.Stats(); st.HostFrames != frames+1 || st.PrivatePages != 1 {
		t.Errorf("stats %+v", st)
	}
	mustCheck(t, m)
}

func TestShareAndCopyOnWrite(t *testing.T) {
	m := newMem(t, overcommitLayout...)
	for _, gpa := range []x86.GPA{0x1000, 0x3000, 0x5000} {
		fillPage(m, gpa, 0xab)
	}
	fillPage(m, 0x4000, 0xcd)
	fillPage(m, 0x20000, 0xab) // MMIO2 is never shared
	fillPage(m, 0x21000, 0xab)
	frames := m.Stats().HostFrames
	got := m.Share()
	if want := (ShareStats{Scanned: 4, Shared: 3, FramesFreed: 2}); got != want {
		t.Errorf("Share = %+v, want %+v", got, want)
	}
	a, b, c := page(t, m, 0x1000), page(t, m, 0x3000), page(t, m, 0x5000)
	if a.State() != StateShared || a.Frame() != b.Frame() || b.Frame() != c.Frame() {
		t.Fatalf("pages not shared: %v / %v / %v", a, b, c)
	}
	if refs := m.Host().Refs(x86.HPA(a.Frame() << 12)); refs != 3 {
		t.Errorf("shared frame has %d refs, want 3", refs)
	}
	if st := m.Stats(); st.SharedPages != 3 || st.PrivatePages != 3 || st.HostFrames != frames-2 {
		t.Errorf("stats %+v", st)
	}
	mustCheck(t, m)

	m.Write(0x3010, 1, 0x11) // copy on write
	if got := m.Read(0x300f, 2); got != 0x11ab {
		t.Errorf("after COW read %#x", got)
	}
	if got := m.Read(0x1010, 1); got != 0xab {
		t.Errorf("COW changed the shared copy: %#x", got)
	}
	b = page(t, m, 0x3000)
	if b.State() != StateAllocated || b.Frame() == a.Frame() || m.Host().Refs(x86.HPA(a.Frame()<<12)) != 2 {
		t.Errorf("after COW: %v, shared refs %d", b, m.Host().Refs(x86.HPA(a.Frame()<<12)))
	}
	if st := m.Stats(); st.ReplacedShared != 1 || st.SharedPages != 2 || st.PrivatePages != 4 {
		t.Errorf("stats %+v", st)
	}
	mustCheck(t, m)

	// Restored content joins the existing shared frame; write-monitored
	// pages are left alone.
	m.Write(0x3010, 1, 0xab)
	fillPage(m, 0x6000, 0xab)
	if err := m.MonitorWrites(0x6000); err != nil {
		t.Fatal(err)
	}
	got = m.Share()
	if want := (ShareStats{Scanned: 2, Shared: 1, FramesFreed: 1}); got != want {
		t.Errorf("second Share = %+v, want %+v", got, want)
	}
	if b = page(t, m, 0x3000); b.Frame() != a.Frame() || m.Host().Refs(x86.HPA(a.Frame()<<12)) != 3 {
		t.Errorf("page did not join the shared frame: %v", b)
	}
	if p := page(t, m, 0x6000); p.State() != StateWriteMonitored {
		t.Errorf("write-monitored page %v", p)
	}
	m.Write(0x6000, 1, 0xab)
	if p := page(t, m, 0x6000); p.State() != StateAllocated || !p.WrittenTo() {
		t.Errorf("after a monitored write: %v", p)
	}
	mustCheck(t, m)
}

func TestMonitorWritesErrors(t *testing.T) {
	m := newMem(t, overcommitLayout...)
	m.Write(0x1000, 1, 1)
	for _, gpa := range []x86.GPA{0x0, 0x10000, 0x30000, 0x40000} {
		if err := m.MonitorWrites(gpa); err == nil {
			t.Errorf("MonitorWrites(%v) succeeded", gpa)
		}
	}
	if err := m.MonitorWrites(0x1000); err != nil {
		t.Error(err)
	}
	if err := m.MonitorWrites(0x1000); err == nil {
		t.Error("monitoring a monitored page succeeded")
	}
}

func TestBalloonGuard(t *testing.T) {
	tests := []struct {
		name    string
		gpa     x86.GPA
		inflate bool
		want    string
	}{
		{"inflate", 0x2000, true, ""},
		{"inflate twice", 0x1000, true, "already ballooned"},
		{"deflate", 0x1000, false, ""},
		{"deflate not ballooned", 0x2000, false, "not ballooned"},
		{"unaligned", 0x2001, true, "not page aligned"},
		{"ROM", 0x10000, true, "not RAM"},
		{"MMIO2", 0x20000, true, "not RAM"},
		{"MMIO", 0x30000, true, "not RAM"},
		{"unbacked", 0x40000, true, "no range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMem(t, overcommitLayout...)
			if err := m.Balloon(0x1000, true); err != nil {
				t.Fatal(err)
			}
			err := m.Balloon(tt.gpa, tt.inflate)
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("Balloon = %v, want %q", err, tt.want)
			}
			mustCheck(t, m)
		})
	}
}

func TestBalloonWrite(t *testing.T) {
	m := newMem(t, overcommitLayout...)
	fillPage(m, 0x1000, 7)
	fillPage(m, 0x2000, 8)
	fillPage(m, 0x3000, 8)
	m.Share()
	frames := m.Stats().HostFrames
	for _, gpa := range []x86.GPA{0x1000, 0x2000} {
		if err := m.Balloon(gpa, true); err != nil {
			t.Fatal(err)
		}
	}
	if st := m.Stats(); st.BalloonedPages != 2 || st.HostFrames != frames-1 || st.SharedPages != 1 {
		t.Errorf("after inflating: %+v", st)
	}
	if got := m.Read(0x1000, 8); got != 0 || m.PageBytes(0x1000) != nil {
		t.Errorf("ballooned page reads %#x", got)
	}
	if got := m.Read(0x3000, 1); got != 8 {
		t.Errorf("the other sharer reads %#x", got)
	}
	m.Write(0x1008, 1, 3)
	if p := page(t, m, 0x1000); p.State() != StateAllocated || m.Read(0x1001, 8) != 0x0300000000000000 || m.Read(0x1009, 1) != 0 {
		t.Errorf("after a balloon write: %v reads %#x", p, m.Read(0x1008, 1))
	}
	if st := m.Stats(); st.BalloonWrites != 1 || st.BalloonedPages != 1 || st.ReplacedZero != 3 {
		t.Errorf("after a balloon write: %+v", st)
	}
	if err := m.Balloon(0x2000, false); err != nil {
		t.Fatal(err)
	}
	if p := page(t, m, 0x2000); p.State() != StateZero {
		t.Errorf("deflated page %v", p)
	}
	mustCheck(t, m)
}

func TestReset(t *testing.T) {
	m := newMem(t, overcommitLayout...)
	frames := m.Stats().HostFrames
	if err := m.LoadROM(0x10000, []byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	fillPage(m, 0x1000, 1)
	fillPage(m, 0x2000, 1)
	m.Share()
	m.Write(0x3000, 1, 1)
	if err := m.MonitorWrites(0x3000); err != nil {
		t.Fatal(err)
	}
	m.Write(0x4000, 1, 1)
	m.Write(0x20000, 1, 1)
	if err := m.Balloon(0x5000, true); err != nil {
		t.Fatal(err)
	}
	p, _, _ := m.Lookup(0x1000)
	p.SetPhysHandler(HandlerWrite)
	p.SetTracking(MakeTracking(1, 42))
	m.Reset()
	mustCheck(t, m)
	st := m.Stats()
	if st.PrivatePages != 1 || st.SharedPages != 0 || st.BalloonedPages != 0 || st.HostFrames != frames+1 {
		t.Errorf("after Reset: %+v", st)
	}
	if got := m.Read(0x10000, 4); got != 0x030201 {
		t.Errorf("ROM lost its image: %#x", got)
	}
	for _, gpa := range []x86.GPA{0x1000, 0x3000, 0x4000, 0x5000, 0x20000} {
		if got := m.Read(gpa, 8); got != 0 {
			t.Errorf("%v reads %#x after Reset", gpa, got)
		}
	}
	if q := page(t, m, 0x1000); q.State() != StateZero || q.PhysHandler() != HandlerWrite || q.Tracking() != MakeTracking(1, 42) {
		t.Errorf("Reset lost the handler or tracking: %v", q)
	}
}

func TestObserver(t *testing.T) {
	m := newMem(t, overcommitLayout...)
	var log []string
	m.SetObserver(func(gpa x86.GPA, old, new Page) {
		moved := ""
		if old.Frame() != new.Frame() {
			moved = " frame"
		}
		log = append(log, fmt.Sprintf("%v %v>%v%s", gpa, old.State(), new.State(), moved))
	})
	steps := []struct {
		name string
		do   func()
		want string
	}{
		{"read allocates nothing", func() { m.Read(0x1000, 8) }, ""},
		{"first write", func() { m.Write(0x1008, 8, 1) }, "0x1000 zero>allocated frame"},
		{"second write", func() { m.Write(0x1010, 8, 1) }, ""},
		{"monitor", func() { _ = m.MonitorWrites(0x1000) }, "0x1000 allocated>write-monitored"},
		{"monitored write", func() { m.Write(0x1000, 1, 1) }, "0x1000 write-monitored>allocated"},
		{"share", func() {
			m.Write(0x2000, 1, 1)
			m.Write(0x2008, 8, 1)
			m.Write(0x2010, 2, 1)
			m.Write(0x3000, 1, 1)
			m.Write(0x3000, 1, 0)
			m.Share()
		},
			"0x2000 zero>allocated frame;0x3000 zero>allocated frame;0x1000 allocated>shared;0x2000 allocated>shared frame;0x3000 allocated>zero frame"},
		{"copy on write", func() { m.Write(0x2000, 1, 0) }, "0x2000 shared>allocated frame"},
		{"balloon", func() { _ = m.Balloon(0x1000, true); _ = m.Balloon(0x1000, false) }, "0x1000 shared>ballooned frame;0x1000 ballooned>zero"},
		{"ROM write", func() { m.Write(0x10000, 1, 1) }, ""},
		{"ROM load", func() { _ = m.LoadROM(0x10000, []byte{1}) }, "0x10000 zero>allocated frame"},
		{"reset", func() { m.Reset() }, "0x2000 allocated>zero frame"},
	}
	for _, s := range steps {
		log = nil
		s.do()
		if got := strings.Join(log, ";"); got != s.want {
			t.Errorf("%s: observer saw %q, want %q", s.name, got, s.want)
		}
	}
	mustCheck(t, m)
}
