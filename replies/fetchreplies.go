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
	Auto       int // ... of which were automatic replies (action auto)
	Bounces    int // ... of which were bounces of herald's e-mails (source bounce suppressions)
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
// suppress the sender's address on that e-mail channel. Nothing read here
// lifts a suppression (see emailAction), and automatic replies are logged
// with action auto and act on nothing.
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
		if imapCfg.TLSConfig == nil {
			imapCfg.TLSConfig = cfg.IMAPTLS.Config("")
			imapCfg.CAFile = cfg.IMAPTLS.CAFile
		}
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
	// With no checkpoint for this mailbox there is nothing to renumber:
	// the first fetch learns UIDVALIDITY without a warning.
	firstFetch := st.Mailbox != mailbox
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
			if !firstFetch {
				log.Warn("mailbox renumbered (UIDVALIDITY changed): reading it from the start; replies already logged are skipped", "mailbox", mailbox)
			}
			st.UIDValidity, st.LastUID = validity, 0
		}
		firstFetch = false
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
			action := emailAction(e)
			row.Action = string(action)
			if action == ActionAuto {
				sum.Auto++
				log.Info("automatic reply logged with action auto: not a customer reply, keywords ignored", "uid", m.UID, "header", e.Auto)
			}
			if e.DSN != nil && ref != nil {
				bounced, err := suppressBounce(ctx, cfg.Store, ref, *e.DSN, now())
				if err != nil {
					return sum, err
				}
				if bounced != "" {
					sum.Bounces++
					row.Text = bounced
				}
			}
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

// emailAction decides what an e-mail reply asks for. An automatic reply
// (out of office, RFC 3834) is ActionAuto whatever it says: a vacation
// notice that quotes "stop" unsubscribes nobody. A person's STOP, in the
// body or, with an empty body, in the subject, opts out; HELP is logged.
// START, UNSTOP or "Yes" in an e-mail is an ordinary reply (action ""):
// e-mail replies never re-subscribe anyone, because "Yes" is how people
// answer a question, and a mailbox can be written from by someone other
// than the customer who unsubscribed.
func emailAction(e Email) Action {
	if e.Auto != "" {
		return ActionAuto
	}
	action := Classify(e.Text)
	if strings.TrimSpace(e.Text) == "" {
		action = Classify(stripReplyPrefix(e.Subject)) // "Unsubscribe" in the subject, nothing in the body
	}
	if action == ActionStart {
		return ActionNone
	}
	return action
}

// suppressBounce suppresses, with source bounce, the address a bounced
// herald e-mail was sent to, when the report says that very address failed
// for good (a forwarding target failing says nothing about the address
// herald wrote to). It returns the text logged for the report, "" when
// nothing was suppressed.
func suppressBounce(ctx context.Context, store state.Store, ref *sendRef, d DSN, at time.Time) (string, error) {
	for _, f := range d.Failed {
		if state.NormalizeAddress(f.Address) != state.NormalizeAddress(ref.Address) {
			continue
		}
		reason := "bounce " + f.Status
		if f.Diagnostic != "" {
			reason += ": " + shortText(f.Diagnostic, 80)
		}
		if _, err := store.AddSuppression(ctx, state.Suppression{Address: ref.Address, Channel: ref.Channel, Reason: reason, AddedAt: at, Source: state.SourceBounce}); err != nil {
			return "", err
		}
		return "delivery to " + ref.Address + " failed: " + reason, nil
	}
	return "", nil
}

func shortText(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
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
// one or the new one, never half of either. The directory is synced after
// the rename, so the new name itself survives a power loss. Every failure
// is returned: a checkpoint that silently stays behind would make the next
// run re-read (and a damaged one lose) what this one read.
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
	if err == nil {
		err = syncDir(filepath.Dir(path))
	}
	if err != nil {
		return fmt.Errorf("saving the IMAP checkpoint %s: %w", path, err)
	}
	return nil
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
