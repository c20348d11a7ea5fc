package audience

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"unsafe"

	"golang.org/x/sys/unix"
)

// idSet remembers every id seen and the line it was first on, for the
// duplicate check. It is the one part of reading that grows with the
// audience, so it is built for size while staying exact: two different ids
// are never taken for one, whatever their hashes.
//
// Each id is written once, with its line, into an append-only arena of byte
// chunks: uvarint(len(id)), the id bytes, uvarint(line). An open-addressing
// table (linear probing) holds one uint32 per slot: the entry's arena
// reference in the low refBits bits and, above it, the top bits of the
// id's hash as a tag, so a probe reads the arena only when the tag
// matches. refBits grows with the arena (the table is rebuilt when an
// entry's reference does not fit), leaving 7 bits of tag at a million ids:
// a new id then reads the arena about once in 40 adds. A million ids like
// "c-123456" take 8 MB of table (2^21 slots, kept at most 3/4 full) and 12
// MB of arena: 20 MB (TestIDSetMillionMemory), against 28 MB with 64-bit
// slots, 61 MB for the map[string]int of interned ids this replaced, and
// 36 MB for a map[uint64]uint32 from a 64-bit hash of the id to its line.
// That map would also be inexact: for a million ids, odds of about 3e-8
// (n²/2⁶⁵) that two different ids share a hash, and with no id stored the
// reader could not tell, so it would reject a valid row as a "duplicate"
// of an unrelated one.
type idSet struct {
	seed    maphash.Seed
	slots   []uint32 // 0 is empty; otherwise tag<<refBits | (ref+1)
	refBits uint     // at most 32: the arena then holds 4 GiB
	count   int
	limit   int // grow when count reaches it
	chunks  [][]byte
}

const (
	// A reference is chunk index << chunkBits | offset.
	chunkBits = 20
	maxChunk  = 1 << chunkBits // an entry never starts at an offset beyond this
	minChunk  = 4 << 10        // small files get a small arena
	minSlots  = 1 << 10
	// minRefBits leaves 8 bits of tag while the arena is under 16 MB.
	minRefBits = 24
)

// ErrTooManyIDs is returned when the ids of one audience fill the 4 GiB
// the duplicate check can address (hundreds of millions of ids).
var ErrTooManyIDs = errors.New("the audience has more ids than one run can check for duplicates (4 GiB of ids): split it into several files or campaigns")

func (s *idSet) init() {
	s.seed = maphash.MakeSeed()
	s.slots = mapSlots(minSlots)
	s.refBits = minRefBits
	s.limit = minSlots / 4 * 3
}

// add records id at line; when id was already there it returns the first
// line and true.
func (s *idSet) add(id string, line int) (int, bool, error) {
	if s.count >= s.limit {
		s.rebuild(2*len(s.slots), s.refBits)
	}
	h := maphash.String(s.seed, id)
	// The tag is the top bits of the hash and the slot comes from the low
	// bits: independent, so ids that share a slot still differ by tag. (At
	// 32 bits of reference the shifts leave no tag: every probe compares
	// ids.)
	tag := uint32(h>>(32+s.refBits)) << s.refBits
	tagMask := ^uint32(0) << s.refBits
	mask := uint64(len(s.slots) - 1)
	i := h & mask
	for ; s.slots[i] != 0; i = (i + 1) & mask {
		if v := s.slots[i]; v&tagMask == tag {
			if got, first := s.entry(uint64(v&^tagMask) - 1); string(got) == id {
				return first, true, nil
			}
		}
	}
	ref := s.store(id, line) + 1
	if ref < 1<<s.refBits {
		s.slots[i] = tag | uint32(ref)
		s.count++
		return 0, false, nil
	}
	// The arena outgrew the references: take bits from the tag and rebuild
	// the table, which inserts every entry of the arena, this one included.
	bits := s.refBits
	for ref >= 1<<bits {
		bits++
	}
	if bits > 32 {
		return 0, false, ErrTooManyIDs
	}
	s.rebuild(len(s.slots), bits)
	s.count++
	return 0, false, nil
}

// store appends an entry to the arena and returns its reference.
func (s *idSet) store(id string, line int) uint64 {
	size := 2*binary.MaxVarintLen64 + len(id)
	last := len(s.chunks) - 1
	if last < 0 || cap(s.chunks[last])-len(s.chunks[last]) < size || len(s.chunks[last]) >= maxChunk {
		// Chunks double up to maxChunk; an id too long for one gets a
		// chunk of its own, where it starts at offset 0 like any entry of
		// a new chunk. No entry starts at maxChunk or beyond, so offsets
		// always fit in chunkBits.
		n := minChunk
		if last >= 0 {
			n = min(2*cap(s.chunks[last]), maxChunk)
		}
		s.chunks = append(s.chunks, mapBytes(max(n, size))[:0])
		last++
	}
	c := s.chunks[last]
	ref := uint64(last)<<chunkBits | uint64(len(c))
	c = binary.AppendUvarint(c, uint64(len(id)))
	c = append(c, id...)
	c = binary.AppendUvarint(c, uint64(line))
	s.chunks[last] = c
	return ref
}

// entry decodes the id and line stored at ref. The id is returned as the
// arena's bytes: add compares it with string(got) == id, which the compiler
// does without copying.
func (s *idSet) entry(ref uint64) ([]byte, int) {
	c := s.chunks[ref>>chunkBits][ref&(1<<chunkBits-1):]
	n, w := binary.Uvarint(c)
	id := c[w : w+int(n)]
	line, _ := binary.Uvarint(c[w+int(n):])
	return id, int(line)
}

// rebuild makes a table of size slots whose references have refBits bits
// and re-inserts every entry, walking the arena in the order the ids came
// (sequential reads) and hashing them again, which costs far less than
// keeping the full hash in every slot.
func (s *idSet) rebuild(size int, refBits uint) {
	slots := mapSlots(size)
	mask := uint64(len(slots) - 1)
	for ci, c := range s.chunks {
		for off := 0; off < len(c); {
			ref := uint64(ci)<<chunkBits | uint64(off)
			n, w := binary.Uvarint(c[off:])
			id := c[off+w : off+w+int(n)]
			_, lw := binary.Uvarint(c[off+w+int(n):])
			off += w + int(n) + lw
			h := maphash.Bytes(s.seed, id)
			i := h & mask
			for slots[i] != 0 {
				i = (i + 1) & mask
			}
			slots[i] = uint32(h>>(32+refBits))<<refBits | uint32(ref+1)
		}
	}
	unmapSlots(s.slots)
	s.slots, s.refBits = slots, refBits
	s.limit = len(slots) / 4 * 3
}

// free hands the set's memory back; the set is empty and unusable after.
func (s *idSet) free() {
	unmapSlots(s.slots)
	for _, c := range s.chunks {
		unmapBytes(c[:cap(c)])
	}
	*s = idSet{}
}

// The table and the arena live outside the Go heap, in anonymous memory
// mappings. They hold no pointers, so the collector has nothing to find
// there; kept in the heap, their 20 MB at a million ids counted as live
// data, and with GOGC the heap was allowed to grow by half of that again
// in garbage before each collection. Outside, the heap's target follows
// only what reading and planning keep, and the peak memory of a
// million-row `plan` drops by about that half.
func mapBytes(n int) []byte {
	b, err := unix.Mmap(-1, 0, n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		panic(fmt.Sprintf("audience: mapping %d bytes for the duplicate-id check: %v", n, err))
	}
	return b
}

func unmapBytes(b []byte) {
	if len(b) > 0 {
		_ = unix.Munmap(b)
	}
}

func mapSlots(n int) []uint32 {
	b := mapBytes(4 * n)
	return unsafe.Slice((*uint32)(unsafe.Pointer(unsafe.SliceData(b))), n)
}

func unmapSlots(s []uint32) {
	if len(s) > 0 {
		unmapBytes(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), 4*len(s)))
	}
}
