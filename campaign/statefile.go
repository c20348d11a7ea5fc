package campaign

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/gofrs/flock"
)

// AppendLines appends whole lines to a shared state file under an exclusive
// lock and syncs them to disk before returning. Several herald processes (a
// cron send, replies serve, replies fetch) append to the same files at once:
// the lock keeps their lines from interleaving, and one write per batch keeps
// a crash from leaving more than the last line torn.
//
// If a crash left the file ending in a torn line, a newline is written first
// so the new lines stay whole; readers skip the torn fragment. header, when
// non-empty, is written first if the file is new or empty (CSV headers).
func AppendLines(path string, header []byte, lines [][]byte) error {
	if len(lines) == 0 {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("creating state directory: %w", err)
	}
	lock := flock.New(path + ".lock")
	if err := lock.Lock(); err != nil {
		return fmt.Errorf("locking %s: %w", path, err)
	}
	defer lock.Unlock()

	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("opening %s: %w", path, err)
	}
	defer f.Close()
	var buf bytes.Buffer
	size, needsNewline, err := tail(path)
	if err != nil {
		return err
	}
	if size == 0 && len(header) > 0 {
		buf.Write(header)
	} else if needsNewline {
		buf.WriteByte('\n')
	}
	for _, l := range lines {
		buf.Write(l)
		if len(l) == 0 || l[len(l)-1] != '\n' {
			buf.WriteByte('\n')
		}
	}
	if _, err := f.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("appending to %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("syncing %s: %w", path, err)
	}
	return f.Close()
}

// tail reports the file's size and whether its last byte is not a newline.
func tail(path string) (int64, bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, false, fmt.Errorf("opening %s: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || st.Size() == 0 {
		return 0, false, err
	}
	last := make([]byte, 1)
	if _, err := f.ReadAt(last, st.Size()-1); err != nil {
		return 0, false, err
	}
	return st.Size(), last[0] != '\n', nil
}

// ReadLines calls fn for every complete line of a state file, with its
// 1-based line number. A last line without a newline is a write torn by a
// crash and is skipped. A missing file has no lines.
func ReadLines(path string, fn func(n int, line []byte) error) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 256*1024)
	for n := 1; ; n++ {
		line, err := r.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			// A very long line: collect it whole.
			long := append([]byte(nil), line...)
			for err == bufio.ErrBufferFull {
				line, err = r.ReadSlice('\n')
				long = append(long, line...)
			}
			line = long
		}
		if err == io.EOF {
			return nil // no newline: empty, or torn by a crash
		}
		if err != nil {
			return err
		}
		if ferr := fn(n, line[:len(line)-1]); ferr != nil {
			return ferr
		}
	}
}
