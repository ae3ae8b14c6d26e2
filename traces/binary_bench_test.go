package traces

import (
	"bytes"
	"compress/gzip"
	"io"
	"path/filepath"
	"sync"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/traces/internal/synth"
	"github.com/vmihailenco/msgpack/v5"
)

// synthN is the length of the generated trace of the benchmarks.
const synthN = 1_000_000

var synthCache struct {
	sync.Mutex
	evs []engine.Event
}

// synthEvents is the first n events of the synthetic trace (seed 1):
// instruction fetches, stack and heap accesses with locality, system
// calls, context switches, page-table updates.
func synthEvents(n int) []engine.Event {
	synthCache.Lock()
	defer synthCache.Unlock()
	if len(synthCache.evs) < n {
		g := synth.New(1)
		evs := make([]engine.Event, n)
		for i := range evs {
			evs[i] = g.Next()
		}
		synthCache.evs = evs
	}
	return synthCache.evs[:n]
}

func synthHeader() Header { return Header{Config: synth.Config()} }

// BenchmarkBinaryReader decodes the 1M-event synthetic trace from memory:
// framing, varints and every check the text reader makes.
func BenchmarkBinaryReader(b *testing.B) {
	data := encodeBinary(b, synthHeader(), synthEvents(synthN))
	benchDecode(b, data, synthN, func(r io.Reader) (eventReader, error) { return NewBinaryReader(r, "bench") })
	b.ReportMetric(float64(len(data))/synthN, "B/event")
}

// BenchmarkBinaryWriter encodes the 1M-event synthetic trace.
func BenchmarkBinaryWriter(b *testing.B) {
	h, evs := synthHeader(), synthEvents(synthN)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		w := NewBinaryWriter(io.Discard)
		if err := w.WriteHeader(h); err != nil {
			b.Fatal(err)
		}
		for _, ev := range evs {
			if err := w.WriteEvent(ev); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(synthN)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkTraceSize reports the size of each trace of the project and of
// the synthetic trace, in bytes per event: binary, binary gzipped, text,
// text gzipped (gzip's default level), headers included. The sizes do
// not depend on the number of iterations: run it with -benchtime=1x.
// The loop encodes the binary form, so ns/op is the encoding time of the
// whole trace.
func BenchmarkTraceSize(b *testing.B) {
	type trace struct {
		name string
		h    Header
		evs  []engine.Event
	}
	var all []trace
	for _, pat := range []string{"samples/*.txt", "testdata/*.txt", "../engine/testdata/ref/*.txt"} {
		files, _ := filepath.Glob(pat)
		for _, f := range files {
			h, evs, err := ReadTextFile(f)
			if err != nil {
				b.Fatal(err)
			}
			all = append(all, trace{filepath.Base(f), h, evs})
		}
	}
	all = append(all, trace{"synthetic-1M", synthHeader(), synthEvents(synthN)})
	for _, tr := range all {
		b.Run(tr.name, func(b *testing.B) {
			var bin []byte
			for b.Loop() {
				bin = encodeBinary(b, tr.h, tr.evs)
			}
			text := []byte(render(b, tr.h, tr.evs))
			n := float64(len(tr.evs))
			// What the events themselves cost: without the header and
			// the bytes of label texts, which no encoding shrinks.
			r, err := NewBinaryReader(bytes.NewReader(bin), tr.name)
			if err != nil {
				b.Fatal(err)
			}
			rest := len(bin) - int(r.Offset())
			for _, ev := range tr.evs {
				if ev.Kind == engine.EvLabel {
					rest -= len(ev.Text)
				}
			}
			b.ReportMetric(n, "events")
			b.ReportMetric(float64(len(bin))/n, "bin-B/event")
			b.ReportMetric(float64(rest)/n, "bin-events-B/event")
			b.ReportMetric(float64(gzipLen(b, bin))/n, "bin.gz-B/event")
			b.ReportMetric(float64(len(text))/n, "text-B/event")
			b.ReportMetric(float64(gzipLen(b, text))/n, "text.gz-B/event")
		})
	}
}

func gzipLen(b *testing.B, data []byte) int {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(data); err != nil {
		b.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		b.Fatal(err)
	}
	return buf.Len()
}

// The alternative the format did not take: every event field as its own
// msgpack value (a tag uint of kind, size and which fields follow, then a
// delta-coded address as a msgpack int, the value as a msgpack uint),
// through msgpack.Encoder and msgpack.Decoder. Kept as a benchmark so
// that the choice stays measured. It skips the checks the real reader
// makes, which favours it.

// kindReg gives instruction fetches, other virtual addresses and the
// rest a delta register each.
func kindReg(k engine.EventKind) int {
	switch {
	case k == engine.EvExec:
		return 0
	case k.Access() || k == engine.EvInvlpg:
		return 1
	}
	return 2
}

func encodePerField(b *testing.B, evs []engine.Event) []byte {
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	var prev [numRegs]uint64
	for _, e := range evs {
		tag := uint64(e.Kind) | uint64(e.Size)<<8
		if e.Addr != 0 {
			tag |= 1 << 16
		}
		if e.Value != 0 {
			tag |= 2 << 16
		}
		if e.Text != "" {
			tag |= 4 << 16
		}
		enc.EncodeUint(tag)
		if e.Addr != 0 {
			reg := &prev[kindReg(e.Kind)]
			enc.EncodeInt(int64(e.Addr - *reg))
			*reg = e.Addr
		}
		if e.Value != 0 {
			enc.EncodeUint(e.Value)
		}
		if e.Text != "" {
			enc.EncodeString(e.Text)
		}
	}
	return buf.Bytes()
}

func BenchmarkMsgpackPerField(b *testing.B) {
	evs := synthEvents(synthN)
	data := encodePerField(b, evs)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		dec := msgpack.NewDecoder(bytes.NewReader(data))
		var prev [numRegs]uint64
		for i := range evs {
			tag, err := dec.DecodeUint64()
			if err != nil {
				b.Fatal(err)
			}
			e := engine.Event{Kind: engine.EventKind(tag), Size: uint8(tag >> 8)}
			if tag&(1<<16) != 0 {
				d, err := dec.DecodeInt64()
				if err != nil {
					b.Fatal(err)
				}
				reg := &prev[kindReg(e.Kind)]
				*reg += uint64(d)
				e.Addr = *reg
			}
			if tag&(2<<16) != 0 {
				if e.Value, err = dec.DecodeUint64(); err != nil {
					b.Fatal(err)
				}
			}
			if tag&(4<<16) != 0 {
				if e.Text, err = dec.DecodeString(); err != nil {
					b.Fatal(err)
				}
			}
			if e != evs[i] {
				b.Fatalf("event %d: %+v, want %+v", i, e, evs[i])
			}
		}
	}
	b.ReportMetric(float64(synthN)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(len(data))/synthN, "B/event")
}

// BenchmarkSyntheticText decodes the text form of the same 1M-event
// synthetic trace, for a comparison on equal terms with
// BenchmarkBinaryReader.
func BenchmarkSyntheticText(b *testing.B) {
	data := []byte(render(b, synthHeader(), synthEvents(synthN)))
	benchDecode(b, data, synthN, func(r io.Reader) (eventReader, error) { return NewTextReader(r, "bench") })
}
