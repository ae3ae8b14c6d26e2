package samples

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"flag"
	"os"
	"slices"
	"testing"
)

var update = flag.Bool("update", false, "rewrite samples.pack from the text files")

// makePack deflates the named files into a pack (see unpack).
func makePack(names []string, read func(string) ([]byte, error)) ([]byte, error) {
	var raw []byte
	for _, n := range names {
		body, err := read(n)
		if err != nil {
			return nil, err
		}
		raw = binary.AppendUvarint(raw, uint64(len(n)))
		raw = append(raw, n...)
		raw = binary.AppendUvarint(raw, uint64(len(body)))
		raw = append(raw, body...)
	}
	var b bytes.Buffer
	w, err := flate.NewWriter(&b, flate.BestCompression)
	if err != nil {
		return nil, err
	}
	w.Write(raw)
	if err := w.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// TestPack: the browser build's pack holds exactly the text files. The
// contents are compared, not the deflated bytes, which may change with
// Go's compressor.
func TestPack(t *testing.T) {
	names := Names()
	if *update {
		data, err := makePack(names, Read)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile("samples.pack", data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile("samples.pack")
	if err != nil {
		t.Fatal(err)
	}
	got, files, err := unpack(data)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, names) {
		t.Fatalf("samples.pack holds %q, the directory %q: run go test ./traces/samples -update", got, names)
	}
	for _, n := range names {
		want, _ := Read(n)
		if !bytes.Equal(files[n], want) {
			t.Errorf("%s differs in samples.pack: run go test ./traces/samples -update", n)
		}
	}
}

func TestUnpackDamaged(t *testing.T) {
	good, err := makePack([]string{"a.txt"}, func(string) ([]byte, error) { return []byte("pgmtrace 1\n"), nil })
	if err != nil {
		t.Fatal(err)
	}
	if names, _, err := unpack(good); err != nil || len(names) != 1 {
		t.Fatalf("a good pack: %v, %v", names, err)
	}
	for _, bad := range [][]byte{good[:len(good)/2], {0xff, 0xff, 0xff}} {
		if _, _, err := unpack(bad); err == nil {
			t.Errorf("unpack(% x) accepted it", bad)
		}
	}
	// A record whose length runs past the end.
	trunc, _ := makePack(nil, nil)
	var raw bytes.Buffer
	w, _ := flate.NewWriter(&raw, 1)
	w.Write([]byte{5, 'a'})
	w.Close()
	if _, _, err := unpack(raw.Bytes()); err == nil {
		t.Error("a truncated record was accepted")
	}
	if names, _, err := unpack(trunc); err != nil || len(names) != 0 {
		t.Errorf("an empty pack: %v, %v", names, err)
	}
}
