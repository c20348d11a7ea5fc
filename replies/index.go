package replies

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"herald/campaign"
	"herald/channels"
	"herald/channels/email"
)

// sendRef is what the journal says about one message herald sent: enough to
// attribute a reply or a delivery status to a recipient and a campaign.
type sendRef struct {
	Campaign   string
	Recipient  string
	Channel    string
	Address    string
	Locale     string
	ProviderID string // as the journal holds it (Vonage: comma-separated parts)
	MessageID  string // e-mail only
	Attempt    int
}

// journalIndex correlates inbound events with the journal's `sent` entries.
// It is loaded once and then follows the journal as other processes (a cron
// `send`) append to it: refresh reads only the bytes added since the last
// call, so a request costs one stat when nothing changed.
type journalIndex struct {
	path string

	mu     sync.Mutex
	offset int64 // bytes of the journal already read, always at a line start

	byAddr      map[string]*sendRef // channel NUL normalized address -> last send
	byProvider  map[string]*sendRef // channel NUL provider id -> send
	byMessageID map[string]*sendRef // RFC 5322 Message-ID (bracketed, lower-case) -> e-mail send
	byToken     map[string]*sendRef // reply token -> last e-mail send of that campaign and recipient
	statuses    map[string]bool     // channel NUL provider id NUL status already journaled
	skipped     int                 // lines that did not parse
}

func newJournalIndex(stateDir string) *journalIndex {
	ix := &journalIndex{path: campaign.JournalPath(stateDir)}
	ix.reset()
	return ix
}

func (ix *journalIndex) reset() {
	ix.offset = 0
	ix.byAddr = map[string]*sendRef{}
	ix.byProvider = map[string]*sendRef{}
	ix.byMessageID = map[string]*sendRef{}
	ix.byToken = map[string]*sendRef{}
	ix.statuses = map[string]bool{}
	ix.skipped = 0
}

func key(parts ...string) string { return strings.Join(parts, "\x00") }

// refresh reads the journal lines appended since the last call. A line not
// yet ended by a newline is being written (or was torn by a crash); it is
// left for the next call. A journal shorter than what was read has been
// replaced, and is read again from the start.
func (ix *journalIndex) refresh() error {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return ix.refreshLocked()
}

func (ix *journalIndex) refreshLocked() error {
	// A stat is all a request pays when the journal has not grown.
	if st, err := os.Stat(ix.path); err == nil && st.Size() == ix.offset {
		return nil
	}
	f, err := os.Open(ix.path)
	if errors.Is(err, os.ErrNotExist) {
		if ix.offset > 0 {
			ix.reset()
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading the journal: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("reading the journal: %w", err)
	}
	if st.Size() < ix.offset {
		ix.reset()
	}
	// Read no further than the size seen now: bytes a writer adds meanwhile
	// are picked up by the next call, whole.
	r := bufio.NewReaderSize(io.NewSectionReader(f, ix.offset, st.Size()-ix.offset), 256*1024)
	for {
		line, err := r.ReadBytes('\n')
		if err == io.EOF {
			return nil // an unfinished line, if any, stays unread
		}
		if err != nil {
			return fmt.Errorf("reading the journal: %w", err)
		}
		ix.offset += int64(len(line))
		ix.addLine(line)
	}
}

func (ix *journalIndex) addLine(line []byte) {
	if len(line) <= 1 {
		return
	}
	var e campaign.Entry
	if json.Unmarshal(line, &e) != nil {
		ix.skipped++ // a line torn by a crash, followed by the newline the next writer added
		return
	}
	ix.add(e)
}

func (ix *journalIndex) add(e campaign.Entry) {
	switch e.Status {
	case campaign.StatusSent:
	case campaign.StatusDelivered, campaign.StatusUndelivered:
		ix.statuses[key(e.Channel, e.ProviderID, e.Status)] = true
		return
	default:
		return
	}
	ref := &sendRef{Campaign: e.Campaign, Recipient: e.Recipient, Channel: e.Channel, Address: e.Address,
		Locale: e.Locale, ProviderID: e.ProviderID, MessageID: e.MessageID, Attempt: e.Attempt}
	if e.Address != "" {
		ix.byAddr[key(e.Channel, campaign.NormalizeAddress(e.Address))] = ref
	}
	// Vonage splits a long SMS and reports each part's id; a delivery
	// receipt or a reply may name any of them.
	for _, id := range strings.Split(e.ProviderID, ",") {
		if id = strings.TrimSpace(id); id != "" {
			ix.byProvider[key(e.Channel, id)] = ref
		}
	}
	if e.MessageID != "" {
		ix.byMessageID[strings.ToLower(e.MessageID)] = ref
		// The reply token is what herald put in Reply-To's plus-address and
		// in the Message-ID; only e-mail sends carry a Message-ID.
		ix.byToken[channels.ReplyToken(e.Campaign, e.Recipient)] = ref
	}
}

// forReply finds the send a reply answers: the message it quotes when the
// provider says which (inReplyTo), else the last send to that address on
// that channel. nil when herald never sent there.
func (ix *journalIndex) forReply(channel, from, inReplyTo string) *sendRef {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if inReplyTo != "" {
		if ref := ix.byProvider[key(channel, inReplyTo)]; ref != nil {
			return ref
		}
	}
	return ix.byAddr[key(channel, campaign.NormalizeAddress(from))]
}

// forProviderID finds the send a delivery status is about.
func (ix *journalIndex) forProviderID(channel, id string) *sendRef {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return ix.byProvider[key(channel, id)]
}

// claimStatus reports whether a status of a send is not journaled yet and
// marks it, so two deliveries of the same callback write one entry.
func (ix *journalIndex) claimStatus(channel, providerID, status string) bool {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	k := key(channel, providerID, status)
	if ix.statuses[k] {
		return false
	}
	ix.statuses[k] = true
	return true
}

func (ix *journalIndex) releaseStatus(channel, providerID, status string) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	delete(ix.statuses, key(channel, providerID, status))
}

// forEmail finds the e-mail send a reply answers: In-Reply-To first, then
// References from the newest, then the plus-address token, then the last
// send to the sender's address on one of the e-mail channels. how says
// which matched ("" when none did).
func (ix *journalIndex) forEmail(e Email, emailChannels []string) (ref *sendRef, how string) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	byID := func(id string) *sendRef {
		if id == "" {
			return nil
		}
		if ref := ix.byMessageID[strings.ToLower(id)]; ref != nil {
			return ref
		}
		// A Message-ID herald made carries the reply token, which still
		// leads to the recipient when the journal lost the id (older runs).
		if tok, ok := email.ParseMessageID(id); ok {
			return ix.byToken[tok]
		}
		return nil
	}
	if ref := byID(e.InReplyTo); ref != nil {
		return ref, "in-reply-to"
	}
	for i := len(e.References) - 1; i >= 0; i-- {
		if ref := byID(e.References[i]); ref != nil {
			return ref, "references"
		}
	}
	if tok, ok := TokenFromAddress(e.To); ok {
		if ref := ix.byToken[tok]; ref != nil {
			return ref, "token"
		}
	}
	for _, ch := range emailChannels {
		if ref := ix.byAddr[key(ch, campaign.NormalizeAddress(e.From))]; ref != nil {
			return ref, "address"
		}
	}
	return nil, ""
}
