package replies

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"os"
	"strings"
	"sync"

	"herald/channels"
	"herald/state"
)

// sendRef is what the journal says about one message herald sent: enough to
// attribute a reply or a delivery status to a recipient and a campaign.
type sendRef = state.Entry

// journalIndex correlates inbound events with the journal's `sent` entries.
//
// It holds no entries, only where each `sent` line starts in the file,
// under hashes of the keys it is looked up by: a journal of a million sends
// costs tens of MB and little garbage-collector work, and a lookup reads
// one line back (one pread and a JSON decode, a few microseconds) and checks
// that it really has the key, so a hash collision is a miss, never a wrong
// attribution.
//
// It follows the journal as other processes (a cron `send`) append to it:
// refresh reads only the bytes added since the last call, so a request
// costs one stat when nothing changed. The journal is append-only, so an
// offset, once read, stays valid.
type journalIndex struct {
	path string
	seed maphash.Seed

	mu      sync.Mutex
	f       *os.File // the journal, open for reading lines back
	mapped  journalMap
	offset  int64 // bytes already read, always at a line start
	skipped int   // lines that did not parse

	byAddr      map[uint64]int64    // channel, normalized address -> last send to it
	byProvider  map[uint64]int64    // channel, provider id -> send
	byMessageID map[uint64]int64    // lower-case Message-ID -> e-mail send
	byToken     map[uint64]int64    // reply token -> last e-mail send of that campaign and recipient
	statuses    map[uint64]struct{} // channel, provider id, status already journaled

	// A shared database's journal: the sends read so far (the "offsets"
	// above index into it) and the last entry id read.
	db     journalFollower
	follow func() *state.JournalFollower
	sends  []state.Entry
}

func newJournalIndex(stateDir string) *journalIndex {
	ix := &journalIndex{path: state.OpenFiles(stateDir).JournalPath(), seed: maphash.MakeSeed()}
	ix.reset()
	return ix
}

// journalFollower reads a shared database's journal entries, each once,
// as they are committed by any host.
type journalFollower interface {
	Read(ctx context.Context, fn func(state.Entry) error) error
}

// newStoreIndex indexes the journal of store: journal.jsonl in stateDir for
// the files store, the shared journal table on PostgreSQL.
func newStoreIndex(store state.Store, stateDir string) *journalIndex {
	ix := newJournalIndex(stateDir)
	if p, ok := store.(*state.Postgres); ok {
		ix.follow = p.FollowJournal
		ix.db = p.FollowJournal()
	}
	return ix
}

func (ix *journalIndex) reset() {
	ix.mapped.unmap()
	if ix.f != nil {
		ix.f.Close()
		ix.f = nil
	}
	ix.offset, ix.skipped = 0, 0
	ix.sends = nil
	if ix.follow != nil {
		ix.db = ix.follow()
	}
	ix.byAddr = map[uint64]int64{}
	ix.byProvider = map[uint64]int64{}
	ix.byMessageID = map[uint64]int64{}
	ix.byToken = map[uint64]int64{}
	ix.statuses = map[uint64]struct{}{}
}

// close releases the journal file.
func (ix *journalIndex) close() {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.mapped.unmap()
	if ix.f != nil {
		ix.f.Close()
		ix.f = nil
	}
}

func (ix *journalIndex) hash(parts ...string) uint64 {
	var h maphash.Hash
	h.SetSeed(ix.seed)
	for i, p := range parts {
		if i > 0 {
			h.WriteByte(0)
		}
		h.WriteString(p)
	}
	return h.Sum64()
}

// refresh reads the journal lines appended since the last call. A line not
// yet ended by a newline is being written (or was torn by a crash); it is
// left for the next call. A journal shorter than what was read has been
// replaced, and is read again from the start.
func (ix *journalIndex) refresh() error {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if ix.db != nil {
		err := ix.db.Read(context.Background(), func(e state.Entry) error {
			if e.Status == state.StatusSent {
				ix.sends = append(ix.sends, e)
			}
			ix.add(int64(len(ix.sends)-1), e)
			return nil
		})
		if err != nil {
			return fmt.Errorf("reading the journal: %w", err)
		}
		return nil
	}
	// A stat is all a request pays when the journal has not grown.
	st, err := os.Stat(ix.path)
	if errors.Is(err, os.ErrNotExist) {
		if ix.offset > 0 {
			ix.reset()
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading the journal: %w", err)
	}
	if st.Size() == ix.offset && ix.f != nil {
		return nil
	}
	if st.Size() < ix.offset {
		ix.reset()
	}
	if ix.f == nil {
		if ix.f, err = os.Open(ix.path); err != nil {
			return fmt.Errorf("reading the journal: %w", err)
		}
	}
	// Read no further than the size seen now: bytes a writer adds meanwhile
	// are picked up by the next call, whole.
	r := bufio.NewReaderSize(io.NewSectionReader(ix.f, ix.offset, st.Size()-ix.offset), 256*1024)
	for {
		line, err := r.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			long := append([]byte(nil), line...)
			for err == bufio.ErrBufferFull {
				line, err = r.ReadSlice('\n')
				long = append(long, line...)
			}
			line = long
		}
		if err == io.EOF {
			// An unfinished line, if any, stays unread. Lines are read
			// back from the mapping when it can be made.
			ix.mapped.cover(ix.f, ix.offset)
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading the journal: %w", err)
		}
		ix.addLine(ix.offset, line)
		ix.offset += int64(len(line))
	}
}

// skipStatuses are the lines the index has no use for; herald writes
// "status":"..." without spaces, so they are skipped without decoding
// (anything else is decoded and judged by its status).
var skipStatuses = [][]byte{[]byte(`"status":"attempt"`), []byte(`"status":"failed"`), []byte(`"status":"skipped"`)}

func (ix *journalIndex) addLine(at int64, line []byte) {
	if len(bytes.TrimSpace(line)) == 0 {
		return
	}
	for _, s := range skipStatuses {
		if bytes.Contains(line, s) {
			return
		}
	}
	var e state.Entry
	if state.DecodeEntry(line, &e) != nil {
		ix.skipped++ // a line torn by a crash, followed by the newline the next writer added
		return
	}
	ix.add(at, e)
}

// add indexes one journal entry found at at.
func (ix *journalIndex) add(at int64, e state.Entry) {
	switch e.Status {
	case state.StatusDelivered, state.StatusUndelivered:
		ix.statuses[ix.hash(e.Channel, e.ProviderID, e.Status)] = struct{}{}
		return
	case state.StatusSent:
	default:
		return
	}
	if e.Address != "" {
		ix.byAddr[ix.hash(e.Channel, state.NormalizeAddress(e.Address))] = at
	}
	// Vonage splits a long SMS and reports each part's id; a delivery
	// receipt or a reply may name any of them.
	for id := range strings.SplitSeq(e.ProviderID, ",") {
		if id = strings.TrimSpace(id); id != "" {
			ix.byProvider[ix.hash(e.Channel, id)] = at
		}
	}
	if e.MessageID != "" {
		ix.byMessageID[ix.hash(strings.ToLower(e.MessageID))] = at
		// The reply token is what herald put in Reply-To's plus-address and
		// in the Message-ID; only e-mail sends carry a Message-ID.
		ix.byToken[ix.hash(channels.ReplyToken(e.Campaign, e.Recipient))] = at
	}
}

// entryAt reads back the journal line that starts at off.
func (ix *journalIndex) entryAt(off int64) (sendRef, bool) {
	if ix.db != nil {
		if off < 0 || off >= int64(len(ix.sends)) {
			return sendRef{}, false
		}
		return ix.sends[off], true
	}
	if ix.f == nil {
		return sendRef{}, false
	}
	if ix.mapped.data != nil {
		return ix.mapped.decodeLine(off, ix.offset, decodeSend)
	}
	// One pread of what a send line usually takes, more only for a longer
	// line (a 4 KB buffered reader per lookup was a webhook's largest
	// allocation).
	var small [1024]byte
	line := small[:0]
	end := -1
	for end < 0 {
		pos := off + int64(len(line))
		if pos >= ix.offset {
			return sendRef{}, false // no newline before the end of what was indexed
		}
		chunk := min(int64(max(len(line), len(small))), ix.offset-pos)
		if int64(cap(line)-len(line)) < chunk {
			line = append(make([]byte, 0, int64(len(line))+chunk), line...)
		}
		n, err := ix.f.ReadAt(line[len(line):int64(len(line))+chunk], pos)
		if n == 0 && err != nil {
			return sendRef{}, false
		}
		if i := bytes.IndexByte(line[len(line):len(line)+n], '\n'); i >= 0 {
			end = len(line) + i
		}
		line = line[:len(line)+n]
	}
	return decodeSend(line[:end+1])
}

// decodeSend reads a journal line that must be a send. The entry's strings
// are copies: line may be the journal's mapping or a reused buffer.
func decodeSend(line []byte) (sendRef, bool) {
	var e state.Entry
	if state.DecodeEntry(line, &e) != nil || e.Status != state.StatusSent {
		return sendRef{}, false
	}
	return e, true
}

// lookup reads the send stored under h in m, if check confirms it is the
// one asked for. Sends are values, not pointers, so a lookup per webhook
// allocates no entry.
func (ix *journalIndex) lookup(m map[uint64]int64, h uint64, check func(sendRef) bool) (sendRef, bool) {
	off, ok := m[h]
	if !ok {
		return sendRef{}, false
	}
	e, ok := ix.entryAt(off)
	if !ok || !check(e) {
		return sendRef{}, false
	}
	return e, true
}

func (ix *journalIndex) byAddress(channel, address string) (sendRef, bool) {
	address = state.NormalizeAddress(address)
	return ix.lookup(ix.byAddr, ix.hash(channel, address), func(e sendRef) bool {
		return e.Channel == channel && state.NormalizeAddress(e.Address) == address
	})
}

func (ix *journalIndex) byProviderID(channel, id string) (sendRef, bool) {
	return ix.lookup(ix.byProvider, ix.hash(channel, id), func(e sendRef) bool {
		if e.Channel != channel {
			return false
		}
		for part := range strings.SplitSeq(e.ProviderID, ",") {
			if strings.TrimSpace(part) == id {
				return true
			}
		}
		return false
	})
}

// replyRef finds the send a reply answers: the message it quotes when the
// provider says which (inReplyTo), else the last send to that address on
// that channel. ok is false when herald never sent there.
func (ix *journalIndex) replyRef(channel, from, inReplyTo string) (sendRef, bool) {
	if inReplyTo != "" {
		if ref, ok := ix.byProviderID(channel, inReplyTo); ok {
			return ref, true
		}
	}
	return ix.byAddress(channel, from)
}

// attribute sets each reply's recipient and campaign from the send it
// answers (replyRef); a reply to no known send keeps them empty.
func (ix *journalIndex) attribute(rows []state.Reply) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	for i, r := range rows {
		if ref, ok := ix.replyRef(r.Channel, r.From, r.InReplyTo); ok {
			rows[i].RecipientID, rows[i].Campaign = ref.Recipient, ref.Campaign
		}
	}
}

// refOrNil is a found send as a pointer, nil when none was found.
func refOrNil(ref sendRef, ok bool) *sendRef {
	if !ok {
		return nil
	}
	return &ref
}

// lastSend finds the last send to address on channel.
func (ix *journalIndex) lastSend(channel, address string) *sendRef {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return refOrNil(ix.byAddress(channel, address))
}

// forProviderID finds the send a delivery status is about.
func (ix *journalIndex) forProviderID(channel, id string) *sendRef {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return refOrNil(ix.byProviderID(channel, id))
}

// claimStatus reports whether a status of a send is not journaled yet and
// marks it, so two deliveries of the same callback write one entry.
func (ix *journalIndex) claimStatus(channel, providerID, status string) bool {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	h := ix.hash(channel, providerID, status)
	if _, done := ix.statuses[h]; done {
		return false
	}
	ix.statuses[h] = struct{}{}
	return true
}

func (ix *journalIndex) releaseStatus(channel, providerID, status string) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	delete(ix.statuses, ix.hash(channel, providerID, status))
}

// forEmail finds the e-mail send a reply answers: In-Reply-To first, then
// References from the newest, then the plus-address token, then the last
// send to the sender's address on one of the e-mail channels. how says
// which matched ("" when none did).
func (ix *journalIndex) forEmail(e Email, emailChannels []string) (ref *sendRef, how string) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	byToken := func(tok string) *sendRef {
		return refOrNil(ix.lookup(ix.byToken, ix.hash(tok), func(s sendRef) bool {
			return channels.ReplyToken(s.Campaign, s.Recipient) == tok
		}))
	}
	byID := func(id string) *sendRef {
		if id == "" {
			return nil
		}
		if ref, ok := ix.lookup(ix.byMessageID, ix.hash(strings.ToLower(id)), func(s sendRef) bool {
			return strings.EqualFold(s.MessageID, id)
		}); ok {
			return &ref
		}
		// A Message-ID herald made carries the reply token, which still
		// leads to the recipient when the journal lost the id (older runs).
		if tok, ok := channels.ParseMessageID(id); ok {
			return byToken(tok)
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
		if ref := byToken(tok); ref != nil {
			return ref, "token"
		}
	}
	for _, ch := range emailChannels {
		if ref, ok := ix.byAddress(ch, e.From); ok {
			return &ref, "address"
		}
	}
	return nil, ""
}
