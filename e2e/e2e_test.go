//go:build e2e

package e2e

import (
	"bytes"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// root is the repository's top directory.
func root(t *testing.T) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}

// outDir is where screenshots go: $E2E_OUT, else a temporary directory.
func outDir(t *testing.T) string {
	if d := os.Getenv("E2E_OUT"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

func need(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("%v: build it first (make e2e does)", err)
	}
}

// checkNotBlank fails when a screenshot is one flat colour or nearly:
// a frame of the explorer has text, cells and panels in many colours.
func checkNotBlank(t *testing.T, name string, data []byte) image.Image {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	colours := map[[4]uint32]int{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 3 {
		for x := b.Min.X; x < b.Max.X; x += 3 {
			r, g, bl, a := img.At(x, y).RGBA()
			colours[[4]uint32{r >> 8, g >> 8, bl >> 8, a >> 8}]++
		}
	}
	most := 0
	for _, n := range colours {
		most = max(most, n)
	}
	total := (b.Dx() / 3) * (b.Dy() / 3)
	if len(colours) < 20 || most > total*97/100 {
		t.Errorf("%s looks blank: %d colours, the commonest covers %d of %d samples", name, len(colours), most, total)
	}
	return img
}

func save(t *testing.T, dir, name string, data []byte) {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s", p)
}
