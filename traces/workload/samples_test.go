package workload

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/traces"
)

var update = flag.Bool("update", false, "rewrite the sample traces in ../samples from the workloads")

// Samples are the sample traces recorded from the workloads, each what
// `explorer record --workload NAME --seed SEED [--events N] [--param ...]
// -o FILE` writes.
var samples = []struct {
	file   string
	name   string
	seed   uint64
	params map[string]string
	events int
}{
	{"boot.txt", "boot", 1, nil, 0},
	{"modes-tour.txt", "modes-tour", 1, nil, 0},
	{"multiprocess.txt", "multiprocess", 1, map[string]string{"procs": "6", "quantum": "24"}, 4000},
	{"devices.txt", "devices", 1, nil, 0},
	{"mapping-conflict.txt", "mapping-conflict", 1, nil, 0},
	{"overcommit.txt", "overcommit", 1, nil, 0},
}

// TestSamples records the sample traces again and compares them with
// the committed files, so that they stay what the workloads produce
// (go test -update rewrites them).
func TestSamples(t *testing.T) {
	for _, s := range samples {
		t.Run(s.file, func(t *testing.T) {
			w, err := New(s.name, s.seed, s.params)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			eng, err := engine.NewShadow(w.Header().Config)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			tw := traces.NewTextWriter(&buf)
			if err := tw.WriteHeader(w.Header()); err != nil {
				t.Fatal(err)
			}
			if _, err := Run(context.Background(), w, eng, s.events, func(ev engine.Event, _ *engine.Outcome) error {
				return tw.WriteEvent(ev)
			}); err != nil {
				t.Fatal(err)
			}
			if err := tw.Flush(); err != nil {
				t.Fatal(err)
			}
			if buf.Len() > 512<<10 {
				t.Errorf("%s is %d bytes: samples stay well under 1 MiB", s.file, buf.Len())
			}
			path := filepath.Join("..", "samples", s.file)
			if *update {
				if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (go test -update writes it)", err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("%s is not what the workload records now (go test -update rewrites it)\n%s", path, firstLineDiff(buf.Bytes(), want))
			}
		})
	}
}

func firstLineDiff(got, want []byte) string {
	g, w := bytes.Split(got, []byte("\n")), bytes.Split(want, []byte("\n"))
	for i := 0; i < max(len(g), len(w)); i++ {
		var gl, wl []byte
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if !bytes.Equal(gl, wl) {
			return fmt.Sprintf("line %d:\n got %s\nwant %s", i+1, gl, wl)
		}
	}
	return ""
}
