package state

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/gofrs/flock"
)

// lockInfo is what a held send lock says about its holder.
type lockInfo struct {
	PID     int       `json:"pid"`
	Host    string    `json:"host"`
	Started time.Time `json:"started"`
}

// LockCampaign takes locks/<campaign>.lock for the whole send run. The lock
// is the operating system's (flock): it is released when the process ends,
// however it ends, so a killed run never leaves a stale lock behind. The
// file also says who holds it, for the message a second send prints.
func (f *Files) LockCampaign(ctx context.Context, campaign string) (func() error, error) {
	path := f.lockPath(campaign)
	if err := os.MkdirAll(filepath.Dir(path), dirMode); err != nil {
		return nil, fmt.Errorf("creating %s: %w", filepath.Dir(path), err)
	}
	lock := flock.New(path, flock.SetFlag(os.O_CREATE|os.O_RDWR), flock.SetPermissions(fileMode))
	ok, err := lock.TryLock()
	if err != nil {
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	if !ok {
		le := &LockedError{Campaign: campaign, Where: path}
		var info lockInfo
		if b, err := os.ReadFile(path); err == nil && json.Unmarshal(b, &info) == nil {
			le.PID, le.Host, le.Started = info.PID, info.Host, info.Started
		}
		return nil, le
	}
	host, _ := os.Hostname()
	info, _ := json.Marshal(lockInfo{PID: os.Getpid(), Host: host, Started: time.Now().UTC().Truncate(time.Second)})
	// Written through a separate descriptor: the holder's own lock stays on
	// the one flock opened.
	if err := os.WriteFile(path, append(info, '\n'), fileMode); err != nil {
		lock.Unlock()
		return nil, fmt.Errorf("writing %s: %w", path, err)
	}
	return lock.Unlock, nil
}
