package stats

import (
	"bytes"
	"encoding/json"
	"testing"
)

// jsonSample is the JSON form of a Sample as encoding/json writes it; the
// field order is the order in the output.
type jsonSample struct {
	Name    string `json:"name"`
	Kind    string `json:"kind"`
	Unit    string `json:"unit"`
	Value   uint64 `json:"value"`
	Calls   uint64 `json:"calls"`
	TotalNS uint64 `json:"total_ns"`
	MinNS   uint64 `json:"min_ns"`
	MaxNS   uint64 `json:"max_ns"`
	Desc    string `json:"description"`
}

// encodingJSON is what encoding/json writes for s with HTML escaping off,
// the form AppendJSONString promises.
func encodingJSON(t testing.TB, v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

var jsonStrings = []string{
	"", "plain", `quote " and backslash \`, "<html> & 'x'", "tab\tnew\nline\rcr",
	"\b\f\x00\x01\x1f\x7f", "é ü 漢字 🙂", "\u2028\u2029", "bad \xff utf-8 \xc3", "\xed\xa0\x80",
	"/PGM/Pool/Alloc", "\u202eevil",
}

func TestAppendJSONStringLikeEncodingJSON(t *testing.T) {
	for _, s := range jsonStrings {
		if got, want := AppendJSONString(nil, s), encodingJSON(t, s); !bytes.Equal(got, want) {
			t.Errorf("%q: got %s, encoding/json %s", s, got, want)
		}
	}
}

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range jsonStrings {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := AppendJSONString(nil, s), encodingJSON(t, s); !bytes.Equal(got, want) {
			t.Fatalf("%q: got %s, encoding/json %s", s, got, want)
		}
	})
}

// TestJSONLikeEncodingJSON: the hand-written objects of WriteJSON are
// byte for byte what encoding/json wrote for the same fields.
func TestJSONLikeEncodingJSON(t *testing.T) {
	for i, d := range jsonStrings {
		s := Sample{Name: "/PGM/x" + d, Kind: Kind(i % 3), Unit: Unit(i % 4), Value: uint64(i) << 40, Calls: uint64(i), TotalNS: 1 << 63, MinNS: 7, MaxNS: 1<<64 - 1, Desc: d}
		want := encodingJSON(t, jsonSample{s.Name, s.Kind.String(), s.Unit.String(), s.Value, s.Calls, s.TotalNS, s.MinNS, s.MaxNS, s.Desc})
		if got := appendJSONSample(nil, s); !bytes.Equal(got, want) {
			t.Errorf("sample %d:\n got %s\nwant %s", i, got, want)
		}
	}
}
