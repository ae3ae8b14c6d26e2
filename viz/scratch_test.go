package viz

import (
	"os"
	"testing"
)

func TestScratchRender(t *testing.T) {
	dir := os.Getenv("VIZ_OUT")
	if dir == "" {
		t.Skip("VIZ_OUT not set")
	}
	for _, sc := range []scenario{
		{name: "modes-long", sample: "modes.txt", at: "non-canonical address: #GP, not #PF", view: ViewOverview, w: 1024, h: 640},
		{name: "modes-long-h", sample: "modes.txt", at: "non-canonical address: #GP, not #PF", view: ViewHierarchy, w: 1024, h: 640},
		{name: "boot-32", sample: "boot.txt", at: "the kernel heap at 0xc0800000 is mapped on demand: the first access to a page faults, the handler maps a page, the access is retried", view: ViewHierarchy, w: 1280, h: 800},
		{name: "boot-pae", sample: "boot.txt", at: "the kernel builds 4-level tables for long mode, reusing the PAE page directories, and maps all RAM at 0xffff888000000000 with global 2 MiB pages", view: ViewHierarchy, w: 1280, h: 800},
		{name: "boot-end", sample: "boot.txt", view: ViewOverview, w: 1920, h: 1080},
		{name: "multi-4k", sample: "multiprocess.txt", view: ViewOverview, w: 3840, h: 2160},
		{name: "multi-mem", sample: "multiprocess.txt", view: ViewMemory, w: 1280, h: 800},
		{name: "nested-walk", sample: "modes.txt", at: "non-canonical address: #GP, not #PF", paging: 1, view: ViewWalk, w: 1280, h: 800},
		{name: "real", sample: "modes.txt", at: "5", view: ViewOverview, w: 1024, h: 640},
	} {
		m := replay(t, sc)
		var l List
		Layout(m, &l)
		f, err := os.Create(dir + "/" + sc.name + ".png")
		if err != nil {
			t.Fatal(err)
		}
		if err := RenderPNG(f, &l, l.Width, l.Height); err != nil {
			t.Fatal(err)
		}
		f.Close()
		t.Logf("%s: %d prims, %d quads", sc.name, len(l.Prims), l.Quads())
	}
}
