//go:build !js && !wasip1

package testkit

import (
	"errors"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/traces/x86live/unicorn"
)

// NeedUnicorn skips the test when no Unicorn library can be found (`make
// test` gets one first with `make unicorn`, so the tests run for real
// there), and fails it when a library is there but cannot be used.
func NeedUnicorn(t testing.TB) {
	t.Helper()
	if err := unicorn.Load(""); err != nil {
		if errors.Is(err, unicorn.ErrNotFound) {
			t.Skipf("no Unicorn library: run `make unicorn` to get one (%v)", err)
		}
		t.Fatal(err)
	}
}
