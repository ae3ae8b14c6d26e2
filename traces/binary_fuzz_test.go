package traces

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine"
)

// FuzzBinaryReader checks that no input makes the binary reader panic or
// fail without saying where, and that whatever it reads — all of a valid
// trace, or the events before the damage — the writer accepts and
// encodes into a trace that reads back identically. A complete trace's
// re-encoding is a fixed point: encoding what it decodes to gives the
// same bytes.
func FuzzBinaryReader(f *testing.F) {
	files, _ := filepath.Glob("testdata/*" + BinaryExt)
	for _, file := range files {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(b)
			f.Add(b[:len(b)*2/3])
		}
	}
	h := Header{Config: engine.Config{Ranges: head16M()}, Meta: map[string]string{"k": "v"}}
	var buf bytes.Buffer
	w := NewBinaryWriter(&buf)
	w.WriteHeaderCount(h, 1<<60)
	for _, ev := range []engine.Event{
		{Kind: engine.EvRead, Size: 8, Addr: 0x1000}, {Kind: engine.EvWrite, Size: 8, Addr: 0x2000, Value: 1 << 63},
		{Kind: engine.EvLabel, Text: "l"}, {Kind: engine.EvExec, Addr: 0xffffffff80000000}, {Kind: engine.EvCPL, Value: 3},
	} {
		w.WriteEvent(ev)
	}
	w.Close()
	f.Add(buf.Bytes())
	for _, s := range []string{"", binaryMagic, binaryMagic + "\x02", "pgmtrace 1\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		h, evs, count, known, err := fuzzRead(in)
		if err != nil {
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a *FormatError", err)
			}
			if fe.Event < 0 && len(evs) > 0 {
				t.Fatalf("error %v after %d events names no event", err, len(evs))
			}
			if evs == nil {
				return // the header was refused
			}
		}
		// Re-encode what was read.
		var out bytes.Buffer
		w := NewBinaryWriter(&out)
		complete := err == nil
		if complete && known {
			err = w.WriteHeaderCount(h, count)
		} else {
			err = w.WriteHeader(h)
		}
		if err != nil {
			t.Fatalf("the writer refuses the header it read: %v", err)
		}
		for i, ev := range evs {
			if err := w.WriteEvent(ev); err != nil {
				t.Fatalf("the writer refuses event %d it read: %v", i, err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		h2, evs2, _, _, err := fuzzRead(out.Bytes())
		if err != nil {
			t.Fatalf("the re-encoded trace does not read: %v", err)
		}
		if !reflect.DeepEqual(h2, h) {
			t.Fatalf("header changed\n got %+v\nwant %+v", h2, h)
		}
		if len(evs2) != len(evs) || (len(evs) > 0 && !reflect.DeepEqual(evs2, evs)) {
			t.Fatalf("events changed\n got %+v\nwant %+v", evs2, evs)
		}
		if complete {
			again := encodeBinaryCount(t, h2, evs2, count, known)
			if !bytes.Equal(again, out.Bytes()) {
				t.Fatalf("re-encoding is not a fixed point")
			}
		}
	})
}

// fuzzRead reads at most fuzzMaxEvents events. evs is nil when the header
// was refused.
func fuzzRead(in []byte) (h Header, evs []engine.Event, count uint64, known bool, err error) {
	r, err := NewBinaryReader(bytes.NewReader(in), "fuzz")
	if err != nil {
		return h, nil, 0, false, err
	}
	h = r.Header()
	count, known = r.EventCount()
	evs = []engine.Event{}
	for len(evs) < fuzzMaxEvents {
		ev, err := r.Next()
		if err == io.EOF {
			return h, evs, count, known, nil
		}
		if err != nil {
			return h, evs, count, known, err
		}
		evs = append(evs, ev)
	}
	return h, evs, count, false, &FormatError{Name: "fuzz", Event: int64(len(evs)), Err: ErrTooManyEvents}
}

func encodeBinaryCount(t *testing.T, h Header, evs []engine.Event, n uint64, known bool) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := NewBinaryWriter(&buf)
	var err error
	if known {
		err = w.WriteHeaderCount(h, n)
	} else {
		err = w.WriteHeader(h)
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		if err := w.WriteEvent(ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
