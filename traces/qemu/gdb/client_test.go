package gdb

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func newFake() *fakeStub {
	return &fakeStub{mem: make([]byte, 1<<20), regs: map[string]uint64{"cr0": 0x80050033, "cr3": 0x1000, "cr4": 0x6b0, "efer": 0xd01, "rip": 0x400000, "rsp": 0x401ff8, "cs": 0x33}}
}

func TestClientBasics(t *testing.T) {
	s := newFake()
	copy(s.mem[0x2000:], "page table bytes")
	c, err := dialFake(t, s)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]uint64{"cr0": 0x80050033, "cr3": 0x1000, "efer": 0xd01, "cs": 0x33} {
		if v, err := c.Reg(name); err != nil || v != want {
			t.Errorf("%s = %#x, %v; want %#x", name, v, err, want)
		}
	}
	if c.regs["cr3"].Num != 29 || c.regs["efer"].Num != 32 {
		t.Errorf("numbering from the description: cr3 %d, efer %d", c.regs["cr3"].Num, c.regs["efer"].Num)
	}
	b := make([]byte, 3000) // three `m` requests
	if err := c.ReadPhys(0x2000, b); err != nil || !bytes.HasPrefix(b, []byte("page table bytes")) {
		t.Errorf("ReadPhys: %q, %v", b[:16], err)
	}
	if err := c.ReadPhys(1<<20-8, make([]byte, 16)); !errors.Is(err, ErrStub) {
		t.Errorf("past memory: %v, want the stub's error", err)
	}
	if err := c.SetBreakpoint(0xffffffff81000000); err != nil {
		t.Error(err)
	}
}

func TestDecode(t *testing.T) {
	for _, tc := range []struct{ in, want, err string }{
		{"abc", "abc", ""},
		{"0* ", "0000", ""},              // '*' then ' ' (32): 3 more
		{"x*!y", "xxxxxy", ""},           // '!' (33): 4 more
		{"}\x03}\x04}]", "#$}", ""},      // escapes: the byte XOR 0x20
		{"*a", "", "bad run-length"},     // nothing to repeat
		{"a*", "", "bad run-length"},     // no count
		{"ab}", "", "ends in an escape"}, // an escape at the end
	} {
		got, err := decode([]byte(tc.in))
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || !errors.Is(err, ErrProtocol) {
				t.Errorf("%q: %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || string(got) != tc.want {
			t.Errorf("%q: %q %v, want %q", tc.in, got, err, tc.want)
		}
	}
	// encode escapes what decode undoes.
	raw := encode([]byte("a#b$c}d*e"))
	if got, err := decode(raw[1 : len(raw)-3]); err != nil || string(got) != "a#b$c}d*e" {
		t.Errorf("round trip: %q %v", got, err)
	}
}

func TestClientChecksums(t *testing.T) {
	s := newFake()
	s.badChecksums = 2 // two NAKs, then the good packet
	c, err := dialFake(t, s)
	if err != nil {
		t.Fatalf("two bad checksums: %v", err)
	}
	s.badChecksums = 3
	if _, err := c.Reg("rip"); !errors.Is(err, ErrProtocol) || !strings.Contains(err.Error(), "checksum") {
		t.Errorf("three bad checksums: %v", err)
	}
}

func TestClientMisbehavingStub(t *testing.T) {
	t.Run("run-length reply", func(t *testing.T) {
		s := newFake()
		// Framed as sent, not escaped: QEMU compresses runs this way.
		s.raw = func(req string) (string, bool) { return rawFrame("0*'"), req == "p1d" } // '0' and 10 more
		c, err := dialFake(t, s)
		if err != nil {
			t.Fatal(err)
		}
		// 11 digits are not a register.
		if _, err := c.Reg("cr3"); !errors.Is(err, ErrProtocol) {
			t.Errorf("odd digits: %v", err)
		}
		s.raw = func(req string) (string, bool) { return rawFrame("3412*)"), req == "p1d" } // "3412", then 12 more '2'
		if v, err := c.Reg("cr3"); err != nil || v != 0x2222222222221234 {
			t.Errorf("rle value: %#x %v", v, err)
		}
	})
	t.Run("drops the connection", func(t *testing.T) {
		s := newFake()
		c, err := dialFake(t, s)
		if err != nil {
			t.Fatal(err)
		}
		s.raw = func(req string) (string, bool) { return "$0000", strings.HasPrefix(req, "m") }
		done := make(chan error, 1)
		go func() { done <- c.ReadPhys(0, make([]byte, 8)) }()
		time.Sleep(50 * time.Millisecond)
		c.conn.Close() // what the stub's side would see too
		if err := <-done; err == nil {
			t.Error("a half packet and a closed connection: no error")
		}
	})
	t.Run("garbage stop reply", func(t *testing.T) {
		s := newFake()
		c, err := dialFake(t, s)
		if err != nil {
			t.Fatal(err)
		}
		s.reply = func(req string) (string, bool) { return "", false }
		s.raw = func(req string) (string, bool) { return string(encode([]byte("Zzz"))), req == "\x03" }
		if err := c.Continue(); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Interrupt(time.Second); !errors.Is(err, ErrProtocol) || !strings.Contains(err.Error(), "not a stop reply") {
			t.Errorf("garbage: %v", err)
		}
	})
	t.Run("runaway", func(t *testing.T) {
		s := newFake()
		s.noStop = true
		c, err := dialFake(t, s)
		if err != nil {
			t.Fatal(err)
		}
		c.Continue()
		if _, err := c.Interrupt(200 * time.Millisecond); err == nil || !strings.Contains(err.Error(), "did not stop") {
			t.Errorf("runaway: %v", err)
		}
	})
	t.Run("no physical-memory mode", func(t *testing.T) {
		s := newFake()
		s.reply = func(req string) (string, bool) { return "", req == "Qqemu.PhyMemMode:1" }
		if _, err := dialFake(t, s); err == nil || !strings.Contains(err.Error(), "PhyMemMode") {
			t.Errorf("a stub without PhyMemMode: %v", err)
		}
	})
	t.Run("no control registers", func(t *testing.T) {
		s := newFake()
		s.reply = func(req string) (string, bool) {
			return `l<feature><reg name="eax" bitsize="32"/></feature>`, strings.HasPrefix(req, "qXfer:features:read:target.xml")
		}
		if _, err := dialFake(t, s); err == nil || !strings.Contains(err.Error(), "no register") {
			t.Errorf("a 32-bit description: %v", err)
		}
	})
}

func TestDialRefusesRemote(t *testing.T) {
	_, err := Dial(context.Background(), "192.0.2.1:1234", false)
	if !errors.Is(err, ErrNotLoopback) {
		t.Errorf("192.0.2.1: %v", err)
	}
	if _, err := Dial(context.Background(), "no-port", false); err == nil {
		t.Error("an address without a port")
	}
}

func put64(b []byte, a, v uint64) { binary.LittleEndian.PutUint64(b[a:], v) }

// rawFrame frames data without escaping it.
func rawFrame(data string) string {
	var sum byte
	for i := 0; i < len(data); i++ {
		sum += data[i]
	}
	return fmt.Sprintf("$%s#%02x", data, sum)
}
