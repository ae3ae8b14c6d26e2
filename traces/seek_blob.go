package traces

import (
	"bytes"
	"compress/flate"
	"fmt"
	"hash/crc32"
	"io"
	"strconv"
	"sync"
)

// Saved states are kept compressed (DEFLATE at its fastest level): a
// state is mostly guest pages, page tables and data, which shrink about
// five times, in about as much time as the engine takes to save them.
// While checkpoints are built, a goroutine compresses them alongside the
// replay, so that on two cores the compression costs almost nothing.

// blob is a saved state, compressed, in memory or in the cache file.
type blob struct {
	data []byte // compressed; nil when in the cache
	raw  int64  // length uncompressed
	off  int64  // in the cache file
	n    int64  // length compressed
	sum  uint32 // CRC-32C of the compressed bytes, checked when read from the cache
	// ready is closed once data, n and sum are set (nil: they are).
	ready chan struct{}
}

// done reports whether the blob is compressed, without waiting.
func (b *blob) done() bool {
	if b.ready == nil {
		return true
	}
	select {
	case <-b.ready:
		return true
	default:
		return false
	}
}

// maxRatio bounds how much a DEFLATE stream can expand (about 1032 to 1),
// so that a length read from the cache is checked before use.
const maxRatio = 1032

// packer compresses states on a goroutine of its own. At most one state
// waits while another is compressed, so that the uncompressed states in
// flight are bounded.
type packer struct {
	jobs chan packJob
	wg   sync.WaitGroup
}

type packJob struct {
	b   *blob
	raw []byte
}

func startPacker() *packer {
	p := &packer{jobs: make(chan packJob, 1)}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		var c compressor
		for j := range p.jobs {
			c.pack(j.b, j.raw)
			close(j.b.ready)
		}
	}()
	return p
}

// stop waits until every state sent is compressed.
func (p *packer) stop() {
	close(p.jobs)
	p.wg.Wait()
}

type compressor struct {
	w   *flate.Writer
	buf bytes.Buffer
}

func (c *compressor) pack(b *blob, raw []byte) {
	c.buf.Reset()
	if c.w == nil {
		c.w, _ = flate.NewWriter(&c.buf, flate.BestSpeed) // the level is valid: no error
	} else {
		c.w.Reset(&c.buf)
	}
	c.w.Write(raw) // writes to a bytes.Buffer do not fail
	c.w.Close()
	b.data = bytes.Clone(c.buf.Bytes())
	b.n = int64(len(b.data))
	b.sum = crc32.Checksum(b.data, castagnoli)
}

// save saves the engine's state into a blob, compressed by the packer
// when one runs and at once otherwise.
func (s *Seeker) save() (*blob, error) {
	var raw bytes.Buffer
	if err := SaveState(&raw, s.eng); err != nil {
		return nil, fmt.Errorf("seek %s: saving the engine's state: %w", s.path, err)
	}
	b := &blob{raw: int64(raw.Len())}
	if s.packer == nil {
		var c compressor
		c.pack(b, raw.Bytes())
		return b, nil
	}
	b.ready = make(chan struct{})
	s.packer.jobs <- packJob{b, raw.Bytes()}
	return b, nil
}

// bytesHeld is the size of the distinct states the checkpoints and the
// live snapshots hold: compressed, or uncompressed while they wait.
func (s *Seeker) bytesHeld(live map[string]*blob) int64 {
	seen := map[*blob]bool{}
	var n int64
	add := func(b *blob) {
		if seen[b] {
			return
		}
		seen[b] = true
		if b.done() {
			n += b.n
		} else {
			n += b.raw
		}
	}
	for _, c := range s.cps {
		add(c.state)
		for _, nb := range c.snaps {
			add(nb.b)
		}
	}
	for _, b := range live {
		add(b)
	}
	return n
}

// overBudget reports whether the states held take more than MaxBytes,
// once those being compressed are (it waits for them rather than count
// them uncompressed).
func (s *Seeker) overBudget(live map[string]*blob) bool {
	if s.bytesHeld(live) <= s.opt.MaxBytes {
		return false
	}
	wait := func(b *blob) {
		if b.ready != nil {
			<-b.ready
		}
	}
	for _, c := range s.cps {
		wait(c.state)
		for _, nb := range c.snaps {
			wait(nb.b)
		}
	}
	for _, b := range live {
		wait(b)
	}
	return s.bytesHeld(live) > s.opt.MaxBytes
}

// unpacker decompresses the state a seek loads, into a buffer it reuses.
type unpacker struct {
	r   io.ReadCloser
	in  []byte // compressed bytes read from the cache
	out bytes.Buffer
}

// bytesOf is a state's bytes, uncompressed, read from the cache if need
// be and checked. They stay valid until the next call.
func (s *Seeker) bytesOf(b *blob) ([]byte, error) {
	u := &s.unpack
	data := b.data
	if data == nil {
		if s.cache.f == nil {
			return nil, fmt.Errorf("%w: the cache is closed", errCacheDamaged)
		}
		if int64(cap(u.in)) < b.n {
			u.in = make([]byte, b.n)
		}
		data = u.in[:b.n]
		if _, err := s.cache.f.ReadAt(data, b.off); err != nil {
			return nil, fmt.Errorf("%w: %s: reading %d bytes at %d: %v", errCacheDamaged, s.cache.Path, b.n, b.off, err)
		}
		if crc32.Checksum(data, castagnoli) != b.sum {
			return nil, fmt.Errorf("%w: %s: bad checksum of the state at byte %s", errCacheDamaged, s.cache.Path, strconv.FormatInt(b.off, 10))
		}
	}
	if u.r == nil {
		u.r = flate.NewReader(bytes.NewReader(data))
	} else {
		u.r.(flate.Resetter).Reset(bytes.NewReader(data), nil)
	}
	u.out.Reset()
	// Read one byte more than announced, to catch a longer stream; the
	// buffer grows with what is really there, not with the claim.
	n, err := u.out.ReadFrom(io.LimitReader(u.r, b.raw+1))
	if err != nil || n != b.raw {
		return nil, fmt.Errorf("%w: the state at byte %d does not decompress to %d bytes (%d, %v)", errCacheDamaged, b.off, b.raw, n, err)
	}
	return u.out.Bytes(), nil
}
