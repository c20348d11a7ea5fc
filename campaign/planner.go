package campaign

import (
	"context"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"sync"
	"time"

	"herald/audience"
	"herald/campaign/schedule"
	"herald/channels"
	"herald/channels/sms"
	"herald/locales"
	"herald/state"
	"herald/templates"
)

// Plan states (SPEC 2, plan).
const (
	StateDue       = "due"
	StateScheduled = "scheduled"
	StateSent      = "sent"
	StateInDoubt   = "in-doubt"
	StateFailed    = "failed"
	StateSkipped   = "skipped"
)

// Reasons (SPEC 3, Channel choice).
const (
	ReasonNoChannel  = "no-channel"
	ReasonNoAddress  = "no-address"
	ReasonExpired    = "expired"
	ReasonSuppressed = "suppressed"
	ReasonOptedOut   = "opted-out"
	ReasonFrequency  = "frequency"
	ReasonInvalid    = "invalid"
)

// Candidate is a usable channel for a recipient with its address.
type candidate struct {
	Channel *Channel
	Address string
}

// Row is the plan for one recipient.
type planRow struct {
	Recipient    *audience.Recipient
	Candidates   []candidate // the channel first, then the fallbacks; empty when skipped
	Locale       string      // the template locale taken
	LocaleReason string
	Zone         *time.Location
	SendAt       time.Time // in Zone
	State        string
	Reason       string
	Outcome      state.Outcome // what the journal already says

	// LocaleDefault is true when Locale is default_locale because no
	// template matched the customer's locale well enough.
	LocaleDefault bool

	// data is what the row's templates see, built by the first message
	// rendered and shared by the others (fallbacks differ only in their
	// channel's fields); see Planner.data.
	data map[string]any
	// dataRTL is templates.NeedsIsolation of the columns in data, worked
	// out when data is filled; the fields each candidate sets over them
	// are checked on their own.
	dataRTL bool

	// first is the first candidate's message, built while the row was
	// planned by a dry run's single pass (see feed), so deliver does not
	// render it again; nil otherwise.
	first *channels.Message
	// problems are the row's messages that do not render, found by that
	// pass: the run refuses to start on them, as prepass does.
	problems []error
}

// Release hands the row's template data back for reuse by a later row;
// the row renders no more messages after it. Dropping a row without it
// is fine, only slower.
func (r *planRow) Release() {
	if m := r.data; m != nil {
		r.data = nil
		dataPool.Put(&m)
	}
}

// Channel is the chosen channel's name, "" when skipped.
func (r *planRow) Channel() string {
	if len(r.Candidates) == 0 {
		return ""
	}
	return r.Candidates[0].Channel.Name
}

// Address is the chosen channel's address, "" when skipped.
func (r *planRow) Address() string {
	if len(r.Candidates) == 0 {
		return ""
	}
	return r.Candidates[0].Address
}

// FallbackNames lists the fallback channels in order.
func (r *planRow) FallbackNames() []string {
	var out []string
	for _, c := range r.Candidates[min(1, len(r.Candidates)):] {
		out = append(out, c.Channel.Name)
	}
	return out
}

// Planner decides channel, locale and send time for each recipient. It
// holds nothing per recipient: rows are planned one at a time as the
// audience streams by.
type planner struct {
	Config    *Config
	Campaign  *Campaign
	Templates *templates.Set
	Now       time.Time

	matcher  *locales.Matcher
	journal  journalView
	supp     *state.Suppressions
	channels map[string]*Channel
	unsub    func(channel, address string) string
}

// journalView is what the planner asks the journal: a loaded index for
// plan and check, the live journal during a send.
type journalView interface {
	Lookup(id string) state.Outcome
	SentSince(id string, t time.Time) int
}

// NewPlanner prepares a planner: it loads the templates, the journal index
// and the suppression list once.
func openPlanner(ctx context.Context, cfg *Config, c *Campaign, now time.Time) (*planner, error) {
	set, err := LoadTemplates(c.Templates)
	if err != nil {
		return nil, configErr(err) // broken templates are configuration: exit 2
	}
	return newPlanner(ctx, cfg, c, now, set)
}

// newPlanner prepares a planner around a loaded template set; check passes
// one with broken files, to render everything the others can.
func newPlanner(ctx context.Context, cfg *Config, c *Campaign, now time.Time, set *templates.Set) (*planner, error) {
	m, err := locales.NewMatcher(set.Locales(), c.DefaultLocale)
	if err != nil {
		return nil, configErr(&FileError{File: c.File, Msg: fmt.Sprintf("default_locale: %v", err)})
	}
	ix, err := cfg.Store.Index(ctx, c.Name, recentSince(c, now))
	if err != nil {
		return nil, err
	}
	supp, err := cfg.Store.Suppressions(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading suppressions: %w", err)
	}
	p := &planner{Config: cfg, Campaign: c, Templates: set, Now: now, matcher: m, journal: ix, supp: supp, channels: map[string]*Channel{}}
	for _, name := range c.Channels {
		ch, err := cfg.Channel(name)
		if err != nil {
			return nil, err
		}
		p.channels[name] = ch
	}
	if cfg.PublicURL != "" {
		key, err := cfg.Store.UnsubscribeKey(ctx)
		if err != nil {
			return nil, err
		}
		signer := state.UnsubscribeSigner{Key: key}
		p.unsub = func(channel, address string) string {
			return cfg.PublicURL + "/unsubscribe/" + signer.Token(channel, address)
		}
	}
	return p, nil
}

// LoadTemplates loads a template directory with herald's locale formatters.
func LoadTemplates(dir string) (*templates.Set, error) {
	return templates.Load(dir, func(locale, customer string, zone *time.Location) (templates.Formatter, error) {
		return locales.NewFormatterFor(locale, customer, zone)
	})
}

// recentSince is how far back the journal's send times matter for the
// frequency limit: sends up to one period before the earliest possible send
// time count; a day more keeps scheduled rows judged too.
func recentSince(c *Campaign, now time.Time) time.Time {
	if c.Frequency == nil {
		return time.Time{}
	}
	return now.Add(-c.Frequency.Per - 24*time.Hour)
}

// Plan plans one recipient.
func (p *planner) Plan(rec *audience.Recipient) *planRow {
	row := &planRow{Recipient: rec, Zone: rec.Zone}
	if row.Zone == nil {
		row.Zone = p.Campaign.DefaultZone
	}
	match := p.matcher.Match(rec.Locale)
	row.Locale, row.LocaleReason = match.Locale, match.Reason
	row.LocaleDefault = match.Confidence == "default"
	row.Outcome = p.journal.Lookup(rec.ID)

	cands, firstRefusal, firstCandidateRefusal := p.candidates(rec)
	if !p.Campaign.Fallback && len(cands) > 1 {
		cands = cands[:1]
	}
	row.Candidates = cands

	at, expired, err := p.sendTime(row.Zone)
	row.SendAt = at
	switch {
	case row.Outcome.Sent:
		row.State = StateSent
	case row.Outcome.InDoubt:
		row.State, row.Reason = StateInDoubt, row.Outcome.InDoubtReason
	case row.Outcome.Failed:
		row.State = StateFailed
	// No usable channel is the reason whatever the time (SPEC 3): an
	// opt-out must not read as "expired" because the campaign also ended.
	case len(cands) == 0:
		if firstRefusal != "" {
			row.skip(firstRefusal)
		} else {
			row.skip(ReasonNoChannel)
		}
	case err != nil:
		row.skip(ReasonExpired)
	case expired:
		row.skip(ReasonExpired)
	case p.Campaign.Frequency != nil && p.journal.SentSince(rec.ID, at.Add(-p.Campaign.Frequency.Per)) >= p.Campaign.Frequency.Count:
		row.skip(ReasonFrequency)
	case !at.After(p.Now):
		row.State = StateDue
	default:
		row.State = StateScheduled
	}
	if row.State != StateSkipped && len(cands) > 0 && row.Reason == "" {
		row.Reason = firstCandidateRefusal
	}
	return row
}

func (r *planRow) skip(reason string) {
	r.State, r.Reason, r.Candidates = StateSkipped, reason, nil
}

// candidates returns the usable channels in order, the refusal of the first
// candidate that had an address (for skipped rows) and why the very first
// candidate was not usable (for rows that get a later one).
func (p *planner) candidates(rec *audience.Recipient) (usable []candidate, firstRefusal, firstReason string) {
	order := make([]string, 0, 8)
	seen := make(map[string]bool, 8)
	add := func(names []string) {
		for _, n := range names {
			if !seen[n] && p.channels[n] != nil {
				seen[n] = true
				order = append(order, n)
			}
		}
	}
	add(rec.Channels)
	if region, ok := p.Config.Regions[rec.Country]; ok && rec.Country != "" {
		add(region)
	} else {
		add(p.Campaign.Channels)
	}
	for i, name := range order {
		ch := p.channels[name]
		addr := ""
		for _, col := range ch.Columns {
			if addr = rec.Address(col); addr != "" {
				break
			}
		}
		reason := ""
		switch {
		case addr == "":
			reason = ReasonNoAddress
		case optedOut(rec, ch):
			reason = ReasonOptedOut
		case p.supp.Suppressed(addr, name):
			reason = ReasonSuppressed
		}
		if i == 0 {
			firstReason = reason
		}
		if reason == "" {
			usable = append(usable, candidate{Channel: ch, Address: addr})
			continue
		}
		if firstRefusal == "" && reason != ReasonNoAddress {
			firstRefusal = reason
		}
	}
	if len(usable) > 0 && usable[0].Channel.Name == order[0] {
		firstReason = ""
	}
	return usable, firstRefusal, firstReason
}

func optedOut(rec *audience.Recipient, ch *Channel) bool {
	for _, o := range rec.OptOut {
		if o == "all" || o == ch.Name || o == string(ch.Kind) {
			return true
		}
	}
	return false
}

func (p *planner) sendTime(zone *time.Location) (time.Time, bool, error) {
	rules := p.Campaign.Schedule
	if !p.Campaign.HasStart {
		rules.Start = schedule.At(p.Now)
	}
	return rules.SendTime(zone)
}

// Message renders the message for a candidate of a row.
func (p *planner) Message(row *planRow, cand candidate) (channels.Message, error) {
	msg, err := p.content(row, cand)
	if err != nil {
		return channels.Message{}, err
	}
	msg.IdempotencyKey = channels.IdempotencyKey(p.Campaign.Name, row.Recipient.ID)
	msg.ReplyToken = channels.ReplyToken(p.Campaign.Name, row.Recipient.ID)
	return msg, nil
}

// content is Message without the identifiers only a provider call needs
// (two hashes per message): what check hands to the backends' checks.
func (p *planner) content(row *planRow, cand candidate) (channels.Message, error) {
	rec := row.Recipient
	data, unsub := p.data(row, cand)
	content, err := p.Templates.RenderMessage(p.request(row, cand, data))
	if err != nil {
		return channels.Message{}, err
	}
	if cand.Channel.Kind == channels.KindSMS {
		content.Text = sms.Normalize(content.Text)
	}
	return channels.Message{
		Campaign:       p.Campaign.Name,
		Recipient:      rec.ID,
		Channel:        cand.Channel.Name,
		Locale:         row.Locale,
		To:             cand.Address,
		Name:           rec.Name,
		Subject:        content.Subject,
		Text:           content.Text,
		HTML:           content.HTML,
		Template:       content.Template,
		ParseMode:      content.ParseMode,
		UnsubscribeURL: unsub,
	}, nil
}

// Validate returns the error Message would return for a candidate, without
// building the message: the templates run with the same data and their
// output is dropped (send's check that every due message renders).
func (p *planner) Validate(row *planRow, cand candidate) error {
	data, _ := p.data(row, cand)
	return p.Templates.Validate(p.request(row, cand, data))
}

// dataPool keeps the maps templates read a message's data from: one per
// message, each column boxed into an interface, was most of what checking
// a million rows allocated. Nothing keeps the map after rendering.
var dataPool = sync.Pool{New: func() any { m := make(map[string]any, 16); return &m }}

// data returns what a candidate's templates see: the audience columns and
// the message's own fields. The columns are filled once per row; each
// candidate sets its channel's fields over them.
func (p *planner) data(row *planRow, cand candidate) (map[string]any, string) {
	rec := row.Recipient
	data := row.data
	if data == nil {
		data = *dataPool.Get().(*map[string]any)
		clear(data)
		for k, v := range rec.Fields.All() {
			data[k] = v
		}
		data["campaign"] = p.Campaign.Name
		data["locale"] = row.Locale
		data["send_at"] = row.SendAt
		row.data = data
		row.dataRTL = templates.NeedsIsolation(data)
	}
	data["channel"] = cand.Channel.Name
	unsub := ""
	if p.unsub != nil {
		unsub = p.unsub(cand.Channel.Name, cand.Address)
	}
	data["unsubscribe_url"] = unsub
	return data, unsub
}

// isolate says whether a candidate's message data may print a
// right-to-left letter: the row's columns, checked once, or the fields
// of the candidate's own.
func (row *planRow) isolate(data map[string]any) bool {
	rtl := row.dataRTL
	for _, k := range [...]string{"channel", "unsubscribe_url"} {
		s, _ := data[k].(string)
		rtl = rtl || templates.HasRTL(s)
	}
	return rtl
}

func (p *planner) request(row *planRow, cand candidate, data map[string]any) templates.Request {
	return templates.Request{
		Locale: row.Locale, Sections: cand.Channel.Sections, Data: data, Zone: row.Zone,
		Email: cand.Channel.Kind == channels.KindEmail, CustomerLocale: row.Recipient.Locale,
		DataChecked: true, DataRTL: row.isolate(data),
	}
}

// Shard selects a part of the audience: recipient ids are hashed, and shard
// K of N takes the ids whose hash is K modulo N, so N hosts share an
// audience with no overlap and no coordination.
type Shard struct{ K, N int }

// ParseShard reads "K/N" with 0 <= K < N.
func ParseShard(s string) (Shard, error) {
	k, n, ok := strings.Cut(s, "/")
	ki, err1 := strconv.Atoi(k)
	ni, err2 := strconv.Atoi(n)
	if !ok || err1 != nil || err2 != nil || ni < 1 || ki < 0 || ki >= ni {
		return Shard{}, fmt.Errorf("--shard %q: want K/N with 0 <= K < N, e.g. 0/3 (Kubernetes: $JOB_COMPLETION_INDEX/N)", s)
	}
	return Shard{K: ki, N: ni}, nil
}

// Has reports whether the shard takes a recipient id.
func (s Shard) Has(id string) bool {
	if s.N <= 1 {
		return true
	}
	h := fnv.New64a()
	h.Write([]byte(id))
	return h.Sum64()%uint64(s.N) == uint64(s.K)
}

// MaskAddress hides most of an address for output people see.
func MaskAddress(a string) string {
	if a == "" {
		return ""
	}
	if at := strings.LastIndex(a, "@"); at > 0 {
		return a[:1] + "***" + a[at:]
	}
	r := []rune(a)
	keepHead, keepTail := 2, 2
	if strings.HasPrefix(a, "+") {
		keepHead, keepTail = 3, 3
	}
	if len(r) <= keepHead+keepTail {
		return strings.Repeat("*", len(r))
	}
	return string(r[:keepHead]) + strings.Repeat("*", len(r)-keepHead-keepTail) + string(r[len(r)-keepTail:])
}
