package safeout

import (
	"bytes"
	"errors"
	"image"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// TestWriteFileKeepsFiles is the desktop window's case (a screenshot, an
// export): a PNG never replaces an input, whether OUT names it by its
// name, another spelling, a symbolic link or a hard link; another file
// is replaced whole with its permissions kept; a failing writer leaves
// OUT as it was; no temporary file stays.
func TestWriteFileKeepsFiles(t *testing.T) {
	dir := t.TempDir()
	trace := filepath.Join(dir, "t.txt")
	const content = "pgmtrace 1\nram 0 64K\n"
	if err := os.WriteFile(trace, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	link, hard := filepath.Join(dir, "link.png"), filepath.Join(dir, "hard.png")
	if err := os.Symlink(trace, link); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(trace, hard); err != nil {
		t.Fatal(err)
	}
	img := image.NewRGBA(image.Rect(0, 0, 4, 3))
	encode := func(w io.Writer) error { return png.Encode(w, img) }
	for _, out := range []string{trace, link, hard, filepath.Join(dir, ".", "t.txt")} {
		if err := WriteFile(out, io.Discard, []string{trace}, encode); !errors.Is(err, ErrSameFile) {
			t.Errorf("a picture to %s, the trace: %v", out, err)
		}
	}
	if b, _ := os.ReadFile(trace); string(b) != content {
		t.Fatalf("the trace now holds %q", b)
	}

	shot := filepath.Join(dir, "shot.png")
	const older = "an older picture"
	if err := os.WriteFile(shot, []byte(older), 0o600); err != nil {
		t.Fatal(err)
	}
	broken := func(w io.Writer) error {
		w.Write([]byte("\x89PNG half"))
		return errors.New("the GPU went away")
	}
	if err := WriteFile(shot, io.Discard, []string{trace}, broken); err == nil {
		t.Fatal("a failing writer was committed")
	}
	if b, _ := os.ReadFile(shot); string(b) != older {
		t.Fatalf("after a failed write the file holds %q", b)
	}
	if err := WriteFile(shot, io.Discard, []string{trace}, encode); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(shot)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := png.Decode(bytes.NewReader(b)); err != nil || got.Bounds() != img.Bounds() {
		t.Fatalf("the picture decodes as %v, %v", got, err)
	}
	if st, _ := os.Stat(shot); st.Mode().Perm() != 0o600 {
		t.Errorf("the picture's permissions are %v, the file's were 0600", st.Mode().Perm())
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 4 {
		t.Errorf("the directory holds %d entries, want 4 (trace, two links, picture): a temporary file stayed", len(entries))
	}
	// "-" is standard output.
	var stdout bytes.Buffer
	if err := WriteFile("-", &stdout, []string{trace}, encode); err != nil || !bytes.HasPrefix(stdout.Bytes(), []byte("\x89PNG")) {
		t.Errorf("to -: %v, %d bytes", err, stdout.Len())
	}
}
