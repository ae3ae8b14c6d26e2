package workload

import (
	"context"
	"errors"
	"io"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/traces"
)

// TestRecordReplay: a recording, text or binary, replays on the engine
// of its header to exactly the outcomes the live run saw (paths and
// notes included), and its header is the workload's.
func TestRecordReplay(t *testing.T) {
	for _, name := range Names() {
		for _, file := range []string{name + ".txt", name + traces.BinaryExt} {
			t.Run(file, func(t *testing.T) {
				path := filepath.Join(t.TempDir(), file)
				w, err := New(name, 3, nil)
				if err != nil {
					t.Fatal(err)
				}
				defer w.Close()
				h := w.Header()
				eng, err := engine.NewShadow(h.Config)
				if err != nil {
					t.Fatal(err)
				}
				tw, err := traces.Create(path, h)
				if err != nil {
					t.Fatal(err)
				}
				var live []engine.Outcome
				n, err := Run(context.Background(), w, eng, 2000, func(ev engine.Event, o *engine.Outcome) error {
					live = append(live, *o)
					return tw.WriteEvent(ev)
				})
				if err != nil {
					t.Fatal(err)
				}
				if err := tw.Close(); err != nil {
					t.Fatal(err)
				}
				f, err := traces.Open(path)
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				got := f.Header()
				want, _ := h.Config.Normalized()
				if !reflect.DeepEqual(got.Config, want) || !reflect.DeepEqual(got.Meta, h.Meta) {
					t.Errorf("header read back:\n%+v\nwant\n%+v %v", got, want, h.Meta)
				}
				replay, err := engine.NewShadow(got.Config)
				if err != nil {
					t.Fatal(err)
				}
				for i := 0; ; i++ {
					ev, err := f.Next()
					if errors.Is(err, io.EOF) {
						if i != n {
							t.Fatalf("%d events read back, %d written", i, n)
						}
						break
					}
					if err != nil {
						t.Fatal(err)
					}
					o, err := replay.Apply(ev)
					if err != nil {
						t.Fatalf("event %d: %v", i, err)
					}
					if g, w := string(traces.AppendOutcomeJSON(nil, &o)), string(traces.AppendOutcomeJSON(nil, &live[i])); g != w || o.Notes != live[i].Notes || o.Event != live[i].Event {
						t.Fatalf("event %d replays to %s (notes %#x), live %s (notes %#x)", i, g, o.Notes, w, live[i].Notes)
					}
				}
			})
		}
	}
}
