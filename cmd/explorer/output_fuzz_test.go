//go:build unix

package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/internal/safeout"
)

// snapshot is what a directory holds: names, kinds, contents, link
// targets, modes.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, name := range listDir(t, dir) {
		p := filepath.Join(dir, name)
		st, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		v := st.Mode().String()
		switch {
		case st.Mode()&os.ModeSymlink != 0:
			l, _ := os.Readlink(p)
			v += " -> " + l
		case st.Mode().IsRegular():
			b, _ := os.ReadFile(p)
			v += " " + string(b)
		}
		m[name] = v
	}
	return m
}

// FuzzOutput drives createOutput with every kind of OUT (absent, a
// regular file, a link to one, a dangling link, a directory, the input
// under another name, a link or a hard link to the input), some data, and
// a commit or an abort. Whatever happens: the input never changes; a
// refusal or an abort leaves the directory exactly as it was; a commit
// leaves OUT (or the file its link names) holding the data, with its old
// mode, and nothing else changed.
func FuzzOutput(f *testing.F) {
	for k := range 8 {
		f.Add(uint8(k), []byte("new content"), true)
		f.Add(uint8(k), []byte{}, false)
	}
	safeout.Sync = false
	defer func() { safeout.Sync = true }()
	f.Fuzz(func(t *testing.T, kind uint8, data []byte, commit bool) {
		dir := t.TempDir()
		in := filepath.Join(dir, "in")
		input := []byte("the input\n")
		if err := os.WriteFile(in, input, 0o640); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(dir, "out")
		target := out // where the data must land
		same := false
		switch kind % 8 {
		case 0: // absent
		case 1:
			os.WriteFile(out, []byte("old"), 0o600)
		case 2:
			os.WriteFile(filepath.Join(dir, "t"), []byte("old"), 0o604)
			os.Symlink("t", out)
			target = filepath.Join(dir, "t")
		case 3:
			os.Symlink("nowhere", out)
		case 4:
			os.Mkdir(out, 0o755)
		case 5:
			out, same = filepath.Join(dir, ".", "in"), true
		case 6:
			os.Symlink("in", out)
			same = true
		case 7:
			os.Link(in, out)
			same = true
		}
		before := snapshot(t, dir)
		var oldMode os.FileMode
		if st, err := os.Stat(target); err == nil {
			oldMode = st.Mode()
		}
		o, err := createOutput(out, io.Discard, in)
		if same && !errors.Is(err, errSameFile) {
			t.Fatalf("kind %d: OUT is the input, and createOutput says %v", kind%8, err)
		}
		if err != nil {
			if after := snapshot(t, dir); !mapsEqual(before, after) {
				t.Fatalf("kind %d: refused (%v), and the directory changed:\n%v\n%v", kind%8, err, before, after)
			}
			return
		}
		if _, err := o.Write(data); err != nil {
			t.Fatal(err)
		}
		if !commit {
			o.Abort()
			if after := snapshot(t, dir); !mapsEqual(before, after) {
				t.Fatalf("kind %d: aborted, and the directory changed:\n%v\n%v", kind%8, before, after)
			}
			return
		}
		if err := o.Commit(); err != nil {
			t.Fatal(err)
		}
		o.Abort() // after Commit: nothing
		if got, err := os.ReadFile(target); err != nil || !bytes.Equal(got, data) {
			t.Fatalf("kind %d: %s holds %q (%v), want %q", kind%8, target, got, err, data)
		}
		if st, _ := os.Stat(target); oldMode != 0 && st.Mode() != oldMode {
			t.Fatalf("kind %d: mode %v, was %v", kind%8, st.Mode(), oldMode)
		}
		after := snapshot(t, dir)
		if !bytes.Equal(mustRead(t, in), input) {
			t.Fatal("the input changed")
		}
		// Only the target changed (or appeared).
		delete(before, filepath.Base(target))
		delete(after, filepath.Base(target))
		if !mapsEqual(before, after) {
			t.Fatalf("kind %d: more than OUT changed:\n%v\n%v", kind%8, before, after)
		}
	})
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
