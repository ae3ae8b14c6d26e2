package engine_test

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/traces"
)

// TestShadowGoldensMatchReference replays every golden trace (samples and
// the hand-made traces of testdata/ref) through the shadow engine with
// the configuration of its header and compares each guest-visible
// outcome with the reference CPU's, checking the engine's invariants
// after every event (the whole state every goldenFull events: the Linux
// sample holds 75,000 leaves, whose full check costs tens of
// milliseconds). The hand-made traces pin patterns the random guests
// found hard to reach (dirty-pt.txt: a stale translation under dirty
// page tables).
const goldenFull = 1024

func TestShadowGoldensMatchReference(t *testing.T) {
	for _, gt := range refGoldenTraces(t) {
		t.Run(gt.name, func(t *testing.T) {
			tr, err := traces.NewTextReader(bytes.NewReader(gt.data), gt.name)
			if err != nil {
				t.Fatal(err)
			}
			var events []engine.Event
			for {
				ev, err := tr.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				events = append(events, ev)
			}
			cfg := tr.Header().Config
			e, err := engine.NewShadow(cfg)
			if err != nil {
				t.Fatal(err)
			}
			differ(t, cfg, events, e, checked(e, goldenFull))
		})
	}
}
