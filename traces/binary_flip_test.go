package traces

import (
	"bytes"
	"errors"
	"reflect"
	"slices"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine"
)

// TestBinaryEveryBitFlip flips each bit of a version 2 trace in turn,
// header, blocks and end marker: every flip is an error, and none yields
// a trace that reads differently. (The writer leaves no padding, so no
// flip is harmless.) Damage inside a block is named as that block's and
// nothing of the block is returned.
func TestBinaryEveryBitFlip(t *testing.T) {
	h, evs, err := ReadTextFile("testdata/allkinds.txt")
	if err != nil {
		t.Fatal(err)
	}
	h.Meta = map[string]string{"note": "flip me"}
	// Small blocks, so that damage in one is seen to spare the ones
	// before it, and a trace small enough to flip every bit of it.
	many := append(slices.Clone(evs), evs...)
	var buf bytes.Buffer
	w := NewBinaryWriter(&buf)
	w.target = 200
	if err := w.WriteHeader(h); err != nil {
		t.Fatal(err)
	}
	for _, ev := range many {
		if err := w.WriteEvent(ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	hdr, ends, blocks, blockOf := eventBlocks(t, data)
	if len(blocks) < 4 {
		t.Fatalf("%d blocks; want several", len(blocks))
	}
	// first[k] is the index of block k's first event.
	first := make([]int, len(blocks))
	for i := len(blockOf) - 1; i >= 0; i-- {
		first[blockOf[i]] = i
	}
	offsets := make([]int, len(data))
	for i := range offsets {
		offsets[i] = i
	}
	checksums := 0
	for _, i := range offsets {
		for bit := range 8 {
			d := bytes.Clone(data)
			d[i] ^= 1 << bit
			h2, got, err := decodeBinary(d, "flip", len(many)+1)
			if err == nil {
				if reflect.DeepEqual(h2, h) && reflect.DeepEqual(got, many) {
					t.Fatalf("byte %d bit %d: flipped, and the trace reads the same (padding?)", i, bit)
				}
				t.Fatalf("byte %d bit %d: the damage went unnoticed (%d events)", i, bit, len(got))
			}
			if !slicesPrefix(got, many) {
				t.Fatalf("byte %d bit %d: %v, after %d events that differ from the trace's", i, bit, err, len(got))
			}
			if int64(i) >= hdr && int64(i) < ends[len(ends)-1] {
				// In a block: none of its events may be returned. (A
				// block's bin8 header and checksum precede its events.)
				k := 0
				for k+1 < len(blocks) && blocks[k+1]-blockSumBytes-2 <= int64(i) {
					k++
				}
				if len(got) > first[k] {
					t.Fatalf("byte %d bit %d (block %d, events from %d): %d events returned, %v", i, bit, k, first[k], len(got), err)
				}
			}
			if errors.Is(err, ErrChecksum) {
				checksums++
			}
		}
	}
	t.Logf("%d flips in %d bytes, all detected (%d by a checksum)", len(offsets)*8, len(data), checksums)
}

func slicesPrefix(got, all []engine.Event) bool {
	return len(got) == 0 || len(got) <= len(all) && reflect.DeepEqual(got, all[:len(got)])
}
