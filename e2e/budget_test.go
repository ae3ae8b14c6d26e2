//go:build e2e

package e2e

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"testing"
)

// The browser build's download budget (BENCHMARKS.md, "The interactive
// explorer"): what a visitor waits for before the first frame. Decimal
// megabytes, as the figures there are given.
const (
	wasmBudgetRaw  = 16_000_000
	wasmBudgetGzip = 4_000_000
)

// TestWASMBudget fails when web/explorer.wasm (as `make wasm` builds it)
// outgrows the budget, raw or gzipped the way `explorer serve` sends it
// (best compression), so that a feature that pulls in a large package is
// noticed when it lands rather than by the next visitor.
func TestWASMBudget(t *testing.T) {
	path := filepath.Join(root(t), "web", "explorer.wasm")
	need(t, path)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var z bytes.Buffer
	zw, err := gzip.NewWriterLevel(&z, gzip.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("explorer.wasm: %d bytes raw (budget %d), %d gzipped (budget %d)", len(data), wasmBudgetRaw, z.Len(), wasmBudgetGzip)
	if len(data) > wasmBudgetRaw {
		t.Errorf("explorer.wasm is %d bytes raw, over the budget of %d by %d", len(data), wasmBudgetRaw, len(data)-wasmBudgetRaw)
	}
	if z.Len() > wasmBudgetGzip {
		t.Errorf("explorer.wasm is %d bytes gzipped, over the budget of %d by %d", z.Len(), wasmBudgetGzip, z.Len()-wasmBudgetGzip)
	}
}
