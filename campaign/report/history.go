package report

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"herald/campaign/csvsafe"
	"herald/state"
)

// Event is one line of a customer's timeline: a journal entry or a reply.
type Event struct {
	Time       time.Time `json:"time"`
	Campaign   string    `json:"campaign"`
	Channel    string    `json:"channel"`
	Event      string    `json:"event"` // a journal status, or "reply"
	Address    string    `json:"address,omitempty"`
	Locale     string    `json:"locale,omitempty"`
	Attempt    int       `json:"attempt,omitempty"`
	ProviderID string    `json:"provider_id,omitempty"`
	MessageID  string    `json:"message_id,omitempty"`
	Error      string    `json:"error,omitempty"`
	Temporary  bool      `json:"temporary,omitempty"`
	Text       string    `json:"text,omitempty"`   // a reply's text
	Action     string    `json:"action,omitempty"` // a reply's action: stop, start, help, auto
	StateDir   string    `json:"state_dir"`
}

// EventReply is the Event of a replies.csv row.
const EventReply = "reply"

// UnknownRecipientError says no state directory mentions the recipient.
type UnknownRecipientError struct {
	Recipient string
	StateDirs []string
}

func (e *UnknownRecipientError) Error() string {
	return fmt.Sprintf("recipient %q has no send and no reply in %s", e.Recipient, strings.Join(e.StateDirs, ", "))
}

// History returns every journal entry and reply of one recipient id, from
// every state directory, oldest first. Events at the same instant keep the
// order they were written in, journal before replies, so an attempt stays
// before its outcome even when `--now` gave them one timestamp.
// ctx stops the read of a long journal.
func History(ctx context.Context, stateDirs []string, recipient string) ([]Event, error) {
	if err := checkDirs(stateDirs); err != nil {
		return nil, err
	}
	var events []Event
	stores, err := openStores(stateDirs)
	if err != nil {
		return nil, err
	}
	defer closeStores(stores)
	for i, st := range stores {
		dir := displayDir(stateDirs[i])
		err := st.ReadJournal(ctx, func(e state.Entry) error {
			if e.Recipient != recipient {
				return ctx.Err()
			}
			events = append(events, Event{
				Time: e.Time.UTC(), Campaign: e.Campaign, Channel: e.Channel, Event: e.Status,
				Address: e.Address, Locale: e.Locale, Attempt: e.Attempt,
				ProviderID: e.ProviderID, MessageID: e.MessageID, Error: e.Error, Temporary: e.Temporary,
				StateDir: dir,
			})
			return nil
		})
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if err != nil {
			return nil, err
		}
	}
	for i, st := range stores {
		dir := displayDir(stateDirs[i])
		err := st.ReadReplies(ctx, func(r state.Reply) error {
			if r.RecipientID != recipient {
				return ctx.Err()
			}
			events = append(events, Event{
				Time: r.ReceivedAt.UTC(), Campaign: r.Campaign, Channel: r.Channel, Event: EventReply,
				Address: r.From, MessageID: r.MessageID, Text: r.Text, Action: r.Action,
				StateDir: dir,
			})
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	if len(events) == 0 {
		return nil, &UnknownRecipientError{Recipient: recipient, StateDirs: displayDirs(stateDirs)}
	}
	sort.SliceStable(events, func(i, j int) bool { return events[i].Time.Before(events[j].Time) })
	return events, nil
}

// HistoryFormats are the values of `herald history --format`.
var HistoryFormats = []string{"table", "csv", "json"}

// HistoryCSVColumns are the columns of `history --format csv`, the JSON
// keys in the same order.
var HistoryCSVColumns = []string{"time", "campaign", "channel", "event", "address", "locale", "attempt", "provider_id", "message_id", "error", "temporary", "text", "action", "state_dir"}

// WriteHistory writes the timeline as a table (for a support agent), CSV
// (for a spreadsheet: cells that would start a formula are defused) or
// JSON (one array, full error texts and reply texts, for tools).
func WriteHistory(w io.Writer, events []Event, format string) error {
	switch format {
	case "csv":
		cw := csvsafe.NewWriter(w)
		_ = cw.Write(HistoryCSVColumns)
		for _, e := range events {
			attempt, temporary := "", ""
			if e.Attempt > 0 {
				attempt = strconv.Itoa(e.Attempt)
			}
			if e.Temporary {
				temporary = "true"
			}
			_ = cw.Write([]string{e.Time.Format(time.RFC3339), e.Campaign, e.Channel, e.Event, e.Address, e.Locale, attempt,
				e.ProviderID, e.MessageID, e.Error, temporary, e.Text, e.Action, e.StateDir})
		}
		cw.Flush()
		return cw.Error()
	case "json":
		if events == nil {
			events = []Event{}
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(events)
	case "table", "":
		tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
		fmt.Fprintln(tw, "TIME (UTC)\tCAMPAIGN\tCHANNEL\tEVENT\tDETAIL")
		for _, e := range events {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", e.Time.Format("2006-01-02 15:04:05"), cell(e.Campaign), cell(e.Channel), eventName(e), oneLine(e.Detail()))
		}
		return tw.Flush()
	}
	return fmt.Errorf("unknown format %q: want %s", format, strings.Join(HistoryFormats, ", "))
}

func eventName(e Event) string {
	if e.Event == EventReply && e.Action == state.ActionAuto {
		return "auto-reply" // an out-of-office, not the customer
	}
	if e.Event == EventReply && e.Action != "" {
		return e.Event + " (" + e.Action + ")"
	}
	return e.Event
}

// Detail is the table's last column: the address for sends, the short
// error for failures, the text for replies.
func (e Event) Detail() string {
	var parts []string
	switch e.Event {
	case EventReply:
		parts = append(parts, "from "+e.Address+": "+quote(shorten(oneLine(e.Text), 80)))
	case state.StatusFailed, state.StatusUndelivered:
		if e.Address != "" {
			parts = append(parts, "to "+e.Address)
		}
		if e.Error != "" {
			msg := shorten(oneLine(e.Error), 70)
			if e.Temporary {
				msg += " (temporary)"
			}
			parts = append(parts, msg)
		}
	default:
		if e.Address != "" {
			parts = append(parts, "to "+e.Address)
		}
		if e.Event == state.StatusAttempt && e.Attempt > 1 {
			parts = append(parts, fmt.Sprintf("attempt %d", e.Attempt))
		}
		if e.Event == state.StatusSent {
			if e.MessageID != "" {
				parts = append(parts, "message-id "+e.MessageID)
			} else if e.ProviderID != "" {
				parts = append(parts, "id "+e.ProviderID)
			}
		}
	}
	return strings.Join(parts, ", ")
}

// cell keeps an empty column visible in a table.
func cell(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func quote(s string) string { return "\u201c" + s + "\u201d" }

// oneLine folds newlines and tabs so a reply cannot break the table's rows
// or columns.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// shorten cuts s to at most n runes, marking the cut: a provider's error
// can be a page of JSON, and the table is read on a terminal.
func shorten(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return strings.TrimSpace(string(r[:n-1])) + "\u2026"
}
