package traces_test

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/phys"
	"github.com/pgm-explorer/pgm-explorer/traces"
)

// TestWriteFile: a whole trace written in either form reads back the
// same; a trace the writers refuse leaves the file that was there as it
// was, and no temporary file behind.
func TestWriteFile(t *testing.T) {
	h := traces.Header{Config: engine.Config{Ranges: []phys.RangeSpec{{Type: phys.TypeRAM, Size: 16 << 20, Name: "ram"}}}}
	evs := []engine.Event{{Kind: engine.EvCR0, Value: 0x11}, {Kind: engine.EvPhysWrite, Addr: 0x1000, Size: 4, Value: 0x83}, {Kind: engine.EvLabel, Text: "done"}}
	for _, name := range []string{"t.txt", "t.pgmt"} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, name)
			if err := traces.WriteFile(path, h, evs); err != nil {
				t.Fatal(err)
			}
			f, err := traces.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if f.Form != traces.FormOf(path) {
				t.Errorf("form %v, want %v", f.Form, traces.FormOf(path))
			}
			var got []engine.Event
			for {
				ev, err := f.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, ev)
			}
			if !slices.Equal(got, evs) {
				t.Errorf("read back %v, want %v", got, evs)
			}
			// Writing again keeps the file's permissions.
			if err := os.Chmod(path, 0o604); err != nil {
				t.Fatal(err)
			}
			if err := traces.WriteFile(path, h, evs); err != nil {
				t.Fatal(err)
			}
			if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o604 {
				t.Errorf("rewritten: %v %v, want mode 0604", st.Mode(), err)
			}
			before, _ := os.ReadFile(path)
			bad := append(slices.Clone(evs), engine.Event{Kind: engine.EvRead, Size: 3, Addr: 0x1000})
			if err := traces.WriteFile(path, h, bad); err == nil {
				t.Fatal("a refused event was written")
			}
			if after, _ := os.ReadFile(path); !slices.Equal(before, after) {
				t.Error("a failed write changed the file")
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 1 {
				t.Errorf("%d files left in the directory, want 1", len(ents))
			}
		})
	}
}
