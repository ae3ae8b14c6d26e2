package analysis

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/pgm-explorer/pgm-explorer/engine"
)

// Filter is a compiled filter expression. The language, in full:
//
//	expr   := or
//	or     := and { "||" and }
//	and    := unary { "&&" unary }
//	unary  := "!" unary | "(" expr ")" | test
//	test   := NUMFIELD [ cmp NUMBER | "&" NUMBER | "in" NUMBER ".." NUMBER ]
//	        | STRFIELD [ ("==" | "!=" | "~") STRING-OR-WORD ]
//	        | ("op" | "kind" | "path") ("==" | "!=") WORD
//	        | "ok" | ERRBIT | "err" ("==" | "!=") "gp"
//	cmp    := "==" | "!=" | "<" | "<=" | ">" | ">="
//
// Numeric fields: i (event index), gva, gpa, as (the CR3 in force; pcid
// and root are its bits 11:0 and its table address), cpl,
// err (the #PF error code), value, size, memrefs. Numbers are decimal or
// 0x hex (underscores allowed). A range A..B is half-open: A <= x < B.
// `f & M` is true when the field has any bit of M. A bare numeric field
// is true when the event has it (`gpa`: the access translated).
// Error bits: err.p, err.w, err.u, err.rsvd, err.id (or err.i), err.pk,
// true for a #PF with that bit. `err==gp` matches #GP (non-canonical).
// String fields: handler (the physical handler called) and label (the
// label in force); `~` is "contains"; a bare one is true when non-empty.
// op (or kind) names an event kind as the text form spells it: `op==r`
// is any read, `op==r4` a 4-byte read. path names an outcome path:
// tlb-hit, sync-page, dirty-trap, ...
//
// A comparison with a field the event does not have is false, with any
// operator: `gva!=0x1000` holds for accesses at other addresses only.
type Filter struct {
	root node
	src  string
}

// Match reports whether r satisfies the filter.
func (f *Filter) Match(r *Record) bool { return f.root.match(r) }

// String is the expression in a canonical form, fully parenthesised:
// parsing it again gives the same filter.
func (f *Filter) String() string {
	var b strings.Builder
	f.root.write(&b)
	return b.String()
}

// Parse compiles a filter expression. Errors are *ParseError with the
// column of the offending token.
func Parse(src string) (*Filter, error) {
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &parser{src: src, toks: toks}
	if p.peek().kind == tEOF {
		return nil, p.errAt(p.peek(), "empty filter")
	}
	n, err := p.or(0)
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEOF {
		return nil, p.errAt(t, fmt.Sprintf("unexpected %s after a complete expression", describe(t)))
	}
	return &Filter{root: n, src: src}, nil
}

// maxDepth bounds nesting so that a hostile expression cannot exhaust
// the stack.
const maxDepth = 200

type parser struct {
	src  string
	toks []token
	pos  int
}

func (p *parser) peek() token { return p.toks[p.pos] }
func (p *parser) next() token { t := p.toks[p.pos]; p.pos++; return t }

func (p *parser) errAt(t token, msg string) error { return &ParseError{p.src, t.col, msg} }

func describe(t token) string {
	switch t.kind {
	case tEOF:
		return "end of filter"
	case tString:
		return strconv.Quote(t.text)
	}
	return fmt.Sprintf("%q", t.text)
}

func (p *parser) isOp(s string) bool { t := p.peek(); return t.kind == tOp && t.text == s }

func (p *parser) or(depth int) (node, error) {
	a, err := p.and(depth)
	for err == nil && p.isOp("||") {
		p.next()
		var b node
		if b, err = p.and(depth); err == nil {
			a = &orNode{a, b}
		}
	}
	return a, err
}

func (p *parser) and(depth int) (node, error) {
	a, err := p.unary(depth)
	for err == nil && p.isOp("&&") {
		p.next()
		var b node
		if b, err = p.unary(depth); err == nil {
			a = &andNode{a, b}
		}
	}
	return a, err
}

func (p *parser) unary(depth int) (node, error) {
	t := p.peek()
	if depth > maxDepth {
		return nil, p.errAt(t, "expression nested too deeply")
	}
	switch {
	case t.kind == tOp && t.text == "!":
		p.next()
		n, err := p.unary(depth + 1)
		if err != nil {
			return nil, err
		}
		return &notNode{n}, nil
	case t.kind == tOp && t.text == "(":
		p.next()
		n, err := p.or(depth + 1)
		if err != nil {
			return nil, err
		}
		if !p.isOp(")") {
			return nil, p.errAt(p.peek(), fmt.Sprintf("want ) to close the ( at column %d, got %s", t.col, describe(p.peek())))
		}
		p.next()
		return n, nil
	case t.kind == tIdent:
		return p.test()
	}
	return nil, p.errAt(t, fmt.Sprintf("want a field, ! or (, got %s", describe(t)))
}

// test parses one field test.
func (p *parser) test() (node, error) {
	ft := p.next()
	name := ft.text
	switch {
	case name == "ok":
		return okNode{}, nil
	case errBits[name] != 0:
		return &errBitNode{name, errBits[name]}, nil
	case name == "op" || name == "kind":
		return p.opTest(ft)
	case name == "path":
		return p.pathTest(ft)
	case strFields[name] != nil:
		return p.strTest(ft)
	case numFields[name] != nil:
		return p.numTest(ft)
	}
	return nil, p.errAt(ft, fmt.Sprintf("unknown field %q (fields: %s)", name, strings.Join(Fields(), ", ")))
}

// eqOp reads == or != after a field that takes only those.
func (p *parser) eqOp(ft token) (bool, error) {
	t := p.next()
	if t.kind != tOp || (t.text != "==" && t.text != "!=") {
		return false, p.errAt(t, fmt.Sprintf("want == or != after %s, got %s", ft.text, describe(t)))
	}
	return t.text == "!=", nil
}

func (p *parser) word(ft token) (token, error) {
	t := p.next()
	if t.kind != tIdent && t.kind != tString {
		return t, p.errAt(t, fmt.Sprintf("want a name after %s, got %s", ft.text, describe(t)))
	}
	return t, nil
}

func (p *parser) opTest(ft token) (node, error) {
	neg, err := p.eqOp(ft)
	if err != nil {
		return nil, err
	}
	t, err := p.word(ft)
	if err != nil {
		return nil, err
	}
	// A name is a kind (cr3, r) or a sized kind with its size (r4).
	name, size := t.text, uint8(0)
	k, ok := kindByName[name]
	split := false
	if last := len(name) - 1; !ok && last > 0 && name[last] >= '0' && name[last] <= '9' {
		size, split = name[last]-'0', true
		k, ok = kindByName[name[:last]]
	}
	if !ok || (split && (!k.Sized() || !engine.ValidSize(size))) {
		return nil, p.errAt(t, fmt.Sprintf("unknown event kind %q (r, w, x, pr, pw with an optional size 1, 2, 4 or 8, cr3, invlpg, label, ...)", t.text))
	}
	return &opNode{kind: k, size: size, neg: neg}, nil
}

func (p *parser) pathTest(ft token) (node, error) {
	neg, err := p.eqOp(ft)
	if err != nil {
		return nil, err
	}
	t, err := p.word(ft)
	if err != nil {
		return nil, err
	}
	path, ok := pathByName[t.text]
	if !ok {
		names := make([]string, 0, len(pathByName))
		for p := engine.Path(1); int(p) <= len(pathByName); p++ {
			names = append(names, p.String())
		}
		return nil, p.errAt(t, fmt.Sprintf("unknown path %q (want one of %s)", t.text, strings.Join(names, ", ")))
	}
	return &pathNode{path: path, neg: neg}, nil
}

func (p *parser) strTest(ft token) (node, error) {
	t := p.peek()
	if t.kind != tOp || (t.text != "==" && t.text != "!=" && t.text != "~") {
		return &strNode{name: ft.text, f: strFields[ft.text]}, nil
	}
	p.next()
	v, err := p.word(ft)
	if err != nil {
		return nil, err
	}
	return &strNode{name: ft.text, f: strFields[ft.text], op: t.text, val: v.text}, nil
}

func (p *parser) numTest(ft token) (node, error) {
	n := &numNode{name: ft.text, f: numFields[ft.text]}
	t := p.peek()
	switch {
	case t.kind == tIn:
		p.next()
		a, err := p.number(ft)
		if err != nil {
			return nil, err
		}
		if !p.isOp("..") {
			return nil, p.errAt(p.peek(), fmt.Sprintf("want .. in the range, got %s", describe(p.peek())))
		}
		p.next()
		b, err := p.number(ft)
		if err != nil {
			return nil, err
		}
		n.op, n.a, n.b = "in", a, b
	case t.kind == tOp && strings.Contains(" == != < <= > >= & ", " "+t.text+" "):
		p.next()
		if ft.text == "err" && (t.text == "==" || t.text == "!=") && p.peek().kind == tIdent && p.peek().text == "gp" {
			p.next()
			return &gpNode{neg: t.text == "!="}, nil
		}
		a, err := p.number(ft)
		if err != nil {
			return nil, err
		}
		n.op, n.a = t.text, a
	}
	return n, nil
}

func (p *parser) number(ft token) (uint64, error) {
	t := p.next()
	if t.kind != tNumber {
		return 0, p.errAt(t, fmt.Sprintf("want a number for %s, got %s", ft.text, describe(t)))
	}
	return t.num, nil
}
