package app

import (
	"slices"
	"strconv"
	"strings"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/traces/samples"
	"github.com/pgm-explorer/pgm-explorer/traces/workload"
	"github.com/pgm-explorer/pgm-explorer/viz"
)

// The scenario picker.

type pickKind uint8

const (
	pickSample pickKind = iota
	pickWorkload
	pickFile
	pickHost
	pickPaging
	pickPool
	pickReplay
)

type pickItem struct {
	kind  pickKind
	name  string
	label string
	note  string
}

type picker struct {
	items []pickItem
	sel   int
	rects []viz.Rect
	ovr   Overrides // the configuration being chosen
}

var poolSizes = []int{16, 32, 64, 128, 256, 512, 1024, 4096}

func (a *App) openPicker() {
	pk := &picker{ovr: a.p.ovr}
	add := func(k pickKind, name, label, note string) {
		pk.items = append(pk.items, pickItem{k, name, label, note})
	}
	add(pickSample, "modes-tour.txt", "Guided tour of the paging modes", "every x86 paging mode, shadow and nested paging, today's MMU")
	for _, n := range samples.Names() {
		switch {
		case n == "modes-tour.txt":
		case n == "x86-modern.txt":
			add(pickSample, n, n, "a real x86 kernel in Unicorn: PCIDs, SMEP, SMAP, key faults")
		case strings.HasPrefix(n, "x86-"):
			// make x86-samples: the browser cannot run the emulator.
			add(pickSample, n, n, "a real x86 guest's run in Unicorn, recorded")
		case n == "linux.txt":
			// make linux-sample: a QEMU core imported.
			add(pickSample, n, n, "Debian Linux 6.1 under QEMU: 5-level paging, SMEP, SMAP, keys")
		default:
			add(pickSample, n, n, "sample trace")
		}
	}
	for _, n := range workload.Names() {
		info, _ := workload.Describe(n)
		var ps []string
		for _, p := range info.Params {
			ps = append(ps, p.Name+"="+p.Default)
		}
		add(pickWorkload, n, n+" (live)", "seed=1 "+strings.Join(ps, " "))
		if n == "multiprocess" {
			// Today's MMU on a long run: the parameters are easy to miss
			// at the end of a long line.
			add(pickWorkload, n, n+", PCIDs, SMAP (live)", "seed=1 pcid=true smap=true")
		}
	}
	add(pickFile, "", "Open a trace file…", "text or binary; read here, never uploaded")
	add(pickHost, "", "Host paging mode", "")
	add(pickPaging, "", "Paging", "")
	add(pickPool, "", "Shadow pool size", "")
	add(pickReplay, "", "Replay this scenario with this configuration", "")
	for i, it := range pk.items {
		if it.kind == pickSample && it.name == a.p.src.Sample || it.kind == pickWorkload && it.name == a.p.src.Workload {
			pk.sel = i
			break
		}
	}
	a.picker, a.help, a.prompt = pk, false, nil
	a.dirty = true
}

func (a *App) pickerKey(k Key) {
	pk := a.picker
	it := pk.items[pk.sel]
	switch k {
	case KeyEscape:
		a.picker = nil
	case KeyUp:
		pk.sel = (pk.sel + len(pk.items) - 1) % len(pk.items)
	case KeyDown, KeyTab:
		pk.sel = (pk.sel + 1) % len(pk.items)
	case KeyLeft, KeyRight:
		d := 1
		if k == KeyLeft {
			d = -1
		}
		pk.cycle(it.kind, d, a.p.cfg)
	case KeyEnter:
		a.pick(pk.sel)
	}
	a.dirty = true
}

// cycle changes a configuration row by d steps.
func (pk *picker) cycle(k pickKind, d int, cur engine.Config) {
	wrap := func(i, n int) int { return ((i % n) + n) % n }
	switch k {
	case pickHost:
		names := engine.HostModeNames()
		h := pk.ovr.Host
		if h == engine.HostInvalid {
			h = cur.Host
		}
		i := slices.Index(names, h.TraceName())
		m, err := engine.ParseHostMode(names[wrap(i+d, len(names))])
		if err == nil {
			pk.ovr.Host = m
		}
	case pickPaging:
		p := cur.Paging
		if pk.ovr.PagingSet {
			p = pk.ovr.Paging
		}
		pk.ovr.Paging, pk.ovr.PagingSet = engine.Paging(wrap(int(p)+d, 3)), true
	case pickPool:
		n := pk.ovr.Pool
		if n == 0 {
			n = cur.PoolPages
		}
		i := slices.IndexFunc(poolSizes, func(s int) bool { return s >= n })
		if i < 0 {
			i = len(poolSizes) - 1
		}
		pk.ovr.Pool = poolSizes[wrap(i+d, len(poolSizes))]
	}
}

func (a *App) pick(i int) {
	pk := a.picker
	it := pk.items[i]
	switch it.kind {
	case pickSample:
		a.picker = nil
		st := a.State()
		st.Source, st.Event, st.HasVA, st.Overrides = Source{Sample: it.name}, 0, false, Overrides{}
		if a.Open(st) == nil {
			a.p.playing = true
		}
	case pickWorkload:
		a.picker = nil
		a.prompt = &prompt{kind: promptParams, wl: it.name, text: it.note,
			title: "Run the workload " + it.name + " with",
			hint:  "seed and parameters as NAME=VALUE · Enter to run · Esc to cancel"}
	case pickFile:
		a.picker = nil
		a.OpenFile()
	case pickHost, pickPaging, pickPool:
		pk.sel = i
		pk.cycle(it.kind, 1, a.p.cfg)
	case pickReplay:
		a.picker = nil
		a.Reconfigure(pk.ovr)
	}
	a.dirty = true
}

// configValue is what a configuration row shows.
func (pk *picker) configValue(k pickKind, cur engine.Config) string {
	c := applyOverrides(cur, pk.ovr)
	switch k {
	case pickHost:
		return c.Host.TraceName()
	case pickPaging:
		return c.Paging.String()
	case pickPool:
		return strconv.Itoa(c.PoolPages) + " pages"
	}
	return ""
}
