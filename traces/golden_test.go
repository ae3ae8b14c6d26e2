package traces

import (
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the .golden files in testdata")

// TestGolden reads every testdata/*.txt trace and compares its canonical
// rendering with the .golden file beside it.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			h, evs, err := ReadTextFile(file)
			if err != nil {
				t.Fatal(err)
			}
			got := render(t, h, evs)
			golden := strings.TrimSuffix(file, ".txt") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("canonical form of %s differs from %s (go test -update rewrites it)\ngot:\n%s", file, golden, got)
			}
			// The canonical form reads back to the same trace and is a
			// fixed point of rendering.
			h2, evs2, err := ReadTextFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(h2, h) || !reflect.DeepEqual(evs2, evs) {
				t.Errorf("%s reads back differently from %s", golden, file)
			}
		})
	}
}
