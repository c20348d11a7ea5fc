package audience

import (
	"errors"
	"fmt"
	"herald/channels/mailaddr"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/text/language"
)

// validator checks rows on one goroutine. Everything it reads besides its
// own cache is fixed when the Reader is built, so every pipeline worker
// has a validator of its own and they never wait for one another.
type validator struct {
	name  string
	known map[string]bool // lower-cased KnownChannels; nil when any name goes
	cache valueCache
}

// check validates a record and, when every column is fine, returns the
// recipient. Every problem of the row is collected, not only the first.
//
// It does the part of validation that depends on the row alone, so rows can
// be checked in any order and on any goroutine. Whether the id repeats an
// earlier row depends on the rows before it: Reader.emit decides that, in
// file order, and puts the error at index len(rec.problems) of the list,
// where the id's problems belong.
func (vr *validator) check(rec *record) (*Recipient, RowErrors) {
	var errs RowErrors
	if len(rec.problems) > 0 {
		errs = append(errs, rec.problems...)
	}
	fail := func(col int, err error) {
		errs = append(errs, &RowError{File: vr.name, Line: rec.line, Column: stdNames[col], Value: rec.std[col], Err: err})
	}
	v := &rec.std
	rcp := &Recipient{Line: rec.line, ID: v[colID], Name: v[colName], Telegram: v[colTelegram], LineID: v[colLine]}

	if rcp.ID == "" {
		fail(colID, errors.New("empty: every row needs a unique id"))
	}

	if s := v[colEmail]; s != "" {
		e, err := normEmail(s)
		if err != nil {
			fail(colEmail, err)
		}
		rcp.Email = e
	}

	// The country comes before the phone numbers: it is the region their
	// national forms are read in.
	countryOK := true
	if s := v[colCountry]; s != "" {
		c, err := normCountry(s)
		if err != nil {
			fail(colCountry, err)
			countryOK = false
		}
		rcp.Country = c
	}
	if s := v[colPhone]; s != "" {
		e164, region, err := normPhone(s, rcp.Country, countryOK)
		if err != nil {
			fail(colPhone, err)
		}
		rcp.Phone = e164
		if rcp.Country == "" && countryOK {
			rcp.Country = region
		}
	}
	if s := v[colWhatsApp]; s != "" {
		// A national WhatsApp number is read in the row's country, which
		// may have just been inferred from an international phone number.
		e164, region, err := normPhone(s, rcp.Country, countryOK)
		if err != nil {
			fail(colWhatsApp, err)
		}
		rcp.WhatsApp = e164
		if rcp.Country == "" && countryOK {
			rcp.Country = region
		}
	}

	if s := v[colTelegram]; s != "" {
		if err := checkTelegram(s); err != nil {
			fail(colTelegram, err)
		}
	}
	if s := v[colLine]; s != "" {
		if err := checkLineID(s); err != nil {
			fail(colLine, err)
		}
	}
	if s := v[colLocale]; s != "" {
		tag, err := vr.cache.locale(s)
		if err != nil {
			fail(colLocale, err)
		}
		rcp.Locale = tag
	}
	if s := v[colTimezone]; s != "" {
		loc, err := vr.cache.zone(s)
		if err != nil {
			fail(colTimezone, err)
		}
		rcp.Zone = loc
	}
	if s := v[colChannels]; s != "" {
		list, err := vr.channelList(s, false)
		if err != nil {
			fail(colChannels, err)
		}
		rcp.Channels = list
	}
	if s := v[colOptOut]; s != "" {
		list, err := vr.channelList(s, true)
		if err != nil {
			fail(colOptOut, err)
		}
		rcp.OptOut = list
	}
	if errs != nil {
		return nil, errs
	}

	names := rec.keys
	if !rec.sharedKeys {
		names = slices.Clone(names)
	}
	values := make([]string, len(names))
	for i, k := range names {
		if k == "" {
			continue
		}
		val := rec.vals[i]
		if c, ok := stdIndex[strings.ToLower(k)]; ok {
			val = rcp.Address(stdNames[c])
		}
		values[i] = val
	}
	rcp.Fields = Fields{names: names, values: values}
	return rcp, nil
}

// normEmail checks an address with net/mail and lower-cases its domain
// (the local part is left alone: some servers treat it case-sensitively).
func normEmail(s string) (string, error) {
	if at, ok := plainAddress(s); ok {
		return lowerDomain(s, at), nil
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return "", fmt.Errorf("not a valid e-mail address (%s): write it like name@example.com", clip(strings.TrimPrefix(err.Error(), "mail: ")))
	}
	if a.Name != "" || strings.ContainsAny(s, "<>") {
		return "", errors.New("write the address alone, without a display name or angle brackets")
	}
	at := strings.LastIndexByte(a.Address, '@')
	domain := a.Address[at+1:]
	if !strings.Contains(domain, ".") && !strings.HasPrefix(domain, "[") {
		return "", fmt.Errorf("the domain %s has no dot: check for a missing \".com\" or similar", quote(domain))
	}
	return lowerDomain(a.Address, at), nil
}

func lowerDomain(addr string, at int) string {
	if domain := addr[at+1:]; strings.ToLower(domain) != domain {
		return addr[:at+1] + strings.ToLower(domain)
	}
	return addr
}

// plainAddress recognises the addresses nearly every audience holds,
// local@domain with ASCII dot-atoms on both sides and a dot in the domain,
// without net/mail's parser (a fifth of checking a million rows). For such
// an address net/mail returns the address unchanged, so the result is the
// same; anything else (quotes, comments, brackets, non-ASCII, a display
// name) goes through net/mail. It returns the index of the '@'.
func plainAddress(s string) (int, bool) {
	at := strings.IndexByte(s, '@')
	if at <= 0 || at == len(s)-1 || !mailaddr.IsDotAtom(s[:at]) || !mailaddr.IsDotAtom(s[at+1:]) {
		return 0, false
	}
	return at, strings.IndexByte(s[at+1:], '.') > 0
}

// normCountry accepts an ISO 3166-1 alpha-2 code in any case and returns it
// upper-case; the x/text region table tells assigned codes from others.
func normCountry(s string) (string, error) {
	up := strings.ToUpper(s)
	reg, err := language.ParseRegion(up)
	known := err == nil && reg.IsCountry()
	if len(up) != 2 || up[0] < 'A' || up[0] > 'Z' || up[1] < 'A' || up[1] > 'Z' {
		if known && len(reg.String()) == 2 {
			return "", fmt.Errorf("use the 2-letter ISO 3166-1 code %q", reg.String())
		}
		return "", errors.New("not an ISO 3166-1 alpha-2 country code: use two letters like ID, IT or BR")
	}
	if !known {
		return "", errors.New("unknown ISO 3166-1 alpha-2 country code: use an assigned code like ID, IT or BR")
	}
	// Reserved or withdrawn codes (UK, BU, YU...) map to the code in use.
	if c := reg.Canonicalize().String(); c != up {
		return "", fmt.Errorf("not an ISO 3166-1 code in use: use %q", c)
	}
	return up, nil
}

// checkTelegram accepts what the Bot API takes as chat_id: a 64-bit integer
// (groups and channels are negative) or @username of a public channel.
func checkTelegram(s string) error {
	if name, ok := strings.CutPrefix(s, "@"); ok {
		if len(name) < 5 || len(name) > 32 || !isLetter(name[0]) {
			return errors.New("not a Telegram @channelname: it has 5 to 32 letters, digits or underscores and starts with a letter")
		}
		for i := 0; i < len(name); i++ {
			if c := name[i]; !isLetter(c) && (c < '0' || c > '9') && c != '_' {
				return errors.New("not a Telegram @channelname: it has 5 to 32 letters, digits or underscores and starts with a letter")
			}
		}
		return nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err != nil || n == 0 || s[0] == '+' {
		return errors.New("not a Telegram chat id: use the integer chat id (like 123456789 or -1001234567890) or @channelname")
	}
	return nil
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// checkLineID accepts a LINE user (U), group (C) or room (R) id: the letter
// and 32 lower-case hexadecimal digits.
func checkLineID(s string) error {
	ok := len(s) == 33 && (s[0] == 'U' || s[0] == 'C' || s[0] == 'R')
	for i := 1; ok && i < len(s); i++ {
		c := s[i]
		ok = c >= '0' && c <= '9' || c >= 'a' && c <= 'f'
	}
	if !ok {
		return errors.New("not a LINE id: it is U (user), C (group) or R (room) followed by 32 lower-case hex digits")
	}
	return nil
}

// channelList splits a channel list on , ; | or white space, lower-cases
// the names and drops repeats. In opt_out, "all" stands for every channel.
func (vr *validator) channelList(s string, optOut bool) ([]string, error) {
	var list []string
	var unknown []string
	for name := range strings.FieldsFuncSeq(s, func(c rune) bool {
		return c == ',' || c == ';' || c == '|' || c == ' ' || c == '\t' || c == '\n' || c == '\r'
	}) {
		name = strings.ToLower(name)
		if optOut && name == "all" {
			return []string{"all"}, nil
		}
		if slices.Contains(list, name) {
			continue
		}
		if vr.known != nil && !vr.known[name] {
			unknown = append(unknown, name)
		}
		list = append(list, name)
	}
	if unknown != nil {
		known := make([]string, 0, len(vr.known)+1)
		for k := range vr.known {
			known = append(known, k)
		}
		slices.Sort(known)
		if optOut {
			known = append(known, "all")
		}
		word := "channel"
		if len(unknown) > 1 {
			word = "channels"
		}
		return nil, fmt.Errorf("unknown %s %s: use %s", word, quoteList(unknown), strings.Join(known, ", "))
	}
	return list, nil
}

// quoteList quotes the first few names: a hostile row can hold
// thousands, and a message is for a person to read.
func quoteList(names []string) string {
	const shown = 5
	q := make([]string, 0, shown+1)
	for _, n := range names[:min(len(names), shown)] {
		q = append(q, quote(n))
	}
	if len(names) > shown {
		q = append(q, fmt.Sprintf("and %d more", len(names)-shown))
	}
	return strings.Join(q, ", ")
}

// valueCache remembers the result of parsing locales and zones: an audience
// has few distinct values in these columns, and loading a zone from the
// embedded database costs far more than a map lookup.
//
// Each goroutine that validates rows has its own valueCache, read and
// written without locks. A miss goes to the sharedValues of the Reader,
// which parses each value once for all goroutines, so every recipient of a
// file with the same zone name gets the same *time.Location.
type valueCache struct {
	zones   map[string]*time.Location
	locales map[string]localeResult
	shared  *sharedValues
}

type localeResult struct {
	tag string
	err error
}

// maxLocaleCache bounds the locale caches so a file with many distinct
// (mostly wrong) values cannot grow memory without limit.
const maxLocaleCache = 4096

func newValueCache(shared *sharedValues) valueCache {
	return valueCache{zones: make(map[string]*time.Location), locales: make(map[string]localeResult), shared: shared}
}

func (c *valueCache) zone(s string) (*time.Location, error) {
	if loc, ok := c.zones[s]; ok {
		return loc, nil
	}
	loc, err := c.shared.zone(s)
	if err != nil {
		return nil, err
	}
	// Only valid names are kept: there are a few hundred of them. The key
	// is a copy so the cache does not hold on to the row s came from.
	c.zones[strings.Clone(s)] = loc
	return loc, nil
}

func (c *valueCache) locale(s string) (string, error) {
	if res, ok := c.locales[s]; ok {
		return res.tag, res.err
	}
	res := c.shared.locale(s)
	if len(c.locales) < maxLocaleCache {
		c.locales[strings.Clone(s)] = res
	}
	return res.tag, res.err
}

// sharedValues is the Reader-wide cache behind every valueCache. Values are
// parsed outside the lock (loading a zone takes tens of microseconds); when
// two goroutines parse the same new value at once, the first result stored
// wins and both return it.
type sharedValues struct {
	mu      sync.Mutex
	zones   map[string]*time.Location
	locales map[string]localeResult
}

func newSharedValues() *sharedValues {
	return &sharedValues{zones: make(map[string]*time.Location), locales: make(map[string]localeResult)}
}

func (c *sharedValues) zone(s string) (*time.Location, error) {
	c.mu.Lock()
	loc, ok := c.zones[s]
	c.mu.Unlock()
	if ok {
		return loc, nil
	}
	// "Local" would make the result depend on the host's setting.
	if s == "Local" {
		return nil, errors.New("unknown time zone")
	}
	loc, err := time.LoadLocation(s)
	if err != nil {
		return nil, errors.New("unknown time zone")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if prev, ok := c.zones[s]; ok {
		return prev, nil
	}
	c.zones[strings.Clone(s)] = loc
	return loc, nil
}

func (c *sharedValues) locale(s string) localeResult {
	c.mu.Lock()
	res, ok := c.locales[s]
	c.mu.Unlock()
	if ok {
		return res
	}
	tag, err := parseLocale(s)
	res = localeResult{tag, err}
	c.mu.Lock()
	if len(c.locales) < maxLocaleCache {
		c.locales[strings.Clone(s)] = res
	}
	c.mu.Unlock()
	return res
}

// parseLocale reads a BCP 47 tag; "pt_BR" and legacy codes (in, iw, ji) are
// accepted and canonicalised ("pt-BR", "id", "he", "yi").
func parseLocale(s string) (string, error) {
	t, err := language.Parse(strings.ReplaceAll(s, "_", "-"))
	if err != nil {
		var ve interface{ Subtag() string }
		if errors.As(err, &ve) {
			return "", fmt.Errorf("unknown language subtag %q: use a BCP 47 tag like \"id\", \"pt-BR\" or \"zh-Hant-TW\"", ve.Subtag())
		}
		return "", errors.New("not a BCP 47 language tag: use one like \"id\", \"pt-BR\" or \"zh-Hant-TW\"")
	}
	return t.String(), nil
}
