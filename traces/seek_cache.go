package traces

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/pgm-explorer/pgm-explorer/engine"
)

// The checkpoint cache: a sidecar file (FILE.idx) that keeps a binary
// trace's checkpoints between runs.
//
//	magic    8 bytes "pgmseek\n"
//	version  uint32, little-endian (seekCacheVersion)
//	length   uint32, little-endian: bytes of the index
//	crc      uint32, little-endian: CRC-32C of the index
//	index    uvarints and strings (uvarint length, bytes), in this order:
//	           key: trace size, trace modification time (Unix ns, as
//	             uint64), engine key, MaxCheckpoints, MinInterval,
//	             MaxBytes, offset of the first block
//	           events that replay, interval
//	           damage: kind (0 none, 1 truncated, 2 corrupt, 3 unknown
//	             kind, 4 version, 5 other), message
//	           blobs (compressed states): count, then offset, length,
//	             length uncompressed, CRC-32C of each
//	           checkpoints: count, then for each: event, block offset,
//	             first event of the block, blob of the state,
//	             virtual handlers (count; type, start, size, name),
//	             named snapshots (count; name, blob)
//	blobs    the saved states, at the offsets the index gives
//
// A cache is used only if everything checks: magic, version, CRC, key,
// every count against the bytes left (so no allocation exceeds the
// index's length), every blob inside the file, checkpoints in order.
// Otherwise it is rebuilt. The CRC of a state is checked when a seek
// reads it; a damaged one is dropped (the seek starts from an earlier
// checkpoint) and the cache removed, to be rebuilt at the next open.

const (
	seekCacheMagic   = "pgmseek\n"
	seekCacheVersion = 2 // 2: CRC-32C instead of CRC-32 (IEEE), as the traces
	seekCacheHead    = len(seekCacheMagic) + 12
	// maxCacheIndex bounds the index a cache may declare.
	maxCacheIndex = 64 << 20
)

// syncCaches is off only in the fuzzer, which tests no crashes.
var syncCaches = true

// errCacheDamaged is a state whose bytes in the cache fail their check.
var errCacheDamaged = errors.New("checkpoint cache damaged")

// CacheInfo says where a Seeker's checkpoints live.
type CacheInfo struct {
	Path   string // the cache file; "" when the checkpoints are in memory only
	Reused bool   // the cache was read, not built by this Seeker
	Err    error  // why no cache could be written, if one was wanted
}

type cacheState struct {
	CacheInfo
	f *os.File // open for reading states, or nil
}

func (c *cacheState) close() {
	if c.f != nil {
		c.f.Close()
		c.f = nil
	}
}

// Cache says where the checkpoints live.
func (s *Seeker) Cache() CacheInfo { return s.cache.CacheInfo }

func defaultKey(eng SeekEngine) string {
	k := fmt.Sprintf("%T state v%d", eng, engine.SavedStateVersion)
	if c, ok := eng.(interface{ Config() engine.Config }); ok {
		k += fmt.Sprintf(" %+v", c.Config())
	}
	return k
}

// cachePaths are where the cache may be, in order of preference.
func (s *Seeker) cachePaths() []string {
	if s.opt.CachePath != "" {
		return []string{s.opt.CachePath}
	}
	l := []string{s.path + ".idx"}
	if dir, err := os.UserCacheDir(); err == nil {
		abs, err := filepath.Abs(s.path)
		if err == nil {
			// Only a file name: the key inside a cache (the trace's size and
			// modification time among it) decides whether it is this
			// trace's, so a collision costs a rebuild, never a wrong state.
			// FNV rather than SHA-256 keeps crypto (the whole FIPS module,
			// about 100 KB) out of the browser build.
			h := fnv.New128a()
			h.Write([]byte(abs))
			l = append(l, filepath.Join(dir, "pgm-explorer", "seek", hex.EncodeToString(h.Sum(nil)[:12])+".idx"))
		}
	}
	return l
}

// trailerCount reads the event count of a binary trace's end marker,
// {"events": N}, from the last bytes of the file: a hint to space the
// checkpoints, which the replay checks.
func trailerCount(f *os.File, size int64) (uint64, bool) {
	const marker = "\x81\xa6events"
	var b [len(marker) + 9]byte
	n := int64(len(b))
	if size < n {
		n = size
	}
	if _, err := f.ReadAt(b[:n], size-n); err != nil {
		return 0, false
	}
	tail := b[:n]
	for i := 0; i+len(marker) < len(tail); i++ {
		if string(tail[i:i+len(marker)]) != marker {
			continue
		}
		v := tail[i+len(marker):]
		var w int
		switch c := v[0]; {
		case c <= 0x7f:
			return uint64(c), len(v) == 1
		case c == 0xcc:
			w = 1
		case c == 0xcd:
			w = 2
		case c == 0xce:
			w = 4
		case c == 0xcf:
			w = 8
		default:
			return 0, false
		}
		if len(v) != 1+w {
			continue
		}
		var x uint64
		for _, c := range v[1:] {
			x = x<<8 | uint64(c)
		}
		return x, true
	}
	return 0, false
}

// cacheKey is what a cache must match.
func (s *Seeker) appendKey(b []byte, st os.FileInfo, headerEnd int64) []byte {
	b = appendUvarint(b, uint64(st.Size()))
	b = appendUvarint(b, uint64(st.ModTime().UnixNano()))
	b = appendString(b, s.opt.Key)
	b = appendUvarint(b, uint64(s.opt.MaxCheckpoints))
	b = appendUvarint(b, s.opt.MinInterval)
	b = appendUvarint(b, uint64(s.opt.MaxBytes))
	return appendUvarint(b, uint64(headerEnd))
}

func appendString(b []byte, s string) []byte {
	return append(appendUvarint(b, uint64(len(s))), s...)
}

var damageKinds = []error{nil, ErrTruncated, ErrCorrupt, ErrUnknownKind, ErrVersion}

// storedError is a damage read back from the cache: its message, and
// the sentinel it matched.
type storedError struct {
	msg  string
	kind error
}

func (e *storedError) Error() string { return e.msg }
func (e *storedError) Unwrap() error { return e.kind }

// writeCache writes the checkpoints to the first cache path that takes
// them; then they are read from there and leave memory.
func (s *Seeker) writeCache(st os.FileInfo) {
	kind := 0
	if s.damage != nil {
		kind = 5
		for i, e := range damageKinds[1:] {
			if errors.Is(s.damage, e) {
				kind = i + 1
				break
			}
		}
	}
	var blobs []*blob
	ids := map[*blob]int{}
	id := func(b *blob) int {
		if i, ok := ids[b]; ok {
			return i
		}
		ids[b] = len(blobs)
		blobs = append(blobs, b)
		return len(blobs) - 1
	}
	var cps []byte
	cps = appendUvarint(cps, uint64(len(s.cps)))
	for _, c := range s.cps {
		cps = appendUvarint(cps, c.event)
		cps = appendUvarint(cps, uint64(c.block))
		cps = appendUvarint(cps, c.first)
		cps = appendUvarint(cps, uint64(id(c.state)))
		cps = appendUvarint(cps, uint64(len(c.virt)))
		for _, v := range c.virt {
			cps = appendUvarint(cps, uint64(v.Type))
			cps = appendUvarint(cps, v.Start)
			cps = appendUvarint(cps, v.Size)
			cps = appendString(cps, v.Name)
		}
		cps = appendUvarint(cps, uint64(len(c.snaps)))
		for _, nb := range c.snaps {
			cps = appendString(cps, nb.name)
			cps = appendUvarint(cps, uint64(id(nb.b)))
		}
	}
	idx := s.appendKey(nil, st, s.cps[0].block)
	idx = appendUvarint(idx, s.total)
	idx = appendUvarint(idx, s.interval)
	idx = appendUvarint(idx, uint64(kind))
	msg := ""
	if s.damage != nil {
		msg = s.damage.Error()
	}
	idx = appendString(idx, msg)
	// The offsets depend on the index's length, which depends on them:
	// lay the blobs out from a guess and redo it until it holds.
	for guess := len(idx) + len(cps) + 16*len(blobs); ; {
		off := int64(seekCacheHead + guess)
		b := appendUvarint(slices.Clip(idx), uint64(len(blobs)))
		for _, bl := range blobs {
			bl.off = off
			b = appendUvarint(b, uint64(off))
			b = appendUvarint(b, uint64(bl.n))
			b = appendUvarint(b, uint64(bl.raw))
			b = appendUvarint(b, uint64(bl.sum))
			off += bl.n
		}
		b = append(b, cps...)
		if len(b) == guess {
			idx = b
			break
		}
		guess = len(b)
	}
	var errs []error
	for _, path := range s.cachePaths() {
		err := writeCacheFile(path, idx, blobs)
		if err == nil {
			s.useCache(path, blobs, false)
			return
		}
		errs = append(errs, err)
	}
	s.cache.Err = errors.Join(errs...)
}

func writeCacheFile(path string, idx []byte, blobs []*blob) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	var head [seekCacheHead]byte
	copy(head[:], seekCacheMagic)
	binary.LittleEndian.PutUint32(head[8:], seekCacheVersion)
	binary.LittleEndian.PutUint32(head[12:], uint32(len(idx)))
	binary.LittleEndian.PutUint32(head[16:], crc32.Checksum(idx, castagnoli))
	_, err = tmp.Write(head[:])
	if err == nil {
		_, err = tmp.Write(idx)
	}
	for _, b := range blobs {
		if err == nil {
			_, err = tmp.Write(b.data)
		}
	}
	if err == nil && syncCaches {
		err = tmp.Sync() // before the rename, or a crash may leave an empty cache
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}

// useCache opens the cache at path for reading states, and lets the
// states leave memory (all but checkpoint 0's).
func (s *Seeker) useCache(path string, blobs []*blob, reused bool) {
	f, err := os.Open(path)
	if err != nil {
		s.cache.Err = err
		return
	}
	s.cache.f, s.cache.Path, s.cache.Reused = f, path, reused
	for _, b := range blobs {
		if b != s.cps[0].state {
			b.data = nil
		}
	}
}

// readCache loads the checkpoints from the cache if one matches; cp0 is
// the engine's initial state, which the Seeker keeps in memory.
func (s *Seeker) readCache(st os.FileInfo, cp0 *checkpoint) bool {
	if s.opt.NoCache {
		return false
	}
	for _, path := range s.cachePaths() {
		if blobs, ok := s.readCacheFile(path, st, cp0); ok {
			s.useCache(path, blobs, true)
			return true
		}
	}
	return false
}

// cacheReader reads the index, refusing anything out of bounds.
type cacheReader struct {
	b   []byte
	bad bool
}

func (r *cacheReader) uint() uint64 {
	v, n := uvarint(r.b)
	if n <= 0 {
		r.bad = true
		r.b = nil
		return 0
	}
	r.b = r.b[n:]
	return v
}

// count reads a number of items that each take at least one byte.
func (r *cacheReader) count() int {
	n := r.uint()
	if n > uint64(len(r.b)) {
		r.bad, r.b = true, nil
		return 0
	}
	return int(n)
}

func (r *cacheReader) str() string {
	n := r.count()
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

func (s *Seeker) readCacheFile(path string, st os.FileInfo, cp0 *checkpoint) ([]*blob, bool) {
	c, ok := s.parseCacheFile(path, st, cp0)
	if !ok {
		return nil, false
	}
	s.cps, s.total, s.interval, s.damage = c.cps, c.total, c.interval, c.damage
	return c.blobs, true
}

// cacheContents is what a cache file says, once every check passed.
type cacheContents struct {
	cps             []*checkpoint
	blobs           []*blob
	total, interval uint64
	damage          error
}

// parseCacheFile reads and checks the cache at path; it changes nothing
// in s.
func (s *Seeker) parseCacheFile(path string, st os.FileInfo, cp0 *checkpoint) (*cacheContents, bool) {
	f, err := os.Open(path)
	if err != nil {
		return nil, false
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, false
	}
	size := fi.Size()
	var head [seekCacheHead]byte
	if _, err := io.ReadFull(f, head[:]); err != nil || string(head[:8]) != seekCacheMagic ||
		binary.LittleEndian.Uint32(head[8:]) != seekCacheVersion {
		return nil, false
	}
	n := int64(binary.LittleEndian.Uint32(head[12:]))
	if n > maxCacheIndex || n > size-int64(seekCacheHead) {
		return nil, false
	}
	idx := make([]byte, n)
	if _, err := io.ReadFull(f, idx); err != nil || crc32.Checksum(idx, castagnoli) != binary.LittleEndian.Uint32(head[16:]) {
		return nil, false
	}
	key := s.appendKey(nil, st, cp0.block)
	if len(idx) < len(key) || string(idx[:len(key)]) != string(key) {
		return nil, false
	}
	r := &cacheReader{b: idx[len(key):]}
	total, interval := r.uint(), r.uint()
	kind, msg := r.uint(), r.str()
	blobs := make([]*blob, r.count())
	end := int64(seekCacheHead) + n
	for i := range blobs {
		b := &blob{off: int64(r.uint()), n: int64(r.uint()), raw: int64(r.uint())}
		sum := r.uint()
		b.sum = uint32(sum)
		if b.off != end || b.n <= 0 || b.n > size || b.off > size-b.n || sum > 0xffffffff ||
			b.raw < 0 || b.raw/maxRatio > b.n {
			return nil, false
		}
		blobs[i] = b
		end += b.n
	}
	if end != size {
		return nil, false // the blobs do not fill the file exactly
	}
	blob := func() *blob {
		i := r.uint()
		if i >= uint64(len(blobs)) {
			r.bad = true
			return nil
		}
		return blobs[i]
	}
	ncps := r.count()
	if ncps == 0 || ncps > s.opt.MaxCheckpoints || kind > 5 || interval == 0 {
		return nil, false
	}
	cps := make([]*checkpoint, ncps)
	for i := range cps {
		c := &checkpoint{event: r.uint(), block: int64(r.uint()), first: r.uint()}
		c.state = blob()
		c.virt = make([]virtSpec, r.count())
		for j := range c.virt {
			c.virt[j] = virtSpec{Type: uint8(r.uint()), Start: r.uint(), Size: r.uint(), Name: r.str()}
		}
		c.snaps = make([]namedBlob, r.count())
		for j := range c.snaps {
			c.snaps[j] = namedBlob{name: r.str(), b: blob()}
		}
		switch {
		case r.bad, c.first > c.event, c.event > total, c.block < cp0.block, c.block >= st.Size(),
			i > 0 && c.event <= cps[i-1].event, i == 0 && (c.event != 0 || c.block != cp0.block || c.first != 0):
			return nil, false
		}
		cps[i] = c
	}
	if r.bad || len(r.b) != 0 {
		return nil, false
	}
	// Checkpoint 0 is the engine's initial state, which is in memory:
	// it replaces the cache's copy (they are the same bytes).
	cps[0].state = cp0.state
	c := &cacheContents{cps: cps, blobs: blobs, total: total, interval: interval}
	if kind > 0 {
		var sentinel error
		if kind < uint64(len(damageKinds)) {
			sentinel = damageKinds[kind]
		}
		c.damage = &storedError{msg: msg, kind: sentinel}
	}
	return c, true
}

// cacheDamaged drops checkpoint i, whose state could not be read from the
// cache, and removes the cache so that the next open rebuilds it.
func (s *Seeker) cacheDamaged(i int) {
	s.cps = slices.Delete(s.cps, i, i+1)
	if s.cache.Path != "" {
		os.Remove(s.cache.Path)
	}
}
