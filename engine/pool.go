package engine

import (
	"errors"

	"github.com/pgm-explorer/pgm-explorer/engine/phys"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// Pool indexes: 0 is NIL. As in the later pool-only engine there are no
// fixed root pages; the CPU's CR3 is recorded as the user userCR3.
const (
	nilIdx   uint16 = 0
	userCR3  uint16 = 0xffff // the user of a root table: the shadow CR3
	poolHash        = 64     // buckets of the cache hash, keyed by guest address
	growBy          = 64     // pages added per pool growth
	nilGPA          = ^x86.GPA(0)
)

var errPoolFull = errors.New("shadow pool exhausted")

// poolPage is one shadow table. Entries are kept 64 bits wide whatever the
// shadow format (32-bit tables use the low half); gpas remembers, for
// each present PTE of a page table, which guest page it maps, so that
// dereferencing its tracking needs no search.
type poolPage struct {
	idx  uint16
	kind PoolKind
	hpa  x86.HPA
	key  x86.GPA // the guest address shadowed (table, big-page piece or physical base)
	ents []x86.Entry
	gpas []x86.GPA
	// stale marks directory entries whose guest entry was written since
	// they were last checked (32-bit and PAE shadows resolve guest PDE
	// writes lazily, at invlpg or the next CR3 load, as the original did).
	stale []uint64

	hashNext         uint16
	ageNext, agePrev uint16
	freeNext         uint16
	userHead         uint16 // first user record
	monNext, monPrev uint16 // pages monitoring the same guest page

	present      int // present entries
	firstPresent int // index of the first present entry (entries when none)
	mods         int // monitored writes seen since the last clear

	inUse, cached, monitored, seenNonGlobal bool
	// allocAt and freeAt are 1 + the index of the event that last
	// allocated and last freed the page (0: never) and freedBy is why it
	// was freed: history the engine never reads, kept so that the UI can
	// show which pages changed lately. They survive freePage's reset.
	allocAt, freeAt uint64
	freedBy         FreeCause
	// dirty: the guest page table is temporarily unmonitored (writable);
	// copy is its content then, to find what changed at the resync.
	dirty bool
	copy  *[x86.PageSize]byte
}

// userRec records that entry table of pool page user points at a page.
type userRec struct {
	next  uint16
	user  uint16
	table uint16
}

// physExt is an extent of the GCPhys tracking: up to three shadow page
// tables that map one guest page.
type physExt struct {
	next uint16
	idx  [3]uint16
}

// pool is the shadow page pool.
type pool struct {
	pages []poolPage // [0] unused
	max   int
	host  *phys.Host
	// byFrame[n] is the pool page whose host frame number is n (0: none).
	// A slice, not a map: every level of a shadow walk looks its child
	// up here. Host frame numbers are dense (phys.Host hands them out in
	// order and reuses freed ones), so it costs 2 bytes per host frame
	// up to the highest pool frame.
	byFrame  []uint16
	freeHead uint16
	hash     [poolHash]uint16
	ageHead  uint16 // most recently used
	ageTail  uint16 // eviction candidate
	used     int
	usedHigh int
	present  int // present entries over all page tables

	users    []userRec // [0] unused
	freeUser uint16
	exts     []physExt // [0] unused
	freeExt  uint16

	modified int // pages with mods > 0
}

func (p *pool) init(host *phys.Host, max int) {
	*p = pool{max: max, host: host}
	p.pages = make([]poolPage, 1, max+1)
	nUsers := 2*max + 16
	p.users = make([]userRec, nUsers+1)
	for i := 1; i < nUsers; i++ {
		p.users[i].next = uint16(i + 1)
	}
	p.freeUser = 1
	nExt := max * 2
	p.exts = make([]physExt, nExt+1)
	for i := 1; i < nExt; i++ {
		p.exts[i].next = uint16(i + 1)
	}
	p.freeExt = 1
}

// grow adds up to growBy pages, as the original grew its pool on demand.
func (p *pool) grow() bool {
	n := min(growBy, p.max-(len(p.pages)-1))
	added := 0
	for i := 0; i < n; i++ {
		hpa, err := p.host.Alloc()
		if err != nil {
			break
		}
		idx := uint16(len(p.pages))
		p.pages = append(p.pages, poolPage{idx: idx, kind: KindFree, hpa: hpa, key: nilGPA})
		n := x86.PageNumber(hpa)
		if n >= uint64(len(p.byFrame)) {
			p.byFrame = append(p.byFrame, make([]uint16, n+1-uint64(len(p.byFrame)))...)
		}
		p.byFrame[n] = idx
		pg := &p.pages[idx]
		pg.freeNext = p.freeHead
		p.freeHead = idx
		added++
	}
	return added > 0
}

// page returns the pool page whose host address is hpa, or nil.
func (p *pool) page(hpa x86.HPA) *poolPage {
	if n := x86.PageNumber(hpa); n < uint64(len(p.byFrame)) {
		if idx := p.byFrame[n]; idx != nilIdx {
			return &p.pages[idx]
		}
	}
	return nil
}

// size is the number of pages the pool holds now (free or used).
func (p *pool) size() int { return len(p.pages) - 1 }

func hashOf(key x86.GPA) int { return int(x86.PageNumber(key) % poolHash) }

// --- age list: head is most recent, tail is the eviction candidate ---

func (p *pool) ageUnlink(pg *poolPage) {
	if pg.agePrev != nilIdx {
		p.pages[pg.agePrev].ageNext = pg.ageNext
	} else if p.ageHead == pg.idx {
		p.ageHead = pg.ageNext
	}
	if pg.ageNext != nilIdx {
		p.pages[pg.ageNext].agePrev = pg.agePrev
	} else if p.ageTail == pg.idx {
		p.ageTail = pg.agePrev
	}
	pg.ageNext, pg.agePrev = nilIdx, nilIdx
}

func (p *pool) agePush(pg *poolPage) {
	pg.agePrev, pg.ageNext = nilIdx, p.ageHead
	if p.ageHead != nilIdx {
		p.pages[p.ageHead].agePrev = pg.idx
	}
	p.ageHead = pg.idx
	if p.ageTail == nilIdx {
		p.ageTail = pg.idx
	}
}

// touch moves a page to the head of the age list.
func (p *pool) touch(pg *poolPage) {
	if p.ageHead == pg.idx {
		return
	}
	p.ageUnlink(pg)
	p.agePush(pg)
}

// --- cache hash ---

func (p *pool) hashInsert(pg *poolPage) {
	h := hashOf(pg.key)
	pg.hashNext = p.hash[h]
	p.hash[h] = pg.idx
	pg.cached = true
}

func (p *pool) hashRemove(pg *poolPage) {
	if !pg.cached {
		return
	}
	h := hashOf(pg.key)
	for link := &p.hash[h]; *link != nilIdx; link = &p.pages[*link].hashNext {
		if *link == pg.idx {
			*link = pg.hashNext
			break
		}
	}
	pg.hashNext, pg.cached = nilIdx, false
}

// --- user records ---

func (p *pool) addUser(pg *poolPage, user, table uint16) bool {
	r := p.freeUser
	if r == nilIdx {
		return false
	}
	p.freeUser = p.users[r].next
	p.users[r] = userRec{next: pg.userHead, user: user, table: table}
	pg.userHead = r
	return true
}

// removeUser drops one (user, table) record; it reports whether it existed.
func (p *pool) removeUser(pg *poolPage, user, table uint16) bool {
	for link := &pg.userHead; *link != nilIdx; link = &p.users[*link].next {
		r := *link
		if p.users[r].user == user && p.users[r].table == table {
			*link = p.users[r].next
			p.users[r] = userRec{next: p.freeUser}
			p.freeUser = r
			return true
		}
	}
	return false
}

func (p *pool) userCount(pg *poolPage) int {
	n := 0
	for r := pg.userHead; r != nilIdx; r = p.users[r].next {
		n++
	}
	return n
}
