package replies

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/gofrs/flock"

	"herald/campaign"
	"herald/channels"
	"herald/state"
)

// FetchOptions configure FetchReplies.
type FetchOptions struct {
	Config *campaign.Config
	// IMAP overrides the mailbox of [replies.imap] (tests use it to trust
	// their own certificate); a nil URL means the configured one.
	IMAP   IMAPConfig
	Logger *slog.Logger     // nil: discard
	Now    func() time.Time // nil: time.Now
	// BatchSize is how many messages are downloaded, logged and
	// checkpointed at a time; 0 means 200.
	BatchSize int
}

// FetchSummary counts what one FetchReplies did.
type FetchSummary struct {
	Fetched    int // messages read from the mailbox
	New        int // rows appended to replies.csv
	Matched    int // ... of which were matched to a send
	OptOuts    int // ... of which asked to stop
	Duplicates int // messages whose Message-ID replies.csv already had
	Unreadable int // messages that could not be parsed, skipped
}

// imapState is <state>/imap.state: where the last fetch stopped.
type imapState struct {
	Mailbox     string `json:"mailbox"` // scheme://user@host/path, no password
	UIDValidity uint32 `json:"uidvalidity"`
	LastUID     uint32 `json:"last_uid"`
}

// IMAPStatePath is the fetch checkpoint's file in a state directory.
func IMAPStatePath(stateDir string) string { return filepath.Join(stateDir, "imap.state") }

// FetchReplies reads the messages that arrived in the reply mailbox since
// the last run, keeps each one's new text, matches it to the e-mail herald
// sent (In-Reply-To, then References, then the plus-address token, then the
// sender's address) and appends it to replies.csv; STOP-like replies
// suppress the sender's address on that e-mail channel and START lifts it.
//
// It never logs a Message-ID twice: the ids already in replies.csv are
// skipped, so a run that stopped between appending and checkpointing, or a
// mailbox whose UIDVALIDITY changed, is harmless. Two runs at once are
// serialised by a lock next to the checkpoint.
func FetchReplies(ctx context.Context, opts FetchOptions) (FetchSummary, error) {
	var sum FetchSummary
	cfg := opts.Config
	imapCfg := opts.IMAP
	if imapCfg.URL == nil && cfg.IMAP != nil {
		imapCfg.URL = cfg.IMAP.URL
	}
	if imapCfg.URL == nil {
		return sum, ErrNoMailbox
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	batch := opts.BatchSize
	if batch <= 0 {
		batch = 200
	}
	if err := os.MkdirAll(cfg.StateDir, 0o755); err != nil {
		return sum, fmt.Errorf("creating state directory: %w", err)
	}
	statePath := IMAPStatePath(cfg.StateDir)
	lock := flock.New(statePath + ".lock")
	locked, err := lock.TryLockContext(ctx, 100*time.Millisecond)
	if err != nil || !locked {
		if err == nil {
			err = ctx.Err()
		}
		return sum, fmt.Errorf("waiting for another replies fetch to finish: %w", err)
	}
	defer lock.Unlock()

	mailbox := mailboxName(imapCfg.URL.Scheme, imapCfg.URL.User.Username(), imapCfg.URL.Host, imapCfg.URL.Path)
	st, err := readIMAPState(statePath)
	if err != nil {
		return sum, err
	}
	if st.Mailbox != mailbox {
		// Another mailbox's UIDs mean nothing here: start from its first
		// message (Message-IDs already logged are still skipped).
		st = imapState{Mailbox: mailbox}
	}

	ix := newStoreIndex(cfg.Store, cfg.StateDir)
	defer ix.close()
	if err := ix.refresh(); err != nil {
		return sum, err
	}
	seen := map[string]bool{}
	if err := cfg.Store.ReadReplies(ctx, func(r state.Reply) error {
		seen[r.MessageID] = true
		return nil
	}); err != nil {
		return sum, fmt.Errorf("reading replies.csv: %w", err)
	}
	emailChannels := emailChannelNames(cfg)

	for {
		msgs, validity, err := Fetch(ctx, imapCfg, st.UIDValidity, st.LastUID, batch)
		if err != nil {
			return sum, err
		}
		if validity != st.UIDValidity {
			log.Info("mailbox renumbered (UIDVALIDITY changed): reading it from the start; replies already logged are skipped", "mailbox", mailbox)
			st.UIDValidity, st.LastUID = validity, 0
		}
		var rows []state.Reply
		for _, m := range msgs {
			sum.Fetched++
			st.LastUID = max(st.LastUID, m.UID)
			e, err := ExtractReply(m.Raw)
			if err != nil {
				sum.Unreadable++
				log.Warn("skipping a message that cannot be read", "uid", m.UID, "error", err.Error())
				continue
			}
			id := e.MessageID
			if id == "" {
				id = syntheticMessageID(m.Raw)
			}
			if seen[id] {
				sum.Duplicates++
				continue
			}
			seen[id] = true
			row := state.Reply{ReceivedAt: receivedAt(e.Date, now()), Channel: emailChannels[0], From: e.From, MessageID: id, InReplyTo: e.InReplyTo, Text: e.Text}
			ref, _ := ix.forEmail(e, emailChannels)
			if ref != nil {
				sum.Matched++
				row.Channel, row.RecipientID, row.Campaign = ref.Channel, ref.Recipient, ref.Campaign
				if ref.MessageID != "" {
					row.InReplyTo = ref.MessageID
				}
			}
			action := Classify(e.Text)
			if strings.TrimSpace(e.Text) == "" {
				action = Classify(stripReplyPrefix(e.Subject)) // "Unsubscribe" in the subject, nothing in the body
			}
			row.Action = string(action)
			// Act before logging: a failure leaves the message unlogged, and
			// the next run retries the idempotent suppression.
			addrs := []string{e.From}
			if ref != nil && state.NormalizeAddress(ref.Address) != state.NormalizeAddress(e.From) {
				addrs = append(addrs, ref.Address) // replied from another address than the one herald wrote to
			}
			for _, a := range addrs {
				if err := act(cfg.Store, row.Channel, a, action, "STOP reply", now()); err != nil {
					return sum, err
				}
			}
			if action == ActionStop {
				sum.OptOuts++
			}
			rows = append(rows, row)
		}
		if err := cfg.Store.AppendReplies(ctx, rows...); err != nil {
			return sum, err
		}
		sum.New += len(rows)
		if err := writeIMAPState(statePath, st); err != nil {
			return sum, err
		}
		if len(msgs) < batch {
			return sum, nil
		}
	}
}

// ErrNoMailbox is returned by FetchReplies when [replies.imap] is not
// configured.
var ErrNoMailbox = errors.New(`no reply mailbox: add [replies.imap] url = "imaps://user:${IMAP_PASSWORD}@host:993/INBOX" to herald.toml`)

func mailboxName(scheme, user, host, path string) string {
	if path == "" || path == "/" {
		path = "/INBOX"
	}
	return scheme + "://" + user + "@" + host + path
}

// emailChannelNames lists the configured e-mail channels; with none, the
// implied "email" channel.
func emailChannelNames(cfg *campaign.Config) []string {
	var names []string
	for _, ch := range cfg.Channels() {
		if ch.Kind == channels.KindEmail {
			names = append(names, ch.Name)
		}
	}
	if len(names) == 0 {
		names = []string{string(channels.KindEmail)}
	}
	return names
}

// syntheticMessageID stands in for a missing Message-ID so the message is
// still logged once: the same bytes always give the same id.
func syntheticMessageID(raw []byte) string {
	sum := sha256.Sum256(raw)
	return "<" + hex.EncodeToString(sum[:16]) + "@no-message-id.invalid>"
}

// receivedAt is the Date the customer's client wrote, unless it is missing
// or implausibly in the future (a wrong clock).
func receivedAt(date, now time.Time) time.Time {
	if date.IsZero() || date.After(now.Add(24*time.Hour)) {
		return now
	}
	return date
}

var replyPrefix = regexp.MustCompile(`(?i)^\s*((re|aw|sv|vs|r|rif|antw|odp|回复|答复|返信)\s*(\[\d+\])?\s*[:：]\s*)+`)

func stripReplyPrefix(subject string) string { return replyPrefix.ReplaceAllString(subject, "") }

func readIMAPState(path string) (imapState, error) {
	var st imapState
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("reading %s: %w", path, err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("%s is damaged (%v); delete it to read the mailbox from the start (replies already logged are skipped)", path, err)
	}
	return st, nil
}

// writeIMAPState replaces the checkpoint atomically: a crash leaves the old
// one or the new one, never half of either.
func writeIMAPState(path string, st imapState) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".imap.state-*")
	if err != nil {
		return fmt.Errorf("saving the IMAP checkpoint: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("saving the IMAP checkpoint %s: %w", path, err)
	}
	return nil
}
