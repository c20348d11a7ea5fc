package state

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"
)

// Suppression sources (SPEC 1.5): who asked for it decides who may lift it.
const (
	SourceKeyword  = "keyword"   // a STOP reply; START lifts it
	SourceOneClick = "one-click" // RFC 8058 unsubscribe
	SourceOperator = "operator"  // herald suppress add
	SourceProvider = "provider"  // the provider says the customer opted out or blocked us
	SourceBounce   = "bounce"    // a permanent e-mail bounce
)

// Suppression is one row of suppressions.csv.
type Suppression struct {
	Address string    `json:"address"`
	Channel string    `json:"channel"` // a channel name, or "all"
	Reason  string    `json:"reason"`
	AddedAt time.Time `json:"added_at"`
	Source  string    `json:"source"` // one of the Source constants; "" in old files
}

var suppressionHeader = []byte("address,channel,reason,added_at,source\n")

// NormalizeAddress makes addresses comparable: e-mail addresses are
// compared case-insensitively, everything else as written (E.164, ids).
func NormalizeAddress(a string) string {
	a = strings.TrimSpace(a)
	if strings.Contains(a, "@") {
		return strings.ToLower(a)
	}
	return a
}

// Suppressions is the loaded suppression list.
type Suppressions struct {
	rows      []Suppression
	byAddress map[string]map[string]bool // normalized address -> channels ("all")
}

// NewSuppressions indexes rows for look-ups.
func NewSuppressions(rows []Suppression) *Suppressions {
	s := &Suppressions{rows: rows, byAddress: map[string]map[string]bool{}}
	for _, r := range rows {
		a := NormalizeAddress(r.Address)
		if s.byAddress[a] == nil {
			s.byAddress[a] = map[string]bool{}
		}
		s.byAddress[a][r.Channel] = true
	}
	return s
}

// Suppressed reports whether address may not be sent to on channel.
func (s *Suppressions) Suppressed(address, channel string) bool {
	m := s.byAddress[NormalizeAddress(address)]
	return m != nil && (m[channel] || m["all"])
}

// Rows returns the rows sorted by address, then channel.
func (s *Suppressions) Rows() []Suppression {
	rows := append([]Suppression(nil), s.rows...)
	sort.SliceStable(rows, func(i, j int) bool {
		if rows[i].Address != rows[j].Address {
			return rows[i].Address < rows[j].Address
		}
		return rows[i].Channel < rows[j].Channel
	})
	return rows
}

// Suppressions reads suppressions.csv (missing: empty). Old files without
// the source column load with an empty source.
func (f *Files) Suppressions(ctx context.Context) (*Suppressions, error) {
	rows, err := f.listSuppressions()
	if err != nil {
		return nil, err
	}
	return NewSuppressions(rows), nil
}

func (f *Files) listSuppressions() ([]Suppression, error) {
	var rows []Suppression
	err := readLines(f.SuppressionsPath(), func(n int, line []byte) error {
		if n == 1 && bytes.HasPrefix(line, []byte("address,")) {
			return nil
		}
		rec, err := csv.NewReader(bytes.NewReader(line)).Read()
		if err != nil || len(rec) < 2 || rec[0] == "" {
			return nil // a torn line from a crash
		}
		row := Suppression{Address: rec[0], Channel: rec[1]}
		if len(rec) > 2 {
			row.Reason = rec[2]
		}
		if len(rec) > 3 {
			row.AddedAt, _ = time.Parse(time.RFC3339, rec[3])
		}
		if len(rec) > 4 {
			row.Source = rec[4]
		}
		rows = append(rows, row)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", f.SuppressionsPath(), err)
	}
	return rows, nil
}

func suppressionLine(s Suppression) []byte {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.Write([]string{s.Address, s.Channel, s.Reason, s.AddedAt.UTC().Format(time.RFC3339), s.Source})
	w.Flush()
	return bytes.TrimRight(b.Bytes(), "\n")
}

// AddSuppression appends a row unless the address is already suppressed on
// that channel by the same source. The check and the append happen under
// the file's lock, so two processes adding the same address write one row.
// A suppression of another source is a row of its own, so that lifting one
// (START lifts only the keyword's) leaves the others, such as an
// operator's legal hold, in place.
func (f *Files) AddSuppression(ctx context.Context, s Suppression) (bool, error) {
	if s.Address == "" || s.Channel == "" {
		return false, fmt.Errorf("a suppression needs an address and a channel (or \"all\")")
	}
	if s.AddedAt.IsZero() {
		s.AddedAt = time.Now()
	}
	added := false
	err := f.suppress.batch(func([][]byte) ([][]byte, error) {
		rows, err := f.listSuppressions()
		if err != nil {
			return nil, err
		}
		want := NormalizeAddress(s.Address)
		for _, r := range rows {
			if NormalizeAddress(r.Address) == want && r.Channel == s.Channel && r.Source == s.Source {
				return nil, nil
			}
		}
		added = true
		return [][]byte{suppressionLine(s)}, nil
	})
	return added, err
}

// RemoveSuppressions removes the rows of address on channel ("all" removes
// every row of the address) whose source is one of sources (none: any).
// The file is rewritten under the lock appenders take, synced, then renamed
// into place; appenders notice the new file.
func (f *Files) RemoveSuppressions(ctx context.Context, address, channel string, sources ...string) (int, error) {
	removed := 0
	err := f.suppress.batch(func([][]byte) ([][]byte, error) {
		rows, err := f.listSuppressions()
		if err != nil {
			return nil, err
		}
		want := NormalizeAddress(address)
		var keep bytes.Buffer
		keep.Write(suppressionHeader)
		for _, r := range rows {
			if NormalizeAddress(r.Address) == want && (channel == "all" || r.Channel == channel) && sourceIn(r.Source, sources) {
				removed++
				continue
			}
			keep.Write(suppressionLine(r))
			keep.WriteByte('\n')
		}
		if removed == 0 {
			return nil, nil
		}
		return nil, replaceFile(f.SuppressionsPath(), keep.Bytes())
	})
	return removed, err
}

func sourceIn(source string, sources []string) bool {
	if len(sources) == 0 {
		return true
	}
	for _, s := range sources {
		if s == source {
			return true
		}
	}
	return false
}

// replaceFile writes data to a temporary file beside path, syncs it and
// renames it over path, so readers see the old file or the new one whole.
func replaceFile(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, fileMode); err != nil {
		return err
	}
	t, err := os.Open(tmp)
	if err == nil {
		err = t.Sync()
		t.Close()
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(dirOf(path))
}
