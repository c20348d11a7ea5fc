package replies

import (
	"bytes"
	"os"
	"runtime/debug"

	"golang.org/x/sys/unix"
)

// journalMap is the journal file mapped read-only, so that reading back
// the send a webhook answers is a memory copy rather than a pread: a system
// call per webhook was a measurable share of `replies serve`'s CPU. The
// mapping reaches past the file's end so that an appending journal is
// remapped only now and then; only bytes already indexed (below the
// index's offset, so within the file) are ever read.
//
// A journal is only appended to or replaced, never truncated in place, but
// if it were, reading a page past its new end would fault (SIGBUS): the
// read is done with the runtime told to panic on faults, and a fault is a
// miss, as an unreadable line is.
type journalMap struct {
	data []byte // nil: not mapped, read with pread
}

// cover maps f so that its first size bytes are readable, remapping when
// the present mapping is shorter. ok is false when it cannot map (the
// caller reads with pread instead).
func (m *journalMap) cover(f *os.File, size int64) bool {
	if int64(len(m.data)) >= size {
		return m.data != nil
	}
	m.unmap()
	if size <= 0 {
		return false
	}
	// Room for a quarter more, at least 4 MB, before the next remap.
	length := size + max(size/4, 4<<20)
	if int64(int(length)) != length {
		return false // larger than this platform maps
	}
	data, err := unix.Mmap(int(f.Fd()), 0, int(length), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return false
	}
	m.data = data
	return true
}

func (m *journalMap) unmap() {
	if m.data != nil {
		unix.Munmap(m.data)
		m.data = nil
	}
}

// decodeLine decodes with decode the line that starts at off, reading no
// further than end; ok is false when no newline comes before end, or the
// file shrank under the mapping. decode must copy what it keeps: the line
// is the mapping itself.
func (m *journalMap) decodeLine(off, end int64, decode func([]byte) (sendRef, bool)) (e sendRef, ok bool) {
	if off < 0 || off >= end || end > int64(len(m.data)) {
		return sendRef{}, false
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			if _, fault := r.(interface{ Addr() uintptr }); !fault {
				panic(r)
			}
			e, ok = sendRef{}, false
		}
	}()
	rest := m.data[off:end]
	i := bytes.IndexByte(rest, '\n')
	if i < 0 {
		return sendRef{}, false
	}
	return decode(rest[:i+1])
}
