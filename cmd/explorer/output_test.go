//go:build unix

package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/internal/testkit"
	"github.com/pgm-explorer/pgm-explorer/traces"
)

// writer is one command that writes a file: args runs it reading in and
// writing out.
type writer struct {
	name string
	args func(in, out string) []string
	// input is what in holds (the sample trace unless set).
	input []byte
}

var writers = []writer{
	{name: "replay", args: func(in, out string) []string {
		return []string{"replay", "--outcomes=jsonl", "-o", out, in}
	}},
	{name: "render", args: func(in, out string) []string { return []string{"render", "-o", out, in} }},
	{name: "convert", args: func(in, out string) []string { return []string{"convert", in, out} }},
	{name: "convert-text", args: func(in, out string) []string { return []string{"convert", in, out + ".txt"} }},
	// The guest program is refused as OUT before Unicorn is looked for.
	{name: "record-x86", input: []byte{0xf4}, args: func(in, out string) []string {
		return []string{"record", "--x86", in, "-o", out}
	}},
}

// listDir is the names in dir, sorted.
func listDir(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	slices.Sort(names)
	return names
}

// TestSameFileRefused: no command writes over its input, whether OUT
// names it by the same path, another spelling, a symbolic link or a hard
// link. The input is unchanged and nothing is left beside it.
func TestSameFileRefused(t *testing.T) {
	sample := mustRead(t, sampleTrace)
	links := []struct {
		name string
		make func(t *testing.T, in string) string // returns OUT
	}{
		{"same path", func(t *testing.T, in string) string { return in }},
		{"other spelling", func(t *testing.T, in string) string {
			return filepath.Join(filepath.Dir(in), ".", "..", filepath.Base(filepath.Dir(in)), filepath.Base(in))
		}},
		{"symlink", func(t *testing.T, in string) string {
			out := filepath.Join(filepath.Dir(in), "link")
			if err := os.Symlink(filepath.Base(in), out); err != nil {
				t.Fatal(err)
			}
			return out
		}},
		{"hard link", func(t *testing.T, in string) string {
			out := filepath.Join(filepath.Dir(in), "hard")
			if err := os.Link(in, out); err != nil {
				t.Fatal(err)
			}
			return out
		}},
	}
	for _, w := range writers {
		for _, l := range links {
			t.Run(w.name+"/"+l.name, func(t *testing.T) {
				dir := t.TempDir()
				in := filepath.Join(dir, "in.txt")
				data := w.input
				if data == nil {
					data = sample
				}
				if err := os.WriteFile(in, data, 0o644); err != nil {
					t.Fatal(err)
				}
				out := l.make(t, in)
				args := w.args(in, out)
				if w.name == "convert-text" {
					// OUT must be the input itself, whatever its name says.
					args = []string{"convert", in, out}
				}
				before := listDir(t, dir)
				code, _, errOut := explorer(t, args...)
				if code == 0 || !strings.Contains(errOut, "are the same file") {
					t.Errorf("exit %d, stderr %q; want a refusal", code, errOut)
				}
				if got := mustRead(t, in); !bytes.Equal(got, data) {
					t.Errorf("the input changed (%d bytes, was %d)", len(got), len(data))
				}
				if after := listDir(t, dir); !slices.Equal(before, after) {
					t.Errorf("directory %v, was %v", after, before)
				}
			})
		}
	}
}

// outKind prepares an existing OUT of one kind and checks it afterwards.
type outKind struct {
	name string
	// make creates OUT in dir and returns its path.
	make func(t *testing.T, dir string) string
	// intact checks OUT after a failed command.
	intact func(t *testing.T, out string)
}

const oldContent = "the user's own file\n"

func regularOut(t *testing.T, dir string) string {
	out := filepath.Join(dir, "out")
	if err := os.WriteFile(out, []byte(oldContent), 0o600); err != nil {
		t.Fatal(err)
	}
	return out
}

func regularIntact(t *testing.T, out string) {
	t.Helper()
	st, err := os.Lstat(out)
	if err != nil || !st.Mode().IsRegular() || st.Mode().Perm() != 0o600 {
		t.Fatalf("OUT: %v, %v; want the old regular file, mode 0600", st, err)
	}
	if got := string(mustRead(t, out)); got != oldContent {
		t.Errorf("OUT holds %q; want its old content", got)
	}
}

// deviceOut makes a character device node like /dev/null (major 1,
// minor 3) in dir, where the test may make one (as root).
func deviceOut(t *testing.T, dir string) string {
	out := filepath.Join(dir, "null")
	if err := syscall.Mknod(out, syscall.S_IFCHR|0o666, 1<<8|3); err != nil {
		t.Skipf("cannot make a device node here: %v", err)
	}
	return out
}

var outKinds = []outKind{
	{"device", deviceOut, func(t *testing.T, out string) {
		if st, err := os.Lstat(out); err != nil || st.Mode()&os.ModeCharDevice == 0 {
			t.Fatalf("the device: %v, %v", st, err)
		}
	}},
	{"regular", regularOut, regularIntact},
	{"symlink", func(t *testing.T, dir string) string {
		target := regularOut(t, dir)
		out := filepath.Join(dir, "link")
		if err := os.Symlink(target, out); err != nil {
			t.Fatal(err)
		}
		return out
	}, func(t *testing.T, out string) {
		if st, err := os.Lstat(out); err != nil || st.Mode()&os.ModeSymlink == 0 {
			t.Fatalf("the link: %v, %v", st, err)
		}
		regularIntact(t, filepath.Join(filepath.Dir(out), "out"))
	}},
	{"fifo", func(t *testing.T, dir string) string {
		out := filepath.Join(dir, "fifo")
		if err := syscall.Mkfifo(out, 0o600); err != nil {
			t.Fatal(err)
		}
		// A reader, or the writer would wait for one forever.
		go func() {
			f, err := os.Open(out)
			if err == nil {
				io.Copy(io.Discard, f)
				f.Close()
			}
		}()
		return out
	}, func(t *testing.T, out string) {
		if st, err := os.Lstat(out); err != nil || st.Mode()&os.ModeNamedPipe == 0 {
			t.Fatalf("the FIFO: %v, %v", st, err)
		}
	}},
}

// TestFailedWriteLeavesOut: a command that fails after it started
// writing leaves OUT as it was: a regular file keeps its content and
// mode, a link and its target stay, a FIFO is not removed.
func TestFailedWriteLeavesOut(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "modes.pgmt")
	if code, _, errOut := explorer(t, "convert", sampleTrace, bin); code != 0 {
		t.Fatalf("convert: %s", errOut)
	}
	data := mustRead(t, bin)
	cut := filepath.Join(dir, "cut.pgmt")
	if err := os.WriteFile(cut, data[:len(data)*3/4], 0o644); err != nil {
		t.Fatal(err)
	}
	failing := []struct {
		name string
		args func(out string) []string
		want string
	}{
		{"convert truncated to binary", func(out string) []string { return []string{"convert", cut, out} }, "truncated"},
		{"replay bad line", func(out string) []string {
			return []string{"replay", "--outcomes=jsonl", "-o", out, "testdata/bad-line.txt"}
		}, "access size 3"},
		{"render no label", func(out string) []string {
			return []string{"render", "--at", "no such label", "-o", out, sampleTrace}
		}, "no such label"},
	}
	for _, f := range failing {
		for _, k := range outKinds {
			t.Run(f.name+"/"+k.name, func(t *testing.T) {
				dir := t.TempDir()
				out := k.make(t, dir)
				before := listDir(t, dir)
				code, _, errOut := explorer(t, f.args(out)...)
				if code != 1 || !strings.Contains(errOut, f.want) {
					t.Errorf("exit %d, stderr %q; want 1 and %q", code, errOut, f.want)
				}
				k.intact(t, out)
				if after := listDir(t, dir); !slices.Equal(before, after) {
					t.Errorf("directory %v, was %v", after, before)
				}
			})
		}
	}
}

// TestWriteReplacesOut: on success a regular OUT is replaced whole and
// keeps its permissions; through a link, the target is replaced and the
// link stays; a FIFO gets the data and stays.
func TestWriteReplacesOut(t *testing.T) {
	_, wantEvs, err := traces.ReadTextFile(sampleTrace)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range outKinds {
		t.Run(k.name, func(t *testing.T) {
			dir := t.TempDir()
			out := k.make(t, dir)
			if k.name == "device" {
				if code, _, errOut := explorer(t, "convert", sampleTrace, out); code != 0 {
					t.Fatalf("convert into a device: %s", errOut)
				}
				k.intact(t, out)
				return
			}
			if k.name == "fifo" {
				// Read what comes through, instead of the discarding reader.
				out = filepath.Join(dir, "fifo2.txt")
				if err := syscall.Mkfifo(out, 0o600); err != nil {
					t.Fatal(err)
				}
				got := make(chan []byte)
				go func() {
					b, _ := os.ReadFile(out)
					got <- b
				}()
				if code, _, errOut := explorer(t, "convert", sampleTrace, out); code != 0 {
					t.Fatalf("convert: %s", errOut)
				}
				if b := <-got; !strings.Contains(string(b), "pgmtrace 1") {
					t.Errorf("the FIFO carried %q", b)
				}
				k.intact(t, out)
				return
			}
			if code, _, errOut := explorer(t, "convert", sampleTrace, out); code != 0 {
				t.Fatalf("convert: %s", errOut)
			}
			target, _ := filepath.EvalSymlinks(out)
			st, err := os.Lstat(target)
			if err != nil || st.Mode().Perm() != 0o600 {
				t.Errorf("OUT after: %v, %v; want mode 0600 kept", st, err)
			}
			if _, got := testkit.ReadTrace(t, out); !reflect.DeepEqual(got, wantEvs) {
				t.Errorf("OUT does not hold the trace")
			}
			if k.name == "symlink" {
				if st, err := os.Lstat(out); err != nil || st.Mode()&os.ModeSymlink == 0 {
					t.Errorf("the link was replaced: %v, %v", st, err)
				}
			}
			if names := listDir(t, dir); len(names) != len(slices.DeleteFunc(names, func(n string) bool {
				return strings.Contains(n, ".tmp")
			})) {
				t.Errorf("a temporary file was left: %v", names)
			}
		})
	}
}

// TestDashIsStdout: "-" is standard output for every command that
// writes, and no file named "-" appears.
func TestDashIsStdout(t *testing.T) {
	sample, err := filepath.Abs(sampleTrace)
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir())
	cases := []struct {
		name string
		args []string
		want string // stdout starts with it
	}{
		{"replay", []string{"replay", "--outcomes=jsonl", "-o", "-", sample}, `{"i":`},
		{"render", []string{"render", "-o", "-", sample}, "\x89PNG"},
		{"convert", []string{"convert", sample, "-"}, "\xa8"},
		{"record", []string{"record", "--workload", "boot", "--events", "50", "-o", "-"}, "\xa8"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := explorer(t, tc.args...)
			if code != 0 || !strings.HasPrefix(out, tc.want) {
				t.Fatalf("exit %d, stderr %q, stdout starts %q; want %q", code, errOut, out[:min(len(out), 8)], tc.want)
			}
			if _, err := os.Lstat("-"); err == nil {
				t.Errorf("a file named - was written")
			}
			if tc.want == "\xa8" {
				rd, _, err := traces.NewReader(strings.NewReader(out), "stdout")
				if err == nil {
					for err == nil {
						_, err = rd.Next()
					}
				}
				if err != io.EOF {
					t.Errorf("standard output is not a whole trace: %v", err)
				}
			}
		})
	}
}
