package vm

import (
	"bytes"
	"strconv"
	"testing"
)

// TestWriteCPIO reads the archive back field by field: the kernel's
// unpacker wants exactly this layout (newc, 4-byte alignment, a trailer).
func TestWriteCPIO(t *testing.T) {
	var b bytes.Buffer
	err := WriteCPIO(&b, []CPIOFile{
		{Name: "dev", Mode: ModeDir | 0o755},
		{Name: "dev/console", Mode: ModeChar | 0o600, RdevMajor: 5, RdevMinor: 1},
		{Name: "init", Mode: ModeFile | 0o755, Data: []byte("#!/bin/sh\n")},
	})
	if err != nil {
		t.Fatal(err)
	}
	data := b.Bytes()
	type entry struct {
		name       string
		mode, size uint64
		maj, min   uint64
		body       string
	}
	var got []entry
	for len(data) > 0 {
		if len(data) < 110 || string(data[:6]) != "070701" {
			t.Fatalf("bad header at %d", b.Len()-len(data))
		}
		field := func(i int) uint64 {
			v, err := strconv.ParseUint(string(data[6+8*i:14+8*i]), 16, 32)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
		e := entry{mode: field(1), size: field(6), maj: field(9), min: field(10)}
		namesize := int(field(11))
		e.name = string(data[110 : 110+namesize-1])
		off := (110 + namesize + 3) &^ 3
		e.body = string(data[off : off+int(e.size)])
		data = data[(off+int(e.size)+3)&^3:]
		got = append(got, e)
	}
	want := []entry{
		{"dev", ModeDir | 0o755, 0, 0, 0, ""},
		{"dev/console", ModeChar | 0o600, 0, 5, 1, ""},
		{"init", ModeFile | 0o755, 10, 0, 0, "#!/bin/sh\n"},
		{"TRAILER!!!", 0, 0, 0, 0, ""},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("entry %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	if err := WriteCPIO(&b, []CPIOFile{{Name: "/abs"}}); err == nil {
		t.Error("an absolute name was written")
	}
}
