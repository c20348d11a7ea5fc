package campaign

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"herald/audience"
	"herald/channels"
	"herald/locales"
	"herald/templates"
)

// Finding is one problem `herald check` reports.
type Finding struct {
	File     string `json:"file"`
	Line     int    `json:"line"`
	Severity string `json:"severity"` // "error" or "warning"
	Message  string `json:"message"`
}

func (f Finding) String() string {
	loc := f.File
	if f.Line > 0 {
		loc = fmt.Sprintf("%s:%d", f.File, f.Line)
	}
	if f.Severity == "warning" {
		return fmt.Sprintf("%s: warning: %s", loc, f.Message)
	}
	return fmt.Sprintf("%s: %s", loc, f.Message)
}

// CheckStats says what a check covered.
type CheckStats struct {
	Recipients int
	Messages   int // rendered (recipient, channel) pairs
	Locales    map[string]int
	Channels   map[string]int
}

var locationPrefix = regexp.MustCompile(`^([^\s:][^:]*):(\d+): (?s)(.*)$`)

// findingsOf turns an error (possibly joined, possibly a ConfigError) into
// findings, keeping the file and line that each message starts with.
func findingsOf(err error, severity string) []Finding {
	if err == nil {
		return nil
	}
	switch e := err.(type) {
	case *FileError:
		return []Finding{{File: e.File, Line: e.Line, Severity: severity, Message: e.Msg}}
	case *templates.Error:
		return []Finding{{File: e.File, Line: e.Line, Severity: severity, Message: e.Msg}}
	case interface{ Unwrap() []error }:
		var out []Finding
		for _, inner := range e.Unwrap() {
			out = append(out, findingsOf(inner, severity)...)
		}
		return out
	}
	if m := locationPrefix.FindStringSubmatch(err.Error()); m != nil {
		line, _ := strconv.Atoi(m[2])
		return []Finding{{File: m[1], Line: line, Severity: severity, Message: m[3]}}
	}
	return []Finding{{Severity: severity, Message: err.Error()}}
}

// Check validates a campaign end to end without sending: the config, the
// campaign file, every template, every audience row, and every message the
// plan needs, rendered for each recipient's locale and for each channel it
// may use (the chosen one and its fallbacks), with each backend's checks
// (SMS segments, WhatsApp parameters). It streams the audience. The error
// is ctx's when the check was interrupted; the findings are then partial.
func Check(ctx context.Context, cfg *Config, campaignPath string) ([]Finding, CheckStats, error) {
	stats := CheckStats{Locales: map[string]int{}, Channels: map[string]int{}}
	c, err := LoadCampaign(campaignPath, cfg)
	if err != nil {
		return findingsOf(err, "error"), stats, nil
	}
	findings := outboxFindings(cfg, c)
	// Settings that load but deserve a word (tls_insecure_skip_verify).
	findings = append(findings, findingsOf(errors.Join(cfg.Warnings...), "warning")...)
	// A template file that does not load still leaves the others, and the
	// audience, to check: report everything, so one run lists every
	// problem. Load returns the files that did load alongside the errors.
	var p *planner
	set, err := LoadTemplates(c.Templates)
	if err != nil {
		findings = append(findings, findingsOf(err, "error")...)
	}
	if set != nil {
		for _, pr := range set.Problems(c.DefaultLocale) {
			findings = append(findings, Finding{File: pr.File, Line: pr.Line, Severity: pr.Severity, Message: pr.Message})
		}
		if p, err = newPlanner(ctx, cfg, c, time.Now(), set); err != nil {
			return append(findings, findingsOf(err, "error")...), stats, nil
		}
	}
	r, err := audience.OpenContext(ctx, c.Audience, c.AudienceOptions(cfg.ChannelNames()))
	if err != nil {
		return append(findings, findingsOf(err, "error")...), stats, nil
	}
	defer r.Close()

	// The same template problem shows up for many recipients: report it
	// once per (file, line, section) with a count.
	type key struct {
		file    string
		line    int
		section string
		sev     string
	}
	type keyed struct {
		key key
		f   Finding
	}
	type rowResult struct {
		locale   string
		fellBack string // the customer's locale when it got default_locale for want of a template
		channels []string
		rendered int // messages that rendered (a failed or skipped render is not counted)
		found    []keyed
	}
	fallbacks := map[string]int{} // customer locale -> customers given default_locale
	grouped := map[key]*Finding{}
	counts := map[key]int{}
	var order []key
	work := func(rec *audience.Recipient) rowResult {
		if p == nil {
			return rowResult{}
		}
		row := p.Plan(rec)
		defer row.Release()
		res := rowResult{locale: row.Locale}
		if row.LocaleDefault && rec.Locale != "" {
			res.fellBack = rec.Locale
		}
		where := fmt.Sprintf("recipient %q (%s:%d)", rec.ID, c.Audience, rec.Line)
		for _, cand := range row.Candidates {
			res.channels = append(res.channels, cand.Channel.Name)
			msg, err := p.content(row, cand)
			if errors.Is(err, templates.ErrBroken) {
				continue // its file's problems are reported already
			}
			if err != nil {
				for _, f := range findingsOf(err, "error") {
					f.Message = fmt.Sprintf("%s [for %s]", f.Message, where)
					res.found = append(res.found, keyed{key{f.File, f.Line, cand.Channel.Name, "error"}, f})
				}
				continue
			}
			res.rendered++
			chk, ok := channels.Unwrap(cand.Channel.Sender).(channels.Checker)
			if !ok {
				continue
			}
			for _, prob := range chk.Check(msg) {
				sev := prob.Severity
				if sev == "" {
					sev = "error"
				}
				f := Finding{File: set.File(row.Locale), Severity: sev, Message: fmt.Sprintf("[%s] %s [for %s]", cand.Channel.Name, prob.Message, where)}
				res.found = append(res.found, keyed{key{f.File, 0, cand.Channel.Name + prob.Message[:min(12, len(prob.Message))], sev}, f})
			}
		}
		return res
	}
	walkErr := eachRow(ctx, r, work, func(rec *audience.Recipient, res rowResult, rowErr error) error {
		if rowErr != nil {
			var rowErrs audience.RowErrors
			errors.As(rowErr, &rowErrs)
			for _, re := range rowErrs {
				findings = append(findings, Finding{File: re.File, Line: re.Line, Severity: "error", Message: strings.TrimPrefix(re.Error(), fmt.Sprintf("%s:%d: ", re.File, re.Line))})
			}
			return nil
		}
		stats.Recipients++
		if p == nil {
			return nil
		}
		stats.Locales[res.locale]++
		if res.fellBack != "" {
			fallbacks[res.fellBack]++
		}
		for _, ch := range res.channels {
			stats.Channels[ch]++
		}
		stats.Messages += res.rendered
		for _, k := range res.found {
			if grouped[k.key] == nil {
				f := k.f
				grouped[k.key] = &f
				order = append(order, k.key)
			}
			counts[k.key]++
		}
		return nil
	})
	if walkErr != nil {
		if ctx.Err() != nil {
			return findings, stats, ctx.Err()
		}
		findings = append(findings, findingsOf(walkErr, "error")...)
	}
	findings = append(findings, localeFallbackFindings(c, fallbacks)...)
	for _, k := range order {
		f := *grouped[k]
		if n := counts[k]; n > 1 {
			f.Message += fmt.Sprintf(" (and %d more recipients)", n-1)
		}
		findings = append(findings, f)
	}
	sortFindings(findings)
	return findings, stats, nil
}

// outboxFindings warns about the campaign's channels that write to the
// outbox only because herald.toml does not configure them (SPEC 1.1), at
// the campaign's channels line.
func outboxFindings(cfg *Config, c *Campaign) []Finding {
	var out []Finding
	for _, notice := range cfg.OutboxNotices(c.Channels) {
		out = append(out, Finding{File: c.File, Line: c.channelsLine, Severity: "warning", Message: notice})
	}
	return out
}

// localeFallbackFindings warns, once per customer locale, about customers
// who get default_locale because no template serves their language: a
// translation may be missing, or the audience's locale column is off.
func localeFallbackFindings(c *Campaign, fallbacks map[string]int) []Finding {
	locs := make([]string, 0, len(fallbacks))
	for l := range fallbacks {
		locs = append(locs, l)
	}
	sort.Strings(locs)
	out := make([]Finding, 0, len(locs))
	for _, l := range locs {
		n := fallbacks[l]
		who := fmt.Sprintf("%d customers with locale %s get", n, l)
		if n == 1 {
			who = fmt.Sprintf("1 customer with locale %s gets", l)
		}
		lang := l
		if tag, err := locales.ParseTag(l); err == nil {
			base, _ := tag.Base()
			lang = base.String()
		}
		out = append(out, Finding{File: c.File, Line: c.defaultLocaleLine, Severity: "warning",
			Message: fmt.Sprintf("%s %s (default_locale): no %s template", who, c.DefaultLocale, lang)})
	}
	return out
}

func sortFindings(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		if fs[i].File != fs[j].File {
			return fs[i].File < fs[j].File
		}
		return fs[i].Line < fs[j].Line
	})
}

// CountFindings counts findings by severity.
func CountFindings(fs []Finding) (errs, warnings int) {
	for _, f := range fs {
		if f.Severity == "warning" {
			warnings++
		} else {
			errs++
		}
	}
	return
}

// FindingsOf lists the problems an error holds (a configuration error may
// hold several), each with its file and line when known.
func FindingsOf(err error) []Finding { return findingsOf(err, "error") }
