package traces

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"reflect"
	"testing"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/traces/samples"
)

// stateAfter replays a sample through the shadow engine.
func stateAfter(t testing.TB, name string) *engine.Shadow {
	t.Helper()
	data, err := samples.Read(name)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := NewTextReader(bytes.NewReader(data), name)
	if err != nil {
		t.Fatal(err)
	}
	e, err := engine.NewShadow(tr.Header().Config)
	if err != nil {
		t.Fatal(err)
	}
	for {
		ev, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return e
		}
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.Apply(ev); err != nil {
			t.Fatal(err)
		}
	}
}

// TestStateBytesUnchanged: the states of samples with device handlers,
// hypervisor mappings, ballooned pages and several paging modes encode
// to exactly the bytes the engine's own encoder wrote before encoding
// moved here (their SHA-256, taken with that encoder), and decode back
// to the same value.
func TestStateBytesUnchanged(t *testing.T) {
	want := map[string]string{
		"devices.txt":          "4338a658600f1077960e286f8ba709f84dba8c405e060ed433caf009f19c15bc", // 207098 bytes
		"mapping-conflict.txt": "7edd5c681ffa424fa4fe013c560013506c9f834b27d991f282be71f8577c3d7a", // 500026 bytes
		"overcommit.txt":       "3bf077500b4f2a6fb6a253fd5105864c71d4838a2ef3cb3632443cd9b0a1ce92", // 269508 bytes
		"modes.txt":            "5c73e221fed87a438434dba540a344d2c56cc9e84058eb35b4e544734d3bd63f", // 58185 bytes
	}
	for name, sum := range want {
		t.Run(name, func(t *testing.T) {
			e := stateAfter(t, name)
			var b bytes.Buffer
			if err := SaveState(&b, e); err != nil {
				t.Fatal(err)
			}
			if got := fmt.Sprintf("%x", sha256.Sum256(b.Bytes())); got != sum {
				t.Errorf("%d bytes with SHA-256 %s, want %s", b.Len(), got, sum)
			}
			st, err := DecodeState(b.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(st, e.State()) {
				t.Error("the decoded state differs from the engine's")
			}
		})
	}
}

// TestDecodeStateErrors: what is not a state, a state of another version
// and a truncated one are told apart.
func TestDecodeStateErrors(t *testing.T) {
	var good bytes.Buffer
	if err := SaveState(&good, stateAfter(t, "modes.txt")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		data []byte
		want error
	}{
		{"empty", nil, engine.ErrStateNotState},
		{"garbage", []byte("hello, this is not a state"), engine.ErrStateNotState},
		{"truncated header", good.Bytes()[:40], engine.ErrStateCorrupt},
		{"truncated pages", good.Bytes()[:good.Len()*2/3], engine.ErrStateCorrupt},
		{"bad version", bytes.Replace(good.Bytes(), []byte("version\x01"), []byte("version\x09"), 1), engine.ErrStateVersion},
		{"more page records than the ranges hold", manyPages(t), engine.ErrStateCorrupt},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := DecodeState(tc.data); !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
		})
	}
}

// manyPages is a header announcing 2^40 page records for one page of
// RAM: refused before anything is allocated for them.
func manyPages(t *testing.T) []byte {
	b, err := msgpack.Marshal(&savedHeader{Magic: savedStateMagic, Version: engine.SavedStateVersion,
		Ranges: []savedRange{{Size: 4096}}, Pages: 1 << 40})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzDecodeState: arbitrary bytes never panic, and what decodes encodes
// to bytes that decode to the same state.
func FuzzDecodeState(f *testing.F) {
	var good bytes.Buffer
	if err := SaveState(&good, stateAfter(f, "modes.txt")); err != nil {
		f.Fatal(err)
	}
	f.Add(good.Bytes())
	f.Add(good.Bytes()[:200])
	f.Add([]byte{0x80})
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := DecodeState(data)
		if err != nil {
			return
		}
		var b bytes.Buffer
		if err := EncodeState(&b, st); err != nil {
			t.Fatal(err)
		}
		again, err := DecodeState(b.Bytes())
		if err != nil {
			t.Fatalf("re-encoded state does not decode: %v", err)
		}
		if !reflect.DeepEqual(st, again) {
			t.Fatal("re-encoded state decodes differently")
		}
	})
}
