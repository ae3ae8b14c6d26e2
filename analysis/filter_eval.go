package analysis

import (
	"strconv"
	"strings"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// A node is one compiled piece of a filter. Nodes are small structs
// matched through an interface call: a filter costs tens of
// nanoseconds per event, well below what the engine spends.
type node interface {
	match(r *Record) bool
	write(b *strings.Builder)
}

type andNode struct{ a, b node }
type orNode struct{ a, b node }
type notNode struct{ a node }

func (n *andNode) match(r *Record) bool { return n.a.match(r) && n.b.match(r) }
func (n *orNode) match(r *Record) bool  { return n.a.match(r) || n.b.match(r) }
func (n *notNode) match(r *Record) bool { return !n.a.match(r) }

func (n *andNode) write(b *strings.Builder) { binary(b, n.a, " && ", n.b) }
func (n *orNode) write(b *strings.Builder)  { binary(b, n.a, " || ", n.b) }
func (n *notNode) write(b *strings.Builder) { b.WriteByte('!'); n.a.write(b) }

func binary(b *strings.Builder, x node, op string, y node) {
	b.WriteByte('(')
	x.write(b)
	b.WriteString(op)
	y.write(b)
	b.WriteByte(')')
}

type okNode struct{}

func (okNode) match(r *Record) bool     { return r.OK }
func (okNode) write(b *strings.Builder) { b.WriteString("ok") }

type errBitNode struct {
	name string
	bit  x86.ErrorCode
}

func (n *errBitNode) match(r *Record) bool {
	return !r.OK && r.Fault.IsPF() && r.Fault.Code&n.bit != 0
}
func (n *errBitNode) write(b *strings.Builder) { b.WriteString(n.name) }

type gpNode struct{ neg bool }

// match: err==gp holds for a #GP; err!=gp for a #PF (a field the event
// lacks never compares, and ok events have no err).
func (n *gpNode) match(r *Record) bool {
	return !r.OK && (r.Fault.Kind == x86.NonCanonical) != n.neg
}
func (n *gpNode) write(b *strings.Builder) {
	b.WriteString("err")
	b.WriteString(eqText(n.neg))
	b.WriteString("gp")
}

func eqText(neg bool) string {
	if neg {
		return "!="
	}
	return "=="
}

type opNode struct {
	kind engine.EventKind
	size uint8 // 0: any size
	neg  bool
}

func (n *opNode) match(r *Record) bool {
	eq := r.Event.Kind == n.kind && (n.size == 0 || r.Event.Size == n.size)
	return eq != n.neg
}
func (n *opNode) write(b *strings.Builder) {
	b.WriteString("op")
	b.WriteString(eqText(n.neg))
	b.WriteString(n.kind.String())
	if n.size != 0 {
		b.WriteString(strconv.Itoa(int(n.size)))
	}
}

type pathNode struct {
	path engine.Path
	neg  bool
}

func (n *pathNode) match(r *Record) bool { return (r.Path == n.path) != n.neg }
func (n *pathNode) write(b *strings.Builder) {
	b.WriteString("path")
	b.WriteString(eqText(n.neg))
	b.WriteString(n.path.String())
}

type strNode struct {
	name string
	f    strField
	op   string // "" (non-empty), ==, != or ~
	val  string
}

func (n *strNode) match(r *Record) bool {
	s := n.f(r)
	switch n.op {
	case "==":
		return s == n.val
	case "!=":
		return s != n.val
	case "~":
		return strings.Contains(s, n.val)
	}
	return s != ""
}
func (n *strNode) write(b *strings.Builder) {
	b.WriteString(n.name)
	if n.op != "" {
		b.WriteString(n.op)
		b.WriteString(strconv.Quote(n.val))
	}
}

type numNode struct {
	name string
	f    numField
	op   string // "" (the event has the field), a comparison, & or in
	a, b uint64
}

func (n *numNode) match(r *Record) bool {
	v, ok := n.f(r)
	if !ok {
		return false
	}
	switch n.op {
	case "==":
		return v == n.a
	case "!=":
		return v != n.a
	case "<":
		return v < n.a
	case "<=":
		return v <= n.a
	case ">":
		return v > n.a
	case ">=":
		return v >= n.a
	case "&":
		return v&n.a != 0
	case "in":
		return v >= n.a && v < n.b
	}
	return true
}

func (n *numNode) write(b *strings.Builder) {
	b.WriteString(n.name)
	switch n.op {
	case "":
	case "in":
		b.WriteString(" in ")
		b.WriteString(hex(n.a))
		b.WriteString("..")
		b.WriteString(hex(n.b))
	default:
		b.WriteString(n.op)
		b.WriteString(hex(n.a))
	}
}

func hex(v uint64) string { return "0x" + strconv.FormatUint(v, 16) }
