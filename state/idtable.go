package state

import "hash/maphash"

// idTable maps recipient ids to a recState exactly (no hash can make two
// recipients one), compactly: the id bytes live in one arena, and the
// open-addressing table holds 12 bytes per slot, so a million recipients
// take about 30 MB instead of a Go map's 70+ MB of strings and buckets.
type idTable struct {
	seed  maphash.Seed
	arena []byte
	slots []idSlot // power-of-two length; off == 0 means empty
	n     int
}

type idSlot struct {
	off  uint32 // 1 + the id's offset in arena (0: empty slot)
	len  uint16
	hash uint16 // a few hash bits to skip most mismatches without reading the arena
	val  recState
}

// maxIDLen bounds what the table stores; audience ids are limited far
// below this (SPEC 4: fields over 64 KiB are refused).
const maxIDLen = 1<<16 - 1

func newIDTable() *idTable {
	return &idTable{seed: maphash.MakeSeed(), slots: make([]idSlot, 1024)}
}

func (t *idTable) find(id string) (slot *idSlot, h uint64) {
	h = maphash.String(t.seed, id)
	mask := uint64(len(t.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.off == 0 {
			return s, h
		}
		if s.hash == uint16(h>>48) && int(s.len) == len(id) && string(t.arena[s.off-1:s.off-1+uint32(s.len)]) == id {
			return s, h
		}
	}
}

// get returns the state of id (zero when unknown).
func (t *idTable) get(id string) recState {
	if len(id) > maxIDLen {
		return recState{}
	}
	s, _ := t.find(id)
	return s.val
}

// set stores the state of id.
func (t *idTable) set(id string, v recState) {
	if len(id) > maxIDLen {
		return // cannot be an audience id
	}
	s, h := t.find(id)
	if s.off != 0 {
		s.val = v
		return
	}
	if (t.n+1)*4 > len(t.slots)*3 {
		t.grow()
		s, h = t.find(id)
	}
	off := len(t.arena)
	t.arena = append(t.arena, id...)
	*s = idSlot{off: uint32(off + 1), len: uint16(len(id)), hash: uint16(h >> 48), val: v}
	t.n++
}

func (t *idTable) grow() {
	old := t.slots
	t.slots = make([]idSlot, 2*len(old))
	mask := uint64(len(t.slots) - 1)
	for _, s := range old {
		if s.off == 0 {
			continue
		}
		h := maphash.Bytes(t.seed, t.arena[s.off-1:s.off-1+uint32(s.len)])
		i := h & mask
		for t.slots[i].off != 0 {
			i = (i + 1) & mask
		}
		t.slots[i] = s
	}
}
