package app

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzDecodeState feeds arbitrary link fragments, which come from
// whoever made the link: decoding never panics, an error names the link
// state, and a state that decodes links back to itself (Encode then
// DecodeState is the identity on what Encode writes).
func FuzzDecodeState(f *testing.F) {
	for _, s := range []string{
		"", "#", "#trace=modes-tour.txt&event=60&va=0x400010&view=walk",
		"trace=boot.txt&event=30&view=memory", "#workload=multiprocess&seed=3&p.procs=4&host=pae&paging=nested&pool=512",
		"#file=mine.pgmt&event=3", "#events=x86", "#trace=boot.txt&event=zz", "#va=0xffffffffffffffff", "#%zz", "#a=1;b=2",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, frag string) {
		s, err := DecodeState(frag)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "link state: ") {
				t.Fatalf("%q: error %q does not say it is about the link", frag, err)
			}
			return
		}
		enc := s.Encode()
		s2, err := DecodeState(enc)
		if err != nil {
			t.Fatalf("%q decodes, but its encoding %q does not: %v", frag, enc, err)
		}
		if again := s2.Encode(); again != enc {
			t.Fatalf("%q: encodes to %q, which reads back as %q", frag, enc, again)
		}
		if utf8.ValidString(frag) && !utf8.ValidString(enc) {
			t.Fatalf("%q: encoding %q is not UTF-8", frag, enc)
		}
	})
}
