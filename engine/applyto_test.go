package engine_test

import (
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/internal/testkit/rguest"
)

// ApplyTo writes over an outcome that holds the previous event's: no
// field of an earlier outcome (a fault, a handler's name, a label's text,
// a path, notes) may survive into the next. Random guests reach faults,
// handler calls, labels, snapshots and mode changes; each engine runs the
// trace twice, once through Apply and once through ApplyTo with a single
// outcome, and the two must agree event by event, errors included.
func TestApplyToOverwritesEveryField(t *testing.T) {
	for _, paging := range []engine.Paging{engine.PagingShadow, engine.PagingNested} {
		cfg := engine.Config{Ranges: rguest.Ranges(), Paging: paging}
		mks := map[string]func() (engine.Engine, error){
			"ref":    func() (engine.Engine, error) { return engine.NewReference(cfg) },
			"shadow": func() (engine.Engine, error) { return engine.NewShadow(cfg) },
		}
		for name, mk := range mks {
			handlers := 0
			for seed := uint64(1); seed <= 4; seed++ {
				events := rguest.New(seed, allGuestModes).Events(3000)
				a, err := mk()
				if err != nil {
					t.Fatal(err)
				}
				b, _ := mk()
				var reused engine.Outcome
				faults := 0
				for i := range events {
					want, werr := a.Apply(events[i])
					gerr := b.ApplyTo(&events[i], &reused)
					if (werr == nil) != (gerr == nil) || werr != nil && werr.Error() != gerr.Error() {
						t.Fatalf("%s %v seed %d event %d: Apply error %v, ApplyTo error %v", name, paging, seed, i, werr, gerr)
					}
					if reused != want {
						t.Fatalf("%s %v seed %d event %d (%v):\nApply   %+v\nApplyTo %+v", name, paging, seed, i, events[i].Op(), want, reused)
					}
					if !want.OK {
						faults++
					}
					if want.Handler != "" {
						handlers++
					}
				}
				if faults == 0 {
					t.Errorf("%s seed %d: no fault in the trace; the test proves less than it says", name, seed)
				}
			}
			if handlers == 0 {
				t.Errorf("%s %v: no handler call in the traces; the test proves less than it says", name, paging)
			}
		}
	}
}
