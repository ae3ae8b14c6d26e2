//go:build js || wasip1

package testkit

import "testing"

// NeedUnicorn skips: no native library can be loaded here.
func NeedUnicorn(t testing.TB) {
	t.Helper()
	t.Skip("no Unicorn in WebAssembly")
}
