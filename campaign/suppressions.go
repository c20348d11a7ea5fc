package campaign

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/gofrs/flock"
)

// Suppression is one row of suppressions.csv.
type Suppression struct {
	Address string    `csv:"address"`
	Channel string    `csv:"channel"` // a channel name, or "all"
	Reason  string    `csv:"reason"`
	AddedAt time.Time `csv:"added_at"`
}

var suppressionHeader = []byte("address,channel,reason,added_at\n")

// SuppressionsPath is the suppression list's file in a state directory.
func SuppressionsPath(stateDir string) string {
	return filepath.Join(stateDir, "suppressions.csv")
}

// Suppressions is the loaded suppression list.
type Suppressions struct {
	byAddress map[string]map[string]bool // normalized address -> channels ("all")
}

// NormalizeAddress makes addresses comparable: e-mail addresses are
// compared case-insensitively, everything else as written (E.164, ids).
func NormalizeAddress(a string) string {
	a = strings.TrimSpace(a)
	if strings.Contains(a, "@") {
		return strings.ToLower(a)
	}
	return a
}

// LoadSuppressions reads suppressions.csv (missing = empty).
func LoadSuppressions(stateDir string) (*Suppressions, error) {
	s := &Suppressions{byAddress: map[string]map[string]bool{}}
	rows, err := ListSuppressions(stateDir)
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		a := NormalizeAddress(r.Address)
		if s.byAddress[a] == nil {
			s.byAddress[a] = map[string]bool{}
		}
		s.byAddress[a][r.Channel] = true
	}
	return s, nil
}

// Suppressed reports whether address may not be sent to on channel.
func (s *Suppressions) Suppressed(address, channel string) bool {
	m := s.byAddress[NormalizeAddress(address)]
	return m != nil && (m[channel] || m["all"])
}

// ListSuppressions returns every row of suppressions.csv.
func ListSuppressions(stateDir string) ([]Suppression, error) {
	path := SuppressionsPath(stateDir)
	var rows []Suppression
	err := ReadLines(path, func(n int, line []byte) error {
		if n == 1 && bytes.HasPrefix(line, []byte("address,")) {
			return nil
		}
		rec, err := csv.NewReader(bytes.NewReader(line)).Read()
		if err != nil || len(rec) < 2 {
			return nil // a torn line from a crash
		}
		row := Suppression{Address: rec[0], Channel: rec[1]}
		if len(rec) > 2 {
			row.Reason = rec[2]
		}
		if len(rec) > 3 {
			row.AddedAt, _ = time.Parse(time.RFC3339, rec[3])
		}
		rows = append(rows, row)
		return nil
	})
	return rows, err
}

func suppressionLine(s Suppression) []byte {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.Write([]string{s.Address, s.Channel, s.Reason, s.AddedAt.UTC().Format(time.RFC3339)})
	w.Flush()
	return bytes.TrimRight(b.Bytes(), "\n")
}

// AddSuppression appends a row unless the address is already suppressed for
// that channel.
func AddSuppression(stateDir string, s Suppression) error {
	if s.Address == "" || s.Channel == "" {
		return fmt.Errorf("a suppression needs an address and a channel (or \"all\")")
	}
	if s.AddedAt.IsZero() {
		s.AddedAt = time.Now()
	}
	cur, err := LoadSuppressions(stateDir)
	if err != nil {
		return err
	}
	if m := cur.byAddress[NormalizeAddress(s.Address)]; m != nil && m[s.Channel] {
		return nil
	}
	return AppendLines(SuppressionsPath(stateDir), suppressionHeader, [][]byte{suppressionLine(s)})
}

// RemoveSuppression removes the rows for address on channel ("all" removes
// every row of the address) and reports how many went. The file is
// rewritten under the same lock appenders take, then renamed into place.
func RemoveSuppression(stateDir, address, channel string) (int, error) {
	path := SuppressionsPath(stateDir)
	lock := flock.New(path + ".lock")
	if err := os.MkdirAll(stateDir, 0o755); err != nil {
		return 0, err
	}
	if err := lock.Lock(); err != nil {
		return 0, fmt.Errorf("locking %s: %w", path, err)
	}
	defer lock.Unlock()
	rows, err := ListSuppressions(stateDir)
	if err != nil {
		return 0, err
	}
	want := NormalizeAddress(address)
	var keep bytes.Buffer
	keep.Write(suppressionHeader)
	removed := 0
	for _, r := range rows {
		if NormalizeAddress(r.Address) == want && (channel == "all" || r.Channel == channel) {
			removed++
			continue
		}
		keep.Write(suppressionLine(r))
		keep.WriteByte('\n')
	}
	if removed == 0 {
		return 0, nil
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, keep.Bytes(), 0o644); err != nil {
		return 0, err
	}
	f, err := os.Open(tmp)
	if err == nil {
		err = f.Sync()
		f.Close()
	}
	if err != nil {
		return 0, err
	}
	return removed, os.Rename(tmp, path)
}

// SortSuppressions orders rows by address then channel, for listing.
func SortSuppressions(rows []Suppression) {
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].Address != rows[j].Address {
			return rows[i].Address < rows[j].Address
		}
		return rows[i].Channel < rows[j].Channel
	})
}
