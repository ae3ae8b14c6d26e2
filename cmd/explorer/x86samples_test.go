package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/internal/testkit"
	"github.com/pgm-explorer/pgm-explorer/traces/samples"
)

// TestX86Samples records each guest that ships as a sample trace
// (traces/samples/x86-PROGRAM.txt) again, as `make x86-samples` does,
// and requires the committed file to be byte for byte what comes out:
// a change to the guests, to x86live or to the engine that alters the
// recording must come with the recordings it now makes. The browser
// demo cannot run Unicorn; these files are what it shows of the guests.
func TestX86Samples(t *testing.T) {
	var names []string
	for _, n := range samples.Names() {
		if strings.HasPrefix(n, "x86-") {
			names = append(names, n)
		}
	}
	if len(names) < 2 {
		t.Fatalf("x86 sample traces: %v, want the recordings of `make x86-samples`", names)
	}
	testkit.NeedUnicorn(t)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			want, err := samples.Read(name)
			if err != nil {
				t.Fatal(err)
			}
			if len(want) > 1<<20 {
				t.Errorf("%s is %d bytes: samples are embedded in the browser demo, keep them under 1 MB", name, len(want))
			}
			program := strings.TrimSuffix(strings.TrimPrefix(name, "x86-"), ".txt")
			file := filepath.Join(t.TempDir(), name)
			code, _, stderr := explorer(t, "record", "--x86", program, "-o", file)
			if code != 0 {
				t.Fatalf("record --x86 %s: exit %d: %s", program, code, stderr)
			}
			got, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("traces/samples/%s is not what `explorer record --x86 %s` makes now (run `make x86-samples`): %s",
					name, program, firstDiff(string(got), string(want)))
			}
		})
	}
}
