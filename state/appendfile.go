package state

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"golang.org/x/sys/unix"
)

// File and directory modes: state holds addresses and reply texts.
const (
	fileMode = 0o600
	dirMode  = 0o700
)

// appendFile appends whole lines to one shared state file. Several herald
// processes (a cron send, replies serve, replies fetch) append to the same
// files at once: each batch takes an exclusive lock (flock) on a companion
// ".lock" file, stable even when the data file is rewritten and renamed,
// and writes the batch in one write. The lock file stays open, so a batch
// costs one flock and one unlock, not an open and a close as well.
//
// The data file stays open between batches. Its size after our last write
// is remembered, so a batch needs no tail read: when the file has grown
// meanwhile, other processes appended, and the new bytes are read (the
// journal feeds them to its index) and checked for a torn last line, which
// is set aside by starting our batch on a line of its own.
type appendFile struct {
	path   string
	header []byte // written first into a new or empty file (CSV headers)
	what   string // "journal", for errors

	// replaceable: another process may replace the data file with a
	// rewritten one (suppressions), so each batch checks it still has the
	// file at path open. Append-only files skip that stat.
	replaceable bool

	mu   sync.Mutex
	f    *os.File
	lock *os.File
	end  int64 // the file's size after our last write or read; -1 unknown
	// dirty: lines were written that are not synced yet.
	dirty bool
	// written counts successful writes; syncThrough waits until a sync
	// that started after write number n has finished.
	written uint64

	smu     sync.Mutex
	scond   *sync.Cond
	synced  uint64 // every write up to this number is durable
	syncing bool
}

func newAppendFile(path, what string, header []byte) *appendFile {
	a := &appendFile{path: path, what: what, header: header, end: -1}
	a.scond = sync.NewCond(&a.smu)
	return a
}

// syncThrough returns once write number n is durable. Callers that arrive
// while a sync runs wait for it and then share the next one, so a burst of
// attempts costs one fsync, and the writer keeps writing meanwhile: an
// fsync never holds the file's lock.
func (a *appendFile) syncThrough(n uint64) error {
	a.smu.Lock()
	defer a.smu.Unlock()
	for a.synced < n {
		if a.syncing {
			a.scond.Wait()
			continue
		}
		a.syncing = true
		a.mu.Lock()
		f, target := a.f, a.written
		a.mu.Unlock()
		a.smu.Unlock()
		var err error
		if f != nil {
			err = f.Sync()
		}
		a.smu.Lock()
		a.syncing = false
		a.scond.Broadcast()
		if err != nil {
			return &WriteError{What: a.what, Err: fmt.Errorf("syncing %s: %w", a.path, err)}
		}
		a.synced = max(a.synced, target)
	}
	return nil
}

// lockFile takes the exclusive lock; the returned func releases it.
func (a *appendFile) lockFile() (func(), error) {
	if a.lock == nil {
		if err := os.MkdirAll(filepath.Dir(a.path), dirMode); err != nil {
			return nil, fmt.Errorf("creating state directory: %w", err)
		}
		f, err := os.OpenFile(a.path+".lock", os.O_RDWR|os.O_CREATE, fileMode)
		if err != nil {
			return nil, err
		}
		a.lock = f
	}
	fd := int(a.lock.Fd())
	for {
		err := unix.Flock(fd, unix.LOCK_EX)
		if err == nil {
			return func() { unix.Flock(fd, unix.LOCK_UN) }, nil
		}
		if err != unix.EINTR {
			return nil, err
		}
	}
}

// batch runs fn under the lock. others are the complete lines other
// processes appended since our last batch (nil on the first batch, whose
// caller read the whole file already); fn returns the lines to append, and
// they are synced to disk before batch returns.
func (a *appendFile) batch(fn func(others [][]byte) ([][]byte, error)) error {
	return a.batchSync(func(others [][]byte) ([][]byte, bool, error) {
		lines, err := fn(others)
		return lines, true, err
	})
}

// batchSync is batch where fn also says whether this batch must be synced
// before it returns. An unsynced batch is written (a killed process does
// not lose it: it is in the kernel's cache) and becomes durable with the
// next synced batch or with sync.
func (a *appendFile) batchSync(fn func(others [][]byte) (lines [][]byte, sync bool, err error)) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	unlock, err := a.lockFile()
	if err != nil {
		return &WriteError{What: a.what, Err: fmt.Errorf("locking %s: %w", a.path, err)}
	}
	defer unlock()
	if err := a.open(); err != nil {
		return &WriteError{What: a.what, Err: err}
	}
	st, err := a.f.Stat()
	if err != nil {
		return &WriteError{What: a.what, Err: err}
	}
	size := st.Size()
	var others [][]byte
	torn := false
	if a.end < 0 || size < a.end {
		// First batch, or the file was truncated under us: only its last
		// byte matters.
		torn, err = endsTorn(a.f, size)
	} else if size > a.end {
		others, torn, err = readFrom(a.f, a.end, size)
	}
	if err != nil {
		return &WriteError{What: a.what, Err: fmt.Errorf("reading %s: %w", a.path, err)}
	}
	lines, mustSync, err := fn(others)
	if err != nil {
		return err
	}
	a.end = size
	if len(lines) == 0 {
		if mustSync && a.dirty {
			return a.syncLocked()
		}
		return nil
	}
	var buf bytes.Buffer
	switch {
	case size == 0 && len(a.header) > 0:
		buf.Write(a.header)
	case torn:
		buf.WriteByte('\n')
	}
	for _, l := range lines {
		buf.Write(l)
		if len(l) == 0 || l[len(l)-1] != '\n' {
			buf.WriteByte('\n')
		}
	}
	n, werr := a.f.Write(buf.Bytes())
	if werr == nil {
		a.written++
		a.dirty = true
		if mustSync {
			werr = a.f.Sync()
			a.dirty = werr != nil
		}
	}
	if werr != nil {
		// A partial write (disk full) leaves a torn line; the next batch,
		// ours or another process's, sets it aside.
		a.end = -1
		return &WriteError{What: a.what, Err: fmt.Errorf("appending to %s: %w", a.path, werr)}
	}
	a.end = size + int64(n)
	return nil
}

// open opens the data file, or re-opens it when another process replaced
// it (suppress remove rewrites suppressions.csv and renames it into place).
func (a *appendFile) open() error {
	if a.f != nil {
		if !a.replaceable {
			return nil
		}
		open, err1 := a.f.Stat()
		onDisk, err2 := os.Stat(a.path)
		if err1 == nil && err2 == nil && os.SameFile(open, onDisk) {
			return nil
		}
		a.f.Close()
		a.f, a.end = nil, -1
	}
	created := false
	f, err := os.OpenFile(a.path, os.O_RDWR|os.O_APPEND, 0)
	if errors.Is(err, os.ErrNotExist) {
		f, err = os.OpenFile(a.path, os.O_RDWR|os.O_APPEND|os.O_CREATE, fileMode)
		created = true
	}
	if err != nil {
		return fmt.Errorf("opening %s: %w", a.path, err)
	}
	if created {
		// The new name must survive a crash too.
		if err := syncDir(filepath.Dir(a.path)); err != nil {
			f.Close()
			return err
		}
	}
	a.f = f
	return nil
}

// sync makes every line written so far durable.
func (a *appendFile) sync() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.syncLocked()
}

func (a *appendFile) syncLocked() error {
	if a.f == nil || !a.dirty {
		return nil
	}
	if err := a.f.Sync(); err != nil {
		return &WriteError{What: a.what, Err: fmt.Errorf("syncing %s: %w", a.path, err)}
	}
	a.dirty = false
	a.smu.Lock()
	a.synced = max(a.synced, a.written)
	a.smu.Unlock()
	return nil
}

func (a *appendFile) close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.f == nil {
		return nil
	}
	err := a.syncLocked()
	if cerr := a.f.Close(); err == nil {
		err = cerr
	}
	a.f = nil
	if a.lock != nil {
		a.lock.Close()
		a.lock = nil
	}
	return err
}

// endsTorn reports whether a non-empty file's last byte is not a newline.
func endsTorn(f *os.File, size int64) (bool, error) {
	if size == 0 {
		return false, nil
	}
	var last [1]byte
	if _, err := f.ReadAt(last[:], size-1); err != nil {
		return false, err
	}
	return last[0] != '\n', nil
}

// readFrom returns the complete lines in [from, to) and whether the range
// ends in a torn line.
func readFrom(f *os.File, from, to int64) ([][]byte, bool, error) {
	data := make([]byte, to-from)
	if _, err := f.ReadAt(data, from); err != nil && err != io.EOF {
		return nil, false, err
	}
	var lines [][]byte
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			return lines, true, nil
		}
		if i > 0 {
			lines = append(lines, data[:i])
		}
		data = data[i+1:]
	}
	return lines, false, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("syncing %s: %w", dir, err)
	}
	return nil
}

// readLines calls fn for every complete line of a state file, with its
// 1-based line number. A last line without a newline is a write torn by a
// crash, or one still being written, and is not returned. A missing file
// has no lines.
func readLines(path string, fn func(n int, line []byte) error) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 256*1024)
	var long []byte
	for n := 1; ; n++ {
		line, err := r.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			long = append(long[:0], line...)
			for err == bufio.ErrBufferFull {
				line, err = r.ReadSlice('\n')
				long = append(long, line...)
			}
			line = long
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if ferr := fn(n, line[:len(line)-1]); ferr != nil {
			return ferr
		}
	}
}
