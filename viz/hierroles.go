package viz

import "github.com/pgm-explorer/pgm-explorer/engine/x86"

// What each entry of a card is (its Role), which gives its cell's
// colour and letter: for the guest, what the entry maps; for shadow and
// nested tables, also why an entry is not present.

// classify gives every entry of every card its role.
func (c *ctx) classify(h *hierData) {
	if cap(h.rstore) < len(h.store) {
		h.rstore = make([]Role, len(h.store))
	}
	h.rstore = h.rstore[:len(h.store)]
	off := 0
	c.sc.peek.reset(c.m.Engine.Memory())
	for i := range h.cards {
		cd := &h.cards[i]
		cd.roles = h.rstore[off : off+cd.n : off+cd.n]
		off += cd.n
		for k := 0; k < cd.n; k++ {
			cd.roles[k] = c.entryRole(h, cd, k)
		}
	}
}

// entryRole classifies entry k of a card.
func (c *ctx) entryRole(h *hierData, cd *card, k int) Role {
	e := x86.Entry(cd.ents[k])
	leafLevel := cd.depth == h.format.N-1
	if h.hier == HierGuest {
		switch {
		case !e.Present():
			return RoleEmpty
		case cd.level.Register:
			if cd.level.Reserved(e) != 0 {
				return RoleBad
			}
			return RoleTable
		case cd.level.Reserved(e) != 0:
			return RoleBad
		case cd.level.Big(e):
			return RoleBigPage
		case !leafLevel:
			return RoleTable
		case e.Writable():
			return RolePage
		}
		return RolePageRO
	}
	fl := cd.flags[k]
	switch {
	case fl&sfStale != 0:
		return RoleStale
	case e.Present() && !leafLevel && e.Has(mappingBit) && h.hier == HierShadow:
		return RoleMapping
	case e.Present() && h.hier == HierIntermediate && cd.level.Kind == x86.LevelPD && c.inMapping(h.entryVA(cd, k)):
		return RoleMapping
	case e.Present() && !leafLevel:
		return RoleTable
	case e.Present() && fl&sfTrackDirty != 0:
		return RoleTrackDirty
	case e.Present() && e.Writable():
		return RolePage
	case e.Present():
		return RolePageRO
	case h.hier == HierNested || h.hier == HierIntermediate:
		return RoleEmpty
	}
	return c.shadowGap(h, cd, k)
}

// shadowGap says why a shadow entry is not present: the guest has no
// entry there (empty), its entry is not accessed yet (accessed
// emulation), or it simply was not needed yet (synced on demand).
func (c *ctx) shadowGap(h *hierData, cd *card, k int) Role {
	e := c.m.Engine
	gf := e.Format()
	if gf.N == 0 {
		return RoleEmpty
	}
	va := h.entryVA(cd, k)
	if !gf.Canonical(x86.GVA(va)) || !gf.Mode.Long() && va>>32 != 0 {
		return RoleEmpty
	}
	regs := e.Regs()
	var w x86.Walk
	gf.Walk(&c.sc.peek, regs.Root(), x86.GVA(va), x86.Access{Kind: x86.Read}, &w)
	kind := cd.level.Kind
	for j := 0; j < w.N; j++ {
		s := &w.Steps[j]
		if s.Level > kind {
			continue
		}
		if !s.Entry.Present() || gf.Levels[j].Reserved(s.Entry) != 0 {
			return RoleEmpty
		}
		for i := 0; i <= j; i++ {
			if !w.Steps[i].Register && !w.Steps[i].Entry.Accessed() && (w.Steps[i].Leaf || i == j) {
				return RoleAccessTrap
			}
		}
		return RoleNotSynced
	}
	return RoleEmpty
}
