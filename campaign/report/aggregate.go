package report

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"herald/channels"
	"herald/state"
)

// Counts are one group's numbers. Each (campaign, recipient) pair is counted
// once in Sent, Failed, Skipped or InDoubt, by its final outcome; Replied and
// OptedOut count pairs too, not reply rows, so a customer who wrote three
// times is one reply.
type Counts struct {
	Sent     int `json:"sent"`
	Failed   int `json:"failed"`
	Skipped  int `json:"skipped"`
	InDoubt  int `json:"in_doubt"`
	Replied  int `json:"replied"`
	OptedOut int `json:"opted_out"`
}

// ReplyRate is Replied over Sent, 0 when nothing was sent.
func (c Counts) ReplyRate() float64 {
	if c.Sent == 0 {
		return 0
	}
	return float64(c.Replied) / float64(c.Sent)
}

// None is the group key for a pair with no channel or no locale in the
// journal (a skipped recipient has no channel).
const None = "none"

// Report is the outcome of a campaign, or of every campaign in the state
// directories when Campaign is empty.
type Report struct {
	Campaign  string   // the campaign asked for; "" = all
	Campaigns []string // the campaigns counted, sorted
	StateDirs []string

	Totals    Counts
	ByChannel map[string]*Counts
	ByLocale  map[string]*Counts

	// MedianFirstReply is the median, over pairs that were sent and replied,
	// of the time from the send to the first reply; HasMedian is false when
	// no such pair exists.
	MedianFirstReply time.Duration
	HasMedian        bool

	// UnmatchedReplies are replies.csv rows that name no pair in the
	// journals read (another state dir, or a campaign filtered out is not
	// counted here): a hint that a shard's state dir is missing.
	UnmatchedReplies int
	// TornLines are journal lines that did not parse (a crash mid-write).
	TornLines int
	// Why the in-doubt pairs are in doubt: the provider's answer was lost
	// (lost-response), or the process died mid-call (killed).
	InDoubtLost, InDoubtKilled int
}

// Options say what to report on.
type Options struct {
	StateDirs []string // at least one; merged
	Campaign  string   // a campaign name; "" = every campaign

}

// NoCampaignError says the campaign asked for is not in any journal read.
type NoCampaignError struct {
	Campaign  string
	StateDirs []string
	Known     []string // the campaigns that are there, sorted
}

func (e *NoCampaignError) Error() string {
	return fmt.Sprintf("no journal entries for campaign %q in %s", e.Campaign, strings.Join(e.StateDirs, ", "))
}

// Outcome codes of a pair, from the journal.
const (
	outNone    uint8 = iota
	outInDoubt       // killed mid-call: an attempt with no outcome
	outLost          // the provider call's answer was lost
	outFailed
	outSkipped
	outSent
)

// Pair flags.
const (
	pSeen     = 1 << iota // some entry set the outcome
	pSent                 // a sent (or delivered) entry was seen: final
	pReplied              // at least one reply
	pOptedOut             // a STOP reply, or a suppression after the send
	pHasReply             // replyAt holds a reply at or after the send
)

// pairKey names a (campaign, recipient) pair in 16 bytes: the campaign by
// its number in the interned names, the recipient by a 64-bit FNV-1a hash
// of its id. Holding the id strings themselves would make memory grow with
// their length; with a hash, a million pairs are a few tens of MB, and a
// collision needs about four billion recipients in one campaign to be
// likely.
type pairKey struct {
	campaign  uint32
	recipient uint64
}

// pair is what the report needs to know about one pair: 24 bytes.
type pair struct {
	at      int64 // Unix ms of the entry that set the outcome (the send, once sent)
	replyAt int64 // Unix ms of the first reply at or after the send
	outcome uint8
	flags   uint8
	channel uint16 // index into aggregator.channels
	locale  uint16 // index into aggregator.locales
}

// interner numbers the few distinct strings of a column (campaigns,
// channels, locales) so each pair stores a small integer.
type interner struct {
	ids   map[string]int
	names []string
}

func newInterner() *interner { return &interner{ids: map[string]int{}} }

func (in *interner) id(s string) int {
	if n, ok := in.ids[s]; ok {
		return n
	}
	in.ids[s] = len(in.names)
	in.names = append(in.names, s)
	return len(in.names) - 1
}

// aggregator folds journal entries, replies and suppressions into pairs.
type aggregator struct {
	filter    string
	campaigns *interner
	channels  *interner
	locales   *interner
	pairs     map[pairKey]pair // values, not pointers: no allocation per pair
	// optOuts holds, for every suppression that is an opt-out (see
	// OptOutSource), the earliest time it was added, by hash of channel
	// and normalized address.
	optOuts   map[uint64]int64
	unmatched int
}

func newAggregator(filter string) *aggregator {
	return &aggregator{
		filter:    filter,
		campaigns: newInterner(),
		channels:  newInterner(),
		locales:   newInterner(),
		pairs:     map[pairKey]pair{},
		optOuts:   map[uint64]int64{},
	}
}

func hashString(parts ...string) uint64 {
	h := fnv.New64a()
	for i, p := range parts {
		if i > 0 {
			h.Write([]byte{0})
		}
		h.Write([]byte(p))
	}
	return h.Sum64()
}

// small interns s into a uint16 slot; a journal with more than 65535
// distinct channel names or locales is not a herald journal.
func small(in *interner, s, what string) (uint16, error) {
	n := in.id(s)
	if n > 0xFFFF {
		return 0, fmt.Errorf("more than 65535 distinct %ss in the journal: is it a herald journal?", what)
	}
	return uint16(n), nil
}

// OptOutSource reports whether a suppression of this source is the
// customer withdrawing consent: a STOP keyword, an unsubscribe link, or the
// provider reporting an opt-out or a block (carrier STOP, LINE unfollow,
// Telegram block). An operator's suppression (a legal hold, a pause) and a
// bounce (a dead address) are not opt-outs. Rows from files older than the
// source column count as opt-outs, since a customer's request is what
// wrote most of them. The decision is made on the source alone, never on
// the words of the reason.
func OptOutSource(source string) bool {
	switch source {
	case state.SourceKeyword, state.SourceOneClick, state.SourceProvider, "":
		return true
	}
	return false
}

func (a *aggregator) addSuppression(s state.Suppression) {
	if !OptOutSource(s.Source) {
		return
	}
	k := hashString(s.Channel, state.NormalizeAddress(s.Address))
	at := int64(0) // unknown time: counts whenever the address was sent to
	if !s.AddedAt.IsZero() {
		at = s.AddedAt.UnixMilli()
	}
	if old, ok := a.optOuts[k]; !ok || at < old {
		a.optOuts[k] = at
	}
}

// suppressedAfter reports whether the customer opted out of address on
// channel (or on every channel) at or after the send at sentAt. An opt-out
// before the send would have stopped it, so it says nothing about this one.
func (a *aggregator) suppressedAfter(channel, address string, sentAt int64) bool {
	if len(a.optOuts) == 0 {
		return false
	}
	addr := state.NormalizeAddress(address)
	for _, ch := range []string{channel, "all"} {
		if at, ok := a.optOuts[hashString(ch, addr)]; ok && (at == 0 || at >= sentAt) {
			return true
		}
	}
	return false
}

// addEntry folds one journal line in. Within a journal, lines are in the
// order they were written, and with `--now` many share one timestamp, so
// an entry at the same instant as the last one still replaces it.
func (a *aggregator) addEntry(e state.Entry) error {
	if a.filter != "" && e.Campaign != a.filter {
		return nil
	}
	var outcome uint8
	switch e.Status {
	case state.StatusSent, state.StatusDelivered:
		outcome = outSent
	case state.StatusAttempt:
		outcome = outInDoubt
	case state.StatusInDoubt:
		outcome = outLost
	case state.StatusFailed, state.StatusUndelivered:
		outcome = outFailed
	case state.StatusSkipped:
		outcome = outSkipped
	default:
		return nil // a status this version does not know: no outcome
	}
	key := pairKey{uint32(a.campaigns.id(e.Campaign)), hashString(e.Recipient)}
	p := a.pairs[key]
	first := p.flags&pSeen == 0
	at := e.Time.UnixMilli()
	switch {
	case p.flags&pSent != 0:
		// Once sent, the pair is sent (exactly once): later events are
		// receipts or a --retry-in-doubt resend. An earlier send from
		// another shard's journal moves the send time back.
		if outcome != outSent || at >= p.at {
			return nil
		}
	case outcome == outSent:
		// The first send wins over any failure before or after it:
		// a recipient who failed on WhatsApp and got the SMS is sent.
	case e.Status == state.StatusUndelivered:
		// A delivery failure only means something after a send; a
		// receipt with no send in these journals is not an outcome.
		return nil
	case !first && at < p.at:
		return nil // older than what we have (merging shards)
	}
	p.at = at
	p.outcome = outcome
	p.flags |= pSeen
	ch := e.Channel
	if ch == "" {
		ch = None
	}
	var err error
	if p.channel, err = small(a.channels, ch, "channel"); err != nil {
		return err
	}
	// Fallbacks keep the recipient's locale; an entry without one (a
	// delivery receipt) does not erase it.
	if e.Locale != "" || first {
		loc := e.Locale
		if loc == "" {
			loc = None
		}
		if p.locale, err = small(a.locales, loc, "locale"); err != nil {
			return err
		}
	}
	if outcome == outSent {
		p.flags |= pSent
		if a.suppressedAfter(e.Channel, e.Address, at) {
			p.flags |= pOptedOut
		}
	}
	a.pairs[key] = p
	return nil
}

// addReply folds one replies.csv row in; run it after every journal, so
// the pair it names (and its send time) is known.
func (a *aggregator) addReply(r state.Reply) {
	if a.filter != "" && r.Campaign != a.filter {
		return
	}
	if r.Action == state.ActionAuto {
		// An out-of-office is not the customer answering: it counts in
		// neither replies, reply rate nor time to reply.
		return
	}
	id, ok := a.campaigns.ids[r.Campaign]
	key := pairKey{uint32(id), hashString(r.RecipientID)}
	p, found := a.pairs[key]
	if !ok || !found {
		a.unmatched++
		return
	}
	p.flags |= pReplied
	if r.Action == state.ActionStop {
		p.flags |= pOptedOut
	}
	// Time to first reply runs from the send; a reply stamped before it
	// comes from a clock that disagrees, and says nothing about the wait.
	if at := r.ReceivedAt.UnixMilli(); p.flags&pSent != 0 && !r.ReceivedAt.IsZero() && at >= p.at {
		if p.flags&pHasReply == 0 || at < p.replyAt {
			p.replyAt = at
			p.flags |= pHasReply
		}
	}
	a.pairs[key] = p
}

// Build reads every state directory (journals first, then replies, since a
// reply is matched to the send before it whatever shard logged it) and
// returns the report.
func Build(ctx context.Context, opts Options) (*Report, error) {
	if len(opts.StateDirs) == 0 {
		return nil, errors.New("no state directory to report on")
	}
	if err := checkDirs(opts.StateDirs); err != nil {
		return nil, err
	}
	a := newAggregator(opts.Campaign)
	rep := &Report{Campaign: opts.Campaign, StateDirs: displayDirs(opts.StateDirs)}
	stores, err := openStores(opts.StateDirs)
	if err != nil {
		return nil, err
	}
	defer closeStores(stores)
	for _, st := range stores {
		supp, err := st.Suppressions(ctx)
		if err != nil {
			return nil, err
		}
		for _, s := range supp.Rows() {
			a.addSuppression(s)
		}
	}
	for _, st := range stores {
		var torn int
		var err error
		if f, ok := st.(*state.Files); ok {
			torn, err = f.ReadJournalTorn(ctx, a.addEntry)
		} else {
			err = st.ReadJournal(ctx, a.addEntry)
		}
		rep.TornLines += torn
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if err != nil {
			return nil, err
		}
	}
	if opts.Campaign != "" && len(a.campaigns.names) == 0 {
		known, err := Campaigns(ctx, opts.StateDirs)
		if err != nil {
			return nil, err
		}
		return nil, &NoCampaignError{Campaign: opts.Campaign, StateDirs: displayDirs(opts.StateDirs), Known: known}
	}
	for _, st := range stores {
		err := st.ReadReplies(ctx, func(r state.Reply) error {
			a.addReply(r)
			return ctx.Err()
		})
		if err != nil {
			return nil, err
		}
	}
	a.fill(rep)
	return rep, nil
}

// fill counts the pairs into the report's groups.
func (a *aggregator) fill(rep *Report) {
	rep.Campaigns = slices.Sorted(slices.Values(a.campaigns.names))
	rep.ByChannel = map[string]*Counts{}
	rep.ByLocale = map[string]*Counts{}
	rep.UnmatchedReplies = a.unmatched
	var waits []int64
	for _, p := range a.pairs {
		if p.flags&pSeen == 0 {
			continue
		}
		ch := group(rep.ByChannel, a.channels.names[p.channel])
		loc := group(rep.ByLocale, a.locales.names[p.locale])
		for _, c := range []*Counts{&rep.Totals, ch, loc} {
			switch p.outcome {
			case outSent:
				c.Sent++
			case outFailed:
				c.Failed++
			case outSkipped:
				c.Skipped++
			case outInDoubt, outLost:
				c.InDoubt++
			}
			if p.flags&pReplied != 0 {
				c.Replied++
			}
			if p.flags&pOptedOut != 0 {
				c.OptedOut++
			}
		}
		switch p.outcome {
		case outInDoubt:
			rep.InDoubtKilled++
		case outLost:
			rep.InDoubtLost++
		}
		if p.flags&pHasReply != 0 {
			waits = append(waits, p.replyAt-p.at)
		}
	}
	if len(waits) > 0 {
		rep.MedianFirstReply, rep.HasMedian = median(waits), true
	}
}

func group(m map[string]*Counts, key string) *Counts {
	c := m[key]
	if c == nil {
		c = &Counts{}
		m[key] = c
	}
	return c
}

// median of durations in milliseconds; the mean of the middle two for an
// even count.
func median(ms []int64) time.Duration {
	sort.Slice(ms, func(i, j int) bool { return ms[i] < ms[j] })
	n := len(ms)
	m := ms[n/2]
	if n%2 == 0 {
		m = (ms[n/2-1] + ms[n/2]) / 2
	}
	return time.Duration(m) * time.Millisecond
}

// Campaigns lists the campaign names in the journals of the state
// directories, sorted: what a user can pass to `herald report`.
func Campaigns(ctx context.Context, stateDirs []string) ([]string, error) {
	seen := map[string]bool{}
	stores, err := openStores(stateDirs)
	if err != nil {
		return nil, err
	}
	defer closeStores(stores)
	for _, st := range stores {
		err := st.ReadJournal(ctx, func(e state.Entry) error {
			seen[e.Campaign] = true
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	return names, nil
}

// MissingDirError says a state directory does not exist: most likely a
// typo, or the report runs somewhere other than where `send` ran.
type MissingDirError struct{ Dir string }

func (e *MissingDirError) Error() string {
	return fmt.Sprintf("state directory %s does not exist", e.Dir)
}

func checkDirs(dirs []string) error {
	for _, d := range dirs {
		if state.IsDatabaseURL(d) {
			continue
		}
		st, err := os.Stat(d)
		if errors.Is(err, os.ErrNotExist) {
			return &MissingDirError{Dir: d}
		}
		if err != nil {
			return err
		}
		if !st.IsDir() {
			return fmt.Errorf("state directory %s is a file, not a directory", d)
		}
	}
	return nil
}

// openStores opens the store of each state directory (or shared database);
// a report merges them (one per shard).
func openStores(dirs []string) ([]state.Store, error) {
	out := make([]state.Store, 0, len(dirs))
	for _, d := range dirs {
		st, err := state.Open(d)
		if err != nil {
			closeStores(out)
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

func closeStores(stores []state.Store) {
	for _, st := range stores {
		st.Close()
	}
}

// displayDir names a state location for output: a database URL without
// its password.
func displayDir(d string) string {
	if state.IsDatabaseURL(d) {
		return channels.Redact(d)
	}
	return d
}

func displayDirs(dirs []string) []string {
	out := make([]string, len(dirs))
	for i, d := range dirs {
		out[i] = displayDir(d)
	}
	return out
}
