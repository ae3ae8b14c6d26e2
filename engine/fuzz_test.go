package engine_test

import (
	"encoding/binary"
	"errors"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/phys"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
	"github.com/pgm-explorer/pgm-explorer/traces"
)

// FuzzGarbageTables fills a small guest's memory with arbitrary bytes
// (page tables full of loops, entries pointing outside RAM, reserved bits
// everywhere), turns paging on in an arbitrary mode and makes arbitrary
// accesses. The engine must never panic, hang or report an internal
// error; its invariants must hold after every event; and while the guest
// only reads (so its tables never change behind the TLB's back) it must
// see exactly what the reference CPU sees.
func FuzzGarbageTables(f *testing.F) {
	f.Add([]byte("\x00\x10\x00\x00\x07\x10\x00\x00\x03\x00\x00\x00"), uint8(0), uint8(0), uint16(16))
	f.Add(make([]byte, 64), uint8(3), uint8(5), uint16(64))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0x27, 0x30, 0, 0, 0xe7, 0, 0x40}, uint8(2), uint8(9), uint16(16))
	// SMEP, SMAP and PKE in long mode; ac, pkru and invpcid events.
	f.Add([]byte("\x00\x10\x00\x00\x07\x10\x00\x00\x07\x00\x05\x00\x00\x00\x00\x00\x00\x00\x06\x01\x00\x00\x00\x00\x00\x00\x00\x0d"), uint8(0x74), uint8(5), uint16(17))
	f.Fuzz(func(t *testing.T, data []byte, mode, host uint8, pool uint16) {
		cfg := engine.Config{
			Ranges:    []phys.RangeSpec{{Type: phys.TypeRAM, Size: 64 << 10}, {Type: phys.TypeMMIO, Start: 64 << 10, Size: 4 << 10}},
			Host:      engine.HostMode(1 + host%10),
			Paging:    engine.Paging(pool % 3),
			PoolPages: 16 + int(pool%64),
		}
		var events []engine.Event
		// Scatter the fuzz bytes over guest memory, 8 at a time.
		for i := 0; i+10 <= len(data) && len(events) < 200; i += 10 {
			gpa := uint64(binary.LittleEndian.Uint16(data[i:])) % (64<<10 - 8)
			events = append(events, engine.Event{Kind: engine.EvPhysWrite, Size: 8, Addr: gpa, Value: binary.LittleEndian.Uint64(data[i+2:])})
		}
		events = append(events, modeEntry(mode, data)...)
		writes := false
		for i := 0; i+9 <= len(data) && len(events) < 400; i += 9 {
			va := binary.LittleEndian.Uint64(data[i:])
			kind := []engine.EventKind{engine.EvRead, engine.EvExec, engine.EvWrite, engine.EvInvlpg, engine.EvCPL,
				engine.EvAC, engine.EvPKRU, engine.EvInvpcid}[data[i+8]%8]
			ev := engine.Event{Kind: kind, Addr: va, Size: 1 << (data[i+8] >> 6)}
			switch kind {
			case engine.EvWrite:
				writes = true
				ev.Value = va & (1<<(8*ev.Size) - 1)
				if ev.Size == 8 {
					ev.Value = va
				}
			case engine.EvCPL:
				ev = engine.Event{Kind: kind, Value: uint64(data[i] & 3)}
			case engine.EvAC:
				ev = engine.Event{Kind: kind, Value: uint64(data[i] & 1)}
			case engine.EvPKRU:
				ev = engine.Event{Kind: kind, Value: va & 0xffffffff}
			case engine.EvInvpcid:
				ev = engine.Event{Kind: kind, Size: data[i] & 3, Addr: va}
			case engine.EvExec, engine.EvInvlpg:
				ev.Size = 0
			}
			events = append(events, ev)
		}
		e, err := engine.NewShadow(cfg)
		if err != nil {
			t.Fatal(err)
		}
		ref, _ := engine.NewReference(cfg)
		for i, ev := range events {
			got, gerr := e.Apply(ev)
			want, werr := ref.Apply(ev)
			if gerr != nil {
				var gp *x86.GPError
				var ip *x86.InvpcidError
				if !errors.As(gerr, &gp) && !errors.As(gerr, &ip) || werr == nil {
					t.Fatalf("event %d %s %#x: engine error %v (reference: %v)", i, ev.Op(), ev.Addr, gerr, werr)
				}
				continue
			}
			if err := e.Check(); err != nil {
				t.Fatalf("event %d %s %#x: %v", i, ev.Op(), ev.Addr, err)
			}
			if !writes && (got.OK != want.OK || got.Fault != want.Fault || got.Value != want.Value || (got.OK && got.GPA != want.GPA)) {
				t.Fatalf("event %d %s %#x: engine %s, reference %s", i, ev.Op(), ev.Addr, traces.AppendOutcomeJSON(nil, &got), traces.AppendOutcomeJSON(nil, &want))
			}
		}
	})
}

// modeEntry turns paging on in one of the guest modes with a CR3 from
// the fuzz data, in an order the processor accepts.
func modeEntry(mode uint8, data []byte) []engine.Event {
	cr3 := uint64(0)
	if len(data) >= 2 {
		cr3 = uint64(binary.LittleEndian.Uint16(data)) &^ 0x1f
	}
	ev := func(k engine.EventKind, v uint64) engine.Event { return engine.Event{Kind: k, Value: v} }
	out := []engine.Event{ev(engine.EvCR0, x86.CR0PE)}
	// Bits 4-6 of mode add SMEP, SMAP and PKE, bit 7 CR0.WP.
	var modern uint64
	for bit, f := range []uint64{x86.CR4SMEP, x86.CR4SMAP, x86.CR4PKE} {
		if mode>>(4+bit)&1 != 0 {
			modern |= f
		}
	}
	if modern != 0 {
		out = append(out, ev(engine.EvCR4, modern))
	}
	switch mode & 0xf % 6 {
	case 0:
		return out
	case 1:
		out = append(out, ev(engine.EvCR4, modern|x86.CR4PSE|x86.CR4PGE))
	case 2:
		out = append(out, ev(engine.EvCR4, modern|x86.CR4PAE))
	case 3:
		out = append(out, ev(engine.EvEFER, x86.EFERNXE), ev(engine.EvCR4, modern|x86.CR4PAE|x86.CR4PGE))
	case 4:
		out = append(out, ev(engine.EvEFER, x86.EFERLME|x86.EFERNXE), ev(engine.EvCR4, modern|x86.CR4PAE))
	case 5:
		out = append(out, ev(engine.EvEFER, x86.EFERLME), ev(engine.EvCR4, modern|x86.CR4PAE|x86.CR4LA57))
	}
	wp := uint64(0)
	if mode&0x80 != 0 {
		wp = x86.CR0WP
	}
	return append(out, ev(engine.EvCR3, cr3), ev(engine.EvCR0, x86.CR0PE|x86.CR0PG|wp))
}
