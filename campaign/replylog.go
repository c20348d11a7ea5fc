package campaign

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"path/filepath"
	"time"
)

// Reply is one row of replies.csv, the reply log shared by every herald
// process and read by people in a spreadsheet (SPEC 1.5).
type Reply struct {
	ReceivedAt  time.Time // when herald received it
	Channel     string    // the configured channel name ("sms")
	From        string    // the customer's address on that channel
	RecipientID string    // from the last send to that address, or the quoted message
	Campaign    string
	MessageID   string // the inbound message's own id (provider id or RFC 5322 Message-ID)
	InReplyTo   string // the id of herald's message it answers, when known
	Text        string
	Action      string // "stop", "start", "help" or ""
}

// ReplyColumns are replies.csv's columns, in order.
var ReplyColumns = []string{"received_at", "channel", "from", "recipient_id", "campaign", "message_id", "in_reply_to", "text", "action"}

// RepliesPath is the reply log's file in a state directory.
func RepliesPath(stateDir string) string { return filepath.Join(stateDir, "replies.csv") }

func (r Reply) record() []string {
	return []string{r.ReceivedAt.UTC().Format(time.RFC3339), r.Channel, r.From, r.RecipientID, r.Campaign, r.MessageID, r.InReplyTo, r.Text, r.Action}
}

// AppendReplies appends rows to replies.csv under the shared lock. A text
// with newlines is quoted as CSV requires, so one row may span lines; the
// whole batch is one write, so no reader sees half a row.
func AppendReplies(stateDir string, rows ...Reply) error {
	lines := make([][]byte, 0, len(rows))
	for _, r := range rows {
		var b bytes.Buffer
		w := csv.NewWriter(&b)
		if err := w.Write(r.record()); err != nil {
			return err
		}
		w.Flush()
		lines = append(lines, b.Bytes())
	}
	var header bytes.Buffer
	w := csv.NewWriter(&header)
	_ = w.Write(ReplyColumns)
	w.Flush()
	return AppendLines(RepliesPath(stateDir), header.Bytes(), lines)
}

// ReplyLog appends to replies.csv with group commit: a burst of webhooks
// costs one lock and one fsync per batch, and Append returns only once its
// rows are on disk (a provider gets its 200 only for a durable row).
type ReplyLog struct {
	commit groupCommit[Reply]
}

// OpenReplyLog returns the reply log of a state directory.
func OpenReplyLog(stateDir string) *ReplyLog {
	return &ReplyLog{commit: groupCommit[Reply]{write: func(rows []Reply) error {
		return AppendReplies(stateDir, rows...)
	}}}
}

// Append writes rows and returns when they are durable.
func (l *ReplyLog) Append(rows ...Reply) error { return l.commit.add(rows...) }

// ReadReplies calls fn for every complete row of replies.csv. A row torn by
// a crash (the file does not end in a newline) is skipped.
func ReadReplies(stateDir string, fn func(Reply) error) error {
	data, err := readComplete(RepliesPath(stateDir))
	if err != nil || len(data) == 0 {
		return err
	}
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	first := true
	for {
		rec, err := r.Read()
		if err != nil {
			if err == io.EOF {
				return nil
			}
			line, _ := r.FieldPos(0)
			return fmt.Errorf("%s:%d: %w", RepliesPath(stateDir), line, err)
		}
		if first {
			first = false
			if len(rec) > 0 && rec[0] == ReplyColumns[0] {
				continue
			}
		}
		if len(rec) < len(ReplyColumns) {
			continue
		}
		at, _ := time.Parse(time.RFC3339, rec[0])
		row := Reply{ReceivedAt: at, Channel: rec[1], From: rec[2], RecipientID: rec[3], Campaign: rec[4], MessageID: rec[5], InReplyTo: rec[6], Text: rec[7], Action: rec[8]}
		if err := fn(row); err != nil {
			return err
		}
	}
}

// readComplete reads a state file up to its last newline.
func readComplete(path string) ([]byte, error) {
	var buf bytes.Buffer
	err := ReadLines(path, func(_ int, line []byte) error {
		buf.Write(line)
		buf.WriteByte('\n')
		return nil
	})
	return buf.Bytes(), err
}
