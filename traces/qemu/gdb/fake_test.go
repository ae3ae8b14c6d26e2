package gdb

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// fakeStub is a gdbstub in the test: QEMU's answers for an x86-64
// target, over a pipe, with a guest whose registers and physical memory
// the test sets, and hooks to misbehave.
type fakeStub struct {
	mu      sync.Mutex
	mem     []byte
	regs    map[string]uint64
	running bool
	// onResume runs when the guest is continued (the test changes the
	// guest there, as if it ran).
	onResume func(s *fakeStub)
	// reply, when it returns ok, answers a request instead of the stub.
	reply func(req string) (string, bool)
	// badChecksums: this many replies go out with a wrong checksum first.
	badChecksums int
	// noStop: an interrupt is ignored (a guest that runs away).
	noStop bool
	// raw, when set, is written instead of the framed reply.
	raw      func(req string) (string, bool)
	requests []string
}

// fakeRegs is the register list of the description the fake serves, in
// QEMU 7.2's order (general, rip, eflags, segments, bases, CRs, EFER).
var fakeRegs = []string{"rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
	"rip", "eflags", "cs", "ss", "ds", "es", "fs", "gs", "fs_base", "gs_base", "k_gs_base", "cr0", "cr2", "cr3", "cr4", "cr8", "efer"}

func (s *fakeStub) xml(annex string) string {
	if annex == "target.xml" {
		return `<?xml version="1.0"?><!DOCTYPE target SYSTEM "gdb-target.dtd"><target><architecture>i386:x86-64</architecture><xi:include href="x.xml"/></target>`
	}
	var b strings.Builder
	b.WriteString(`<?xml version="1.0"?><feature name="org.gnu.gdb.i386.core">`)
	for i, r := range fakeRegs {
		bits := 64
		if i >= 17 && i <= 23 {
			bits = 32
		}
		fmt.Fprintf(&b, `<reg name="%s" bitsize="%d"/>`, r, bits)
	}
	b.WriteString(`</feature>`)
	return b.String()
}

func (s *fakeStub) serve(conn net.Conn) {
	defer conn.Close()
	r := bufio.NewReader(conn)
	send := func(req, reply string) {
		if s.raw != nil {
			if out, ok := s.raw(req); ok {
				conn.Write([]byte(out))
				return
			}
		}
		for ; s.badChecksums > 0; s.badChecksums-- {
			pkt := encode([]byte(reply))
			pkt[len(pkt)-1] ^= 1
			conn.Write(pkt)
			if c, err := r.ReadByte(); err != nil || c != '-' {
				return
			}
		}
		conn.Write(encode([]byte(reply)))
		r.ReadByte() // the client's '+'
	}
	for {
		c, err := r.ReadByte()
		if err != nil {
			return
		}
		if c == 3 {
			s.mu.Lock()
			stop := s.running && !s.noStop
			if stop {
				s.running = false
			}
			s.mu.Unlock()
			if stop {
				send("\x03", "T02thread:01;")
			}
			continue
		}
		if c != '$' {
			continue
		}
		data, _ := r.ReadString('#')
		r.Discard(2)
		conn.Write([]byte{'+'})
		req := strings.TrimSuffix(data, "#")
		s.mu.Lock()
		s.requests = append(s.requests, req)
		s.mu.Unlock()
		if s.reply != nil {
			if out, ok := s.reply(req); ok {
				send(req, out)
				continue
			}
		}
		if out, ok := s.answer(req); ok {
			send(req, out)
		}
	}
}

// answer is QEMU's behaviour; ok is false for "c" (no answer until the
// guest stops).
func (s *fakeStub) answer(req string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case strings.HasPrefix(req, "qSupported"):
		return "PacketSize=1000;qXfer:features:read+;vContSupported+", true
	case strings.HasPrefix(req, "qXfer:features:read:"):
		f := strings.Split(strings.TrimPrefix(req, "qXfer:features:read:"), ":")
		doc := s.xml(f[0])
		var off, n int
		fmt.Sscanf(f[1], "%x,%x", &off, &n)
		if off >= len(doc) {
			return "l", true
		}
		end := min(off+n, len(doc))
		if end == len(doc) {
			return "l" + doc[off:end], true
		}
		return "m" + doc[off:end], true
	case req == "?":
		return "T02thread:01;", true
	case req == "Qqemu.PhyMemMode:1", req == "D", strings.HasPrefix(req, "Z0,"):
		if req == "D" {
			s.running = true
		}
		return "OK", true
	case strings.HasPrefix(req, "p"):
		n, _ := strconv.ParseUint(req[1:], 16, 32)
		if int(n) >= len(fakeRegs) {
			return "E45", true
		}
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], s.regs[fakeRegs[n]])
		if n >= 17 && n <= 23 {
			return hex.EncodeToString(b[:4]), true
		}
		return hex.EncodeToString(b[:]), true
	case strings.HasPrefix(req, "m"):
		var a, n int
		fmt.Sscanf(req[1:], "%x,%x", &a, &n)
		if a < 0 || n < 0 || a+n > len(s.mem) {
			return "E14", true
		}
		return hex.EncodeToString(s.mem[a : a+n]), true
	case req == "c":
		s.running = true
		if s.onResume != nil {
			s.onResume(s)
		}
		return "", false
	}
	return "", true // unsupported: the empty reply
}

// dialFake starts a fake stub and a client connected to it.
func dialFake(t *testing.T, s *fakeStub) (*Client, error) {
	t.Helper()
	a, b := net.Pipe()
	go s.serve(b)
	t.Cleanup(func() { a.Close() })
	return NewClient(a)
}

var _ = io.EOF
