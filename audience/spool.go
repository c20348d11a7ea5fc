package audience

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
)

// Spool copies an audience read from standard input ("-") to a private
// temporary file, so it can be read more than once (`send` reads the
// audience twice) and so a stalled or endless stream cannot hold a run:
// the copy stops with a *LimitError (Kind LimitSpool) past maxBytes, and
// with ctx.Err() as soon as ctx is cancelled, even while a Read of r is
// blocked. The file is created with mode 0600; cleanup removes it and may
// be called more than once. On error nothing is left behind.
func Spool(ctx context.Context, r io.Reader, maxBytes int64) (path string, cleanup func(), err error) {
	f, err := os.CreateTemp("", "herald-stdin-*")
	if err != nil {
		return "", nil, fmt.Errorf("audience: spooling standard input: %w", err)
	}
	path = f.Name()
	cleanup = func() { os.Remove(path) }
	// CreateTemp already uses 0600; the umask can only narrow it. Chmod
	// states it for anyone reading this later.
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		cleanup()
		return "", nil, fmt.Errorf("audience: spooling standard input: %w", err)
	}
	n, err := io.Copy(f, io.LimitReader(newCtxReader(ctx, r), maxBytes+1))
	if err == nil && n > maxBytes {
		err = &LimitError{Kind: LimitSpool, Max: maxBytes}
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		cleanup()
		var le *LimitError
		if errors.As(err, &le) {
			return "", nil, fmt.Errorf("audience: stdin: %w", err)
		}
		return "", nil, fmt.Errorf("audience: spooling standard input: %w", err)
	}
	return path, cleanup, nil
}
