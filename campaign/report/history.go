package report

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

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
	Action     string    `json:"action,omitempty"` // a reply's action: stop, start, help
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
				return nil
			}
			events = append(events, Event{
				Time: e.Time.UTC(), Campaign: e.Campaign, Channel: e.Channel, Event: e.Status,
				Address: e.Address, Locale: e.Locale, Attempt: e.Attempt,
				ProviderID: e.ProviderID, MessageID: e.MessageID, Error: e.Error, Temporary: e.Temporary,
				StateDir: dir,
			})
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	for i, st := range stores {
		dir := displayDir(stateDirs[i])
		err := st.ReadReplies(ctx, func(r state.Reply) error {
			if r.RecipientID != recipient {
				return nil
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

// WriteHistory writes the timeline as a table (for a support agent) or
// JSON (one array, full error texts and reply texts, for tools).
func WriteHistory(w io.Writer, events []Event, format string) error {
	switch format {
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
	return fmt.Errorf("unknown format %q: want table or json", format)
}

func eventName(e Event) string {
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
