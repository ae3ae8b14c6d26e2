package engine

import "github.com/pgm-explorer/pgm-explorer/engine/x86"

// poolPath is a descent through the pool's tables along one address,
// root to leaf: the one place where a level's entry is found, rights
// accumulate and a directory entry leads to its child table. The walks of
// one address over the shadow (or nested) tables that stop or act at a
// level (the inspector's, the checker's, invlpg's, sync's) are loops
// over it.
//
// A cursor rather than a walker with visitor callbacks: each walk's loop
// stays plain code (Go instantiates generic code per shape, so a visitor
// type parameter would be called through a dictionary). One walk keeps
// the cursor's state in locals instead: the host MMU's (hostWalkTo),
// which runs on every TLB miss and, under nested paging, for every guest
// entry a 2D walk reads. A struct of this size lives in memory, not in
// registers, and through it the fault-heavy replay ran a quarter slower
// (shadow) and a third slower (nested). It takes the same step per
// level (poolStep, RightsMasked, pool.page).
type poolPath struct {
	f      *x86.Format // the shadow format
	pool   *pool
	nxMask x86.Entry // NX when the format has it, else 0
	va     x86.GVA
	Level  int    // index of the level in the shadow format
	Index  uint64 // of the entry in Page
	Page   *poolPage
	Entry  x86.Entry
	Rights x86.Rights // granted by this level's entry and those above it
}

// descend starts a descent for va at the root table; ok is false while
// there is no root.
func (s *Shadow) descend(va x86.GVA) (p poolPath, ok bool) {
	if s.root == nilIdx {
		return p, false
	}
	p = poolPath{f: s.shw, pool: &s.pool, nxMask: s.shw.NXMask(), va: va, Rights: x86.AllRights}
	p.enter(&s.pool.pages[s.root])
	return p, true
}

// enter makes pg the table of the current level and reads va's entry
// there, with the rights it adds; down (or descend) has set the level.
// Kept within the inliner's budget: the host MMU's walk calls it at
// every level of every TLB miss.
func (p *poolPath) enter(pg *poolPage) {
	lv := &p.f.Levels[p.Level]
	p.Page = pg
	p.Index, p.Entry = poolStep(lv, pg, p.va)
	if lv.Rights {
		p.Rights &= x86.RightsMasked(p.Entry, p.nxMask)
	}
}

// poolStep is one level of every descent of the pool: va's entry in
// table pg at level lv, and its index.
func poolStep(lv *x86.Level, pg *poolPage, va x86.GVA) (uint64, x86.Entry) {
	i := lv.Index(va)
	return i, pg.ents[i]
}

// leaf reports whether the descent is at the last level.
func (p *poolPath) leaf() bool { return p.Level == p.f.N-1 }

// frame is the host address in the current entry.
func (p *poolPath) frame() x86.HPA {
	return x86.HPA(uint64(p.Entry) & p.f.Levels[p.Level].FrameMask)
}

// child is the pool page the current entry's frame holds, present or
// not, or nil (no entry, or a table outside the pool: a hypervisor
// mapping's).
func (p *poolPath) child() *poolPage { return p.pool.page(p.frame()) }

// down moves to the table the current directory entry points at; false,
// staying, at the leaf, on a not-present entry or without a pool page
// there.
func (p *poolPath) down() bool {
	if p.leaf() || !p.Entry.Present() {
		return false
	}
	c := p.child()
	if c == nil {
		return false
	}
	p.into(c)
	return true
}

// into moves one level down into table c, whatever the current entry
// holds: for walks that decide the child themselves (a table just
// created, or one the checker validated).
func (p *poolPath) into(c *poolPage) {
	p.Level++
	p.enter(c)
}

// tree is a hierarchy of tables of type T in format f: the pool's shadow
// (or nested) tables, the intermediate context's host tables, or the
// guest's tables in guest memory. size is the number of entries of a
// table at a level, entry reads one, and child finds the table a
// directory entry leads to (nil when none).
type tree[T any] struct {
	f     *x86.Format
	root  *T
	size  func(t *T, level int) int
	entry func(t *T, level, i int) x86.Entry
	child func(e x86.Entry, level int) *T
}

// hostTree is a tree of host tables held as entry slices.
func hostTree[T any](f *x86.Format, root *T, ents func(*T) []x86.Entry, table func(x86.HPA) *T) tree[T] {
	return tree[T]{f: f, root: root,
		size:  func(t *T, _ int) int { return len(ents(t)) },
		entry: func(t *T, _, i int) x86.Entry { return ents(t)[i] },
		child: func(e x86.Entry, level int) *T { return table(x86.HPA(uint64(e) & f.Levels[level].FrameMask)) }}
}

// visitTree walks the tables of h below its root, depth first in address
// order: the one traversal of a whole hierarchy. fn sees entry i of
// table t, at level level, whose entry 0 maps address base; it returns
// the table to descend into (nil: none) and whether to go on at all.
func visitTree[T any](h tree[T], fn func(t *T, level, i int, base uint64) (child *T, more bool)) {
	var visit func(t *T, level int, base uint64) bool
	visit = func(t *T, level int, base uint64) bool {
		shift := h.f.Levels[level].Shift
		for i, n := 0, h.size(t, level); i < n; i++ {
			child, more := fn(t, level, i, base)
			if !more || child != nil && !visit(child, level+1, base|uint64(i)<<shift) {
				return false
			}
		}
		return true
	}
	if h.root != nil {
		visit(h.root, 0, 0)
	}
}

// walk descends h along va to the last level and returns its entry and
// level; ok is false at a not-present entry or a table h does not hold.
// (The pool has poolPath, which the hot walks need concrete.)
func (h tree[T]) walk(va x86.GVA) (e x86.Entry, lv *x86.Level, ok bool) {
	t := h.root
	for l := 0; l < h.f.N && t != nil; l++ {
		lv = &h.f.Levels[l]
		e = h.entry(t, l, int(lv.Index(va)))
		if !e.Present() {
			return e, lv, false
		}
		if l == h.f.N-1 {
			return e, lv, true
		}
		t = h.child(e, l)
	}
	return e, lv, false
}

// visitPool is visitTree over the pool's tables, from the shadow root.
func (s *Shadow) visitPool(fn func(pg *poolPage, level, i int, base uint64) (child *poolPage, more bool)) {
	if s.root == nilIdx {
		return
	}
	visitTree(hostTree(s.shw, &s.pool.pages[s.root], func(pg *poolPage) []x86.Entry { return pg.ents }, s.pool.page), fn)
}
