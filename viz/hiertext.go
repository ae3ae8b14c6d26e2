package viz

import (
	"slices"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// The hierarchy panel's words and columns: titles, headings and card
// headers, which hierPanel and cardHeader place (cutting or leaving out
// what does not fit), and the levels the columns show. Nothing here
// draws or reads the engine.

// hierTitle is the panel's title for the bands it shows.
func hierTitle(nested, withGuest, withInter bool) string {
	switch {
	case nested && withGuest:
		return "Page tables: the guest's, and the nested tables that map guest-physical memory"
	case withGuest && withInter:
		return "Page tables: the guest's, the shadow tables built from them, and the hypervisor's own"
	case withInter:
		return "The hypervisor's tables: shadow directories with the mapping entries, and the intermediate context"
	}
	return "Page tables: the guest's, and the shadow tables the hypervisor builds from them"
}

// appendHierHint writes the key beside the title: how to read the grids
// for the selected linear address va, and the guest-shadow links when
// they are drawn (shadow paging, guest band shown).
func appendHierHint(b []byte, va x86.GVA, links bool) []byte {
	b = append(b, "one square = one entry · outlined: the entries "...)
	b = appendHex(b, uint64(va))
	b = append(b, " uses"...)
	if links {
		b = append(b, " · orange line: guest entry ↔ its shadow"...)
	}
	return b
}

// hierLegend is the roles the legend explains: all of them under shadow
// paging; under nested paging those nested tables have, and the
// hypervisor's mappings when the intermediate band shows them.
func hierLegend(nested, withInter bool) []Role {
	if !nested {
		return []Role{RoleTable, RolePage, RolePageRO, RoleBigPage, RoleTrackDirty, RoleAccessTrap, RoleNotSynced, RoleStale, RoleMapping, RoleBad}
	}
	roles := []Role{RoleTable, RolePage, RolePageRO, RoleBigPage, RoleBad}
	if withInter {
		roles = append(roles, RoleMapping)
	}
	return roles
}

// unionKinds appends to dst[:0] the levels of the formats (nil ones
// skipped), each once, top level first: the columns of the hierarchy
// and the rows of the walk.
func unionKinds(dst []x86.LevelKind, fs ...*x86.Format) []x86.LevelKind {
	kinds := dst[:0]
	for _, f := range fs {
		if f == nil {
			continue
		}
		for i := 0; i < f.N; i++ {
			if !slices.Contains(kinds, f.Levels[i].Kind) {
				kinds = append(kinds, f.Levels[i].Kind)
			}
		}
	}
	slices.SortFunc(kinds, func(a, b x86.LevelKind) int { return int(b) - int(a) })
	return kinds
}

// appendColumnHeading heads a level's column: "PD · bits 29–21".
func appendColumnHeading(b []byte, k x86.LevelKind, lv *x86.Level) []byte {
	b = append(b, k.String()...)
	b = append(b, " · bits "...)
	b = appendUint(b, uint64(lv.Shift)+uint64(lv.IndexBits)-1)
	b = append(b, "–"...)
	return appendUint(b, uint64(lv.Shift))
}

// appendGuestBandTitle heads the guest's band: where CR3 points.
func appendGuestBandTitle(b []byte, root uint64) []byte {
	b = append(b, "Guest page tables (in guest memory) · CR3 → "...)
	return appendHex(b, root)
}

// appendShadowBandTitle heads the band of shadow (or nested) tables,
// with the root table's address when there is one.
func appendShadowBandTitle(b []byte, nested, hasRoot bool, root uint64) []byte {
	if nested {
		b = append(b, "Nested page tables (in the pool) · guest-physical → host-physical"...)
	} else {
		b = append(b, "Shadow page tables (in the pool) · the CPU really uses these"...)
	}
	if hasRoot {
		b = append(b, " · root "...)
		b = appendHex(b, root)
	}
	return b
}

// appendInterBandTitle heads the intermediate context's band: its mode,
// root and where the hypervisor (the world switcher) runs.
func appendInterBandTitle(b []byte, m x86.Mode, root x86.HPA, hv x86.GVA) []byte {
	b = append(b, "Intermediate context ("...)
	b = append(b, m.String()...)
	b = append(b, ", the world switch's tables) · root "...)
	b = appendHex(b, uint64(root))
	b = append(b, " · the hypervisor at "...)
	return appendHex(b, uint64(hv))
}

// appendCardAddr names a card's table by its address, or for the guest's
// PAE top level, by the PDPTE registers that hold it.
func appendCardAddr(b []byte, hier Hier, cd *card) []byte {
	if cd.level.Register && hier == HierGuest {
		return append(b, "PDPTE registers"...)
	}
	return appendHex(b, cd.addr)
}

// appendCardCount counts a card's present entries ("· 3/512"), or says
// that a guest table has no memory behind it.
func appendCardCount(b []byte, cd *card) []byte {
	if cd.mmio {
		return append(b, "· no RAM behind it"...)
	}
	b = append(b, "· "...)
	b = appendUint(b, uint64(cd.present))
	b = append(b, '/')
	return appendUint(b, uint64(cd.n))
}

// appendCardKind names what the pool holds in a shadow or nested card's
// table ("· PAE_PD_FOR_32BIT_PD"); nothing for guest tables and tables
// of no known kind.
func appendCardKind(b []byte, hier Hier, kind engine.PoolKind) []byte {
	if hier == HierGuest || kind == engine.KindInvalid {
		return b
	}
	b = append(b, "· "...)
	return append(b, kind.String()...)
}
