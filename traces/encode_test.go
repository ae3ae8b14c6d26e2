package traces_test

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/phys"
	"github.com/pgm-explorer/pgm-explorer/traces"
)

// TestEncode: a whole trace encoded in either form reads back the same;
// a refused event is named by its index.
func TestEncode(t *testing.T) {
	h := traces.Header{Config: engine.Config{Ranges: []phys.RangeSpec{{Type: phys.TypeRAM, Size: 16 << 20, Name: "ram"}}}}
	evs := []engine.Event{{Kind: engine.EvCR0, Value: 0x11}, {Kind: engine.EvPhysWrite, Addr: 0x1000, Size: 4, Value: 0x83}, {Kind: engine.EvLabel, Text: "done"}}
	for _, form := range []traces.Form{traces.FormText, traces.FormBinary} {
		t.Run(form.String(), func(t *testing.T) {
			var b bytes.Buffer
			if err := traces.Encode(&b, form, h, evs); err != nil {
				t.Fatal(err)
			}
			rd, got, err := traces.NewReader(bytes.NewReader(b.Bytes()), "t")
			if err != nil || got != form {
				t.Fatalf("read back as %v: %v", got, err)
			}
			var back []engine.Event
			for {
				ev, err := rd.Next()
				if err != nil {
					break
				}
				back = append(back, ev)
			}
			if !slices.Equal(back, evs) {
				t.Errorf("read back %v, want %v", back, evs)
			}
			bad := append(slices.Clone(evs), engine.Event{Kind: engine.EvRead, Size: 3, Addr: 0x1000})
			if err := traces.Encode(&bytes.Buffer{}, form, h, bad); err == nil || !strings.Contains(err.Error(), "event 3") {
				t.Errorf("a refused event: %v, want an error naming event 3", err)
			}
		})
	}
}
