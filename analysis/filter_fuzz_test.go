package analysis

import "testing"

// FuzzParse: any input parses or fails with a ParseError whose column is
// inside the input (or just past it), never a panic; what parses prints
// a canonical form that parses to itself and matches alike.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"path==dirty-trap && as==0x213000", "op==x && !ok", "gva in 0xffff888000000000..0xffff888100000000",
		"err&0x2", "err.w || err==gp", `label~"fork" && i in 1000..2000`, "handler", "(ok || !(cpl==3))",
		"op==r4", `handler=="vga\n"`, "gpa>=0x1000", "", "((", "0x", "err==gp",
	} {
		f.Add(s)
	}
	recs := []*Record{&recRead, &recFault, &recGP, &recPhys, &recCR3}
	f.Fuzz(func(t *testing.T, s string) {
		flt, err := Parse(s)
		if err != nil {
			pe, ok := err.(*ParseError)
			if !ok {
				t.Fatalf("%q: error %T %v is not a ParseError", s, err, err)
			}
			if pe.Col < 1 || pe.Col > len(s)+1 {
				t.Fatalf("%q: column %d outside 1..%d", s, pe.Col, len(s)+1)
			}
			return
		}
		c := flt.String()
		again, err := Parse(c)
		if err != nil {
			t.Fatalf("%q: canonical form %q does not parse: %v", s, c, err)
		}
		if again.String() != c {
			t.Fatalf("%q: canonical form %q prints as %q", s, c, again.String())
		}
		for _, r := range recs {
			if flt.Match(r) != again.Match(r) {
				t.Fatalf("%q and its canonical form %q disagree on event %d", s, c, r.Index)
			}
		}
	})
}
