package analysis

import (
	"fmt"
	"strconv"
	"strings"
)

// ParseError is a filter expression that does not parse or names
// something unknown. Col is the 1-based byte column where the trouble
// starts, so a CLI can point at it.
type ParseError struct {
	Expr string
	Col  int
	Msg  string
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("filter column %d: %s", e.Col, e.Msg)
}

type tokKind uint8

const (
	tEOF    tokKind = iota
	tIdent          // field names and bare values: gva, err.w, dirty-trap, r4
	tNumber         // 0x1000, 4096, 1_000
	tString         // "text" (Go syntax)
	tOp             // == != < <= > >= ~ & && || ! ( ) ..
	tIn             // the keyword in
)

type token struct {
	kind tokKind
	text string // as written (strings: unquoted)
	num  uint64
	col  int // 1-based
}

// lex splits a filter expression into tokens.
func lex(src string) ([]token, error) {
	var toks []token
	i := 0
	for i < len(src) {
		c := src[i]
		col := i + 1
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c >= '0' && c <= '9':
			j := i
			for j < len(src) && (isAlnum(src[j]) || src[j] == '_') {
				j++
			}
			n, err := strconv.ParseUint(src[i:j], 0, 64)
			if err != nil {
				return nil, &ParseError{src, col, fmt.Sprintf("bad number %q", src[i:j])}
			}
			toks = append(toks, token{kind: tNumber, text: src[i:j], num: n, col: col})
			i = j
		case isAlpha(c):
			j := i
			for j < len(src) && (isAlnum(src[j]) || src[j] == '_' || src[j] == '-' ||
				(src[j] == '.' && j+1 < len(src) && isAlpha(src[j+1]))) {
				j++
			}
			w := src[i:j]
			k := tIdent
			if w == "in" {
				k = tIn
			}
			toks = append(toks, token{kind: k, text: w, col: col})
			i = j
		case c == '"':
			j := i + 1
			for j < len(src) && src[j] != '"' {
				if src[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(src) {
				return nil, &ParseError{src, col, "unterminated string"}
			}
			s, err := strconv.Unquote(src[i : j+1])
			if err != nil {
				return nil, &ParseError{src, col, fmt.Sprintf("bad string %s", src[i:j+1])}
			}
			toks = append(toks, token{kind: tString, text: s, col: col})
			i = j + 1
		default:
			op := ""
			for _, o := range []string{"==", "!=", "<=", ">=", "&&", "||", "..", "<", ">", "~", "&", "!", "(", ")"} {
				if strings.HasPrefix(src[i:], o) {
					op = o
					break
				}
			}
			if op == "" {
				return nil, &ParseError{src, col, fmt.Sprintf("unexpected character %q", rune(c))}
			}
			toks = append(toks, token{kind: tOp, text: op, col: col})
			i += len(op)
		}
	}
	return append(toks, token{kind: tEOF, col: len(src) + 1}), nil
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' }
func isAlnum(c byte) bool { return isAlpha(c) || c >= '0' && c <= '9' }
