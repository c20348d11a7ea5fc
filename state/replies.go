package state

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Reply actions.
const (
	ActionStop  = "stop"
	ActionStart = "start"
	ActionHelp  = "help"
	ActionAuto  = "auto" // an automatic reply (out of office): not a customer reply
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
	Action      string // one of the Action constants, or ""
}

// ReplyColumns are replies.csv's columns, in order.
var ReplyColumns = []string{"received_at", "channel", "from", "recipient_id", "campaign", "message_id", "in_reply_to", "text", "action"}

// Record is the row's cells in ReplyColumns order.
func (r Reply) Record() []string {
	return []string{r.ReceivedAt.UTC().Format(time.RFC3339), r.Channel, r.From, r.RecipientID, r.Campaign, r.MessageID, r.InReplyTo, r.Text, r.Action}
}

func replyHeader() []byte {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.Write(ReplyColumns)
	w.Flush()
	return b.Bytes()
}

// replyLog appends to replies.csv with group commit: a burst of webhooks
// costs one lock and one fsync per batch, and append returns only once its
// rows are on disk (a provider gets its 200 only for a durable row).
type replyLog struct {
	file   *appendFile
	commit groupCommit[Reply]
}

func newReplyLog(file *appendFile) *replyLog {
	l := &replyLog{file: file}
	l.commit.write = func(rows []Reply) error {
		// The batch is encoded into one buffer, written once. A text with
		// newlines is quoted as CSV requires, so one row may span lines;
		// the batch is one line-terminated chunk, so no reader sees half a
		// row.
		b := make([]byte, 0, len(rows)*160)
		for _, r := range rows {
			b = r.appendCSV(b)
		}
		chunk := [][]byte{b}
		return file.batch(func([][]byte) ([][]byte, error) { return chunk, nil })
	}
	return l
}

// appendCSV appends the row as a line of replies.csv, exactly as
// encoding/csv writes Record (a test holds them to it), without the
// writer's buffer and the record's slice per row.
func (r Reply) appendCSV(b []byte) []byte {
	b = r.ReceivedAt.UTC().AppendFormat(b, time.RFC3339) // never quoted
	for _, field := range [...]string{r.Channel, r.From, r.RecipientID, r.Campaign, r.MessageID, r.InReplyTo, r.Text, r.Action} {
		b = append(b, ',')
		b = appendCSVField(b, field)
	}
	return append(b, '\n')
}

// appendCSVField appends field as encoding/csv's Writer does with a comma
// delimiter and LF line ends: quoted, with quotes doubled, when it holds a
// comma, quote, CR or LF, starts with a space, or is \. (for PostgreSQL's
// COPY).
func appendCSVField(b []byte, field string) []byte {
	if !csvNeedsQuotes(field) {
		return append(b, field...)
	}
	b = append(b, '"')
	for i := 0; i < len(field); i++ {
		if field[i] == '"' {
			b = append(b, '"')
		}
		b = append(b, field[i])
	}
	return append(b, '"')
}

func csvNeedsQuotes(field string) bool {
	if field == "" {
		return false
	}
	if field == `\.` || strings.ContainsAny(field, ",\"\r\n") {
		return true
	}
	r, _ := utf8.DecodeRuneInString(field)
	return unicode.IsSpace(r)
}

// AppendReplies appends rows to replies.csv, durable on return.
func (f *Files) AppendReplies(ctx context.Context, rows ...Reply) error {
	return f.replies.commit.add(rows...)
}

// ReadReplies calls fn for every complete row of replies.csv. A row torn by
// a crash (the file does not end in a newline) is skipped.
func (f *Files) ReadReplies(ctx context.Context, fn func(Reply) error) error {
	return readRepliesFile(ctx, f.RepliesPath(), fn)
}

// readRepliesFile reads a reply log at path (a missing file has no rows).
func readRepliesFile(ctx context.Context, path string, fn func(Reply) error) error {
	var buf bytes.Buffer
	err := readLines(path, func(_ int, line []byte) error {
		buf.Write(line)
		buf.WriteByte('\n')
		return nil
	})
	if err != nil || buf.Len() == 0 {
		return err
	}
	r := csv.NewReader(&buf)
	r.FieldsPerRecord = -1
	first := true
	for n := 0; ; n++ {
		if n%4096 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		rec, err := r.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			line, _ := r.FieldPos(0)
			return fmt.Errorf("%s:%d: %w", path, line, err)
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

func dirOf(path string) string { return filepath.Dir(path) }
