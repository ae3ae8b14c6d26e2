package traces

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// fuzzMaxEvents keeps each fuzz input quick to check.
const fuzzMaxEvents = 10000

// FuzzTextReader checks that no input makes the reader panic, and that
// any input it accepts survives a write and a read unchanged, with the
// canonical form a fixed point of rendering.
func FuzzTextReader(f *testing.F) {
	files, _ := filepath.Glob("testdata/*")
	for _, file := range files {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{
		"", "pgmtrace 1\n", "pgmtrace 2\n", head + "w3 0x1000 5\n", head + "pw8 0xfffffc 0\n",
		"pgmtrace 1\nmaxphyaddr 32\nram 0xfffff000 4K\nmeta k v\nlabel é\tx\n",
		"pgmtrace 1\nram 0 4K\nrom 4K 4K\npr8 0xffc\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		h, evs, err := readAll(bytes.NewReader(in), "fuzz", fuzzMaxEvents)
		if err != nil {
			return
		}
		text := render(t, h, evs)
		h2, evs2, err := readAll(bytes.NewReader([]byte(text)), "canonical", fuzzMaxEvents)
		if err != nil {
			t.Fatalf("canonical form does not read back: %v\n%s", err, text)
		}
		if !reflect.DeepEqual(h2, h) {
			t.Fatalf("header changed\n got %+v\nwant %+v", h2, h)
		}
		if !reflect.DeepEqual(evs2, evs) {
			t.Fatalf("events changed\n got %+v\nwant %+v", evs2, evs)
		}
		if again := render(t, h2, evs2); again != text {
			t.Fatalf("canonical form is not a fixed point\n%s\nthen\n%s", text, again)
		}
	})
}
