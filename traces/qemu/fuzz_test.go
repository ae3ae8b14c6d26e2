package qemu

import (
	"bytes"
	"io"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/traces"
)

// FuzzOpenCore: any bytes give a core or an error, never a panic or a
// hang, and a core that imports gives a trace the text form writes and
// reads back with the same events.
func FuzzOpenCore(f *testing.F) {
	// Small seeds: the fuzzer's mutations are cheap on a few KiB and slow
	// on the 70 KiB of testdata/synthetic.core.
	g := longModeGuest().compact()
	f.Add(g.bytes())
	v2 := g
	v2.version = 2
	f.Add(v2.bytes())
	i386 := g
	i386.machine = emI386
	f.Add(i386.bytes())
	fw := g
	fw.segs = append(append([]synthSeg(nil), g.segs...), synthSeg{gpa: 0xfffc0000, data: make([]byte, 64), memSize: 0x40000})
	f.Add(fw.bytes())
	f.Add(paeGuest().compact().bytes())
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := OpenCore(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		s, err := Import(c, ImportOptions{Options: Options{MaxSamples: 64, MaxLeaves: 1 << 14}})
		if err != nil {
			return
		}
		var buf bytes.Buffer
		w := traces.NewTextWriter(&buf)
		if err := w.WriteHeader(s.Header); err != nil {
			t.Fatalf("header refused: %v", err)
		}
		for i, e := range s.Events {
			if err := w.WriteEvent(e); err != nil {
				t.Fatalf("event %d refused: %v", i, err)
			}
		}
		w.Close()
		rd, err := traces.NewTextReader(&buf, "fuzz")
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for ; ; n++ {
			if _, err := rd.Next(); err == io.EOF {
				break
			} else if err != nil {
				t.Fatalf("event %d: %v", n, err)
			}
		}
		if n != len(s.Events) {
			t.Fatalf("%d events read back of %d", n, len(s.Events))
		}
	})
}
