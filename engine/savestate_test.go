package engine_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/phys"
	"github.com/pgm-explorer/pgm-explorer/internal/testkit/rguest"
	"github.com/pgm-explorer/pgm-explorer/traces"
)

// TestSaveLoadMidReplay: saving and loading at random points changes no
// outcome, for every engine configuration, and the loaded engine keeps
// its invariants.
func TestSaveLoadMidReplay(t *testing.T) {
	for _, paging := range []engine.Paging{engine.PagingShadow, engine.PagingNested} {
		for seed := uint64(0); seed < 2; seed++ {
			t.Run(fmt.Sprintf("%v/seed%d", paging, seed), func(t *testing.T) {
				cfg := engine.Config{Ranges: rguest.Ranges(), Paging: paging, PoolPages: 64}
				events := rguest.New(seed+77, allGuestModes).Events(2000)
				a, _ := engine.NewShadow(cfg)
				b, _ := engine.NewShadow(cfg)
				r := rand.New(rand.NewPCG(seed, 1))
				for i, ev := range events {
					if r.IntN(100) == 0 {
						var buf bytes.Buffer
						if err := traces.SaveState(&buf, b); err != nil {
							t.Fatal(err)
						}
						// Load into a fresh engine of another host mode and pool
						// size (and back into b, which keeps the trace's
						// snapshots, every other time).
						c := b
						if r.IntN(2) == 0 {
							c, _ = engine.NewShadow(engine.Config{Ranges: rguest.Ranges(), Paging: paging, PoolPages: 16, Host: engine.Host32Bit})
							traces.LoadState(c, buf.Bytes())
							var again bytes.Buffer
							traces.SaveState(&again, c)
							if !bytes.Equal(again.Bytes(), buf.Bytes()) {
								t.Fatalf("event %d: a loaded state saves differently", i)
							}
						}
						if err := traces.LoadState(b, buf.Bytes()); err != nil {
							t.Fatalf("event %d: %v", i, err)
						}
						if err := b.Check(); err != nil {
							t.Fatalf("after load at %d: %v", i, err)
						}
					}
					wa, ea := a.Apply(ev)
					wb, eb := b.Apply(ev)
					if (ea != nil) != (eb != nil) || wa.OK != wb.OK || wa.Fault != wb.Fault || wa.Value != wb.Value || wa.GPA != wb.GPA || wa.Index != wb.Index {
						t.Fatalf("event %d %s: uninterrupted %s, after loads %s", i, ev.Op(), traces.AppendOutcomeJSON(nil, &wa), traces.AppendOutcomeJSON(nil, &wb))
					}
				}
			})
		}
	}
}

func TestLoadErrorsLeaveEngineUnchanged(t *testing.T) {
	cfg := engine.Config{Ranges: rguest.Ranges()}
	e, _ := engine.NewShadow(cfg)
	for _, ev := range rguest.New(5, allGuestModes).Events(500) {
		e.Apply(ev)
	}
	var good bytes.Buffer
	if err := traces.SaveState(&good, e); err != nil {
		t.Fatal(err)
	}
	var before bytes.Buffer
	traces.SaveState(&before, e)
	other := engine.Config{Ranges: []phys.RangeSpec{{Type: phys.TypeRAM, Size: 4 << 20}}}
	o, _ := engine.NewShadow(other)
	var otherState bytes.Buffer
	traces.SaveState(&otherState, o)
	tests := []struct {
		name string
		data []byte
		want error
	}{
		{"empty", nil, engine.ErrStateNotState},
		{"garbage", []byte("hello, this is not a state"), engine.ErrStateNotState},
		{"truncated", good.Bytes()[:len(good.Bytes())*2/3], engine.ErrStateCorrupt},
		{"another RAM layout", otherState.Bytes(), engine.ErrStateConfig},
		{"bad version", bytes.Replace(good.Bytes(), []byte("version\x01"), []byte("version\x09"), 1), engine.ErrStateVersion},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := traces.LoadState(e, tc.data)
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
			var after bytes.Buffer
			traces.SaveState(&after, e)
			if !bytes.Equal(after.Bytes(), before.Bytes()) {
				t.Error("a failed load changed the engine")
			}
		})
	}
}

// FuzzLoadState: arbitrary bytes as a saved state never panic and never
// change the engine.
func FuzzLoadState(f *testing.F) {
	cfg := engine.Config{Ranges: rguest.Ranges()}
	e, _ := engine.NewShadow(cfg)
	for _, ev := range rguest.New(9, allGuestModes).Events(300) {
		e.Apply(ev)
	}
	var good bytes.Buffer
	traces.SaveState(&good, e)
	f.Add(good.Bytes())
	f.Add(good.Bytes()[:100])
	f.Add([]byte{0x80})
	f.Fuzz(func(t *testing.T, data []byte) {
		var before bytes.Buffer
		traces.SaveState(&before, e)
		if err := traces.LoadState(e, data); err != nil {
			var after bytes.Buffer
			traces.SaveState(&after, e)
			if !bytes.Equal(before.Bytes(), after.Bytes()) {
				t.Fatalf("failed load (%v) changed the engine", err)
			}
			return
		}
		if err := e.Check(); err != nil {
			t.Fatalf("loaded state breaks invariants: %v", err)
		}
	})
}
