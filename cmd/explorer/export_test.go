package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestExportPerfetto(t *testing.T) {
	out := filepath.Join(t.TempDir(), "t.json")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"export", "--perfetto", twoProc, "--every", "10", "-o", out}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "37 events, 16 instant events") {
		t.Errorf("summary %q", stderr.String())
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct{ TraceEvents []map[string]any }
	if err := json.Unmarshal(b, &doc); err != nil || len(doc.TraceEvents) == 0 {
		t.Fatalf("%v: %d records", err, len(doc.TraceEvents))
	}
	// The input is never the output, and a failed export leaves no file.
	in := filepath.Join(t.TempDir(), "in.txt")
	src, _ := os.ReadFile(twoProc)
	os.WriteFile(in, src, 0o644)
	if code := run([]string{"export", "--perfetto", in, "-o", in}, &stdout, &stderr); code == 0 {
		t.Error("exporting over the input succeeded")
	}
	if now, _ := os.ReadFile(in); !bytes.Equal(now, src) {
		t.Error("the input changed")
	}
	bad := filepath.Join(t.TempDir(), "bad.txt")
	os.WriteFile(bad, append(append([]byte{}, src...), "r4 zzz\n"...), 0o644)
	dst := filepath.Join(t.TempDir(), "bad.json")
	if code := run([]string{"export", "--perfetto", bad, "-o", dst}, &stdout, &stderr); code == 0 {
		t.Error("a bad trace exported")
	}
	if _, err := os.Stat(dst); !os.IsNotExist(err) {
		t.Errorf("a failed export left %s (%v)", dst, err)
	}
	if code := run([]string{"export", twoProc}, &stdout, &stderr); code != 2 {
		t.Errorf("no --perfetto: exit %d, want 2", code)
	}
}
