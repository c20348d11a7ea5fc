package campaign

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"herald/audience"
	"herald/campaign/csvsafe"
	"herald/channels"
	"herald/channels/sms"
)

// PlanRecord is one row of `herald plan --format csv|json`, with exactly
// the fields SPEC 2 lists.
type PlanRecord struct {
	ID        string   `json:"id"`
	Channel   string   `json:"channel"`
	Address   string   `json:"address"`
	Locale    string   `json:"locale"`
	SendAt    string   `json:"send_at"`
	SendAtUTC string   `json:"send_at_utc"`
	State     string   `json:"state"`
	Reason    string   `json:"reason"`
	Fallbacks []string `json:"fallbacks"`
}

// Record turns a planned row into its output form (address masked).
func (r *planRow) Record() PlanRecord {
	rec := PlanRecord{
		ID: r.Recipient.ID, Channel: r.Channel(), Address: MaskAddress(r.Address()), Locale: r.Locale,
		State: r.State, Reason: r.Reason, Fallbacks: r.FallbackNames(),
	}
	if rec.Fallbacks == nil {
		rec.Fallbacks = []string{}
	}
	if !r.SendAt.IsZero() {
		rec.SendAt = r.SendAt.Format(time.RFC3339)
		rec.SendAtUTC = r.SendAt.UTC().Format(time.RFC3339)
	}
	return rec
}

// PlanTotals are the totals printed after the rows.
type PlanTotals struct {
	Recipients int
	Invalid    int
	ByState    map[string]int
	ByChannel  map[string]int
	ByLocale   map[string]int
	ByHour     map[string]int // recipient-local hour "09:00"
	Segments   map[string]int // SMS channels: total segments
	Cost       map[string]float64
	InDoubt    []string // ids, so people can look them up
}

// PlanOptions are the flags of `herald plan`.
type PlanOptions struct {
	Now    time.Time
	Shard  Shard
	Format string // table, csv, json
}

// WritePlan plans every recipient and writes the rows as they come (the
// audience is streamed; nothing is held per recipient), then the totals for
// the table format. Invalid rows are listed as state "skipped", reason
// "invalid", with the error written to errw.
func WritePlan(ctx context.Context, cfg *Config, c *Campaign, opts PlanOptions, w, errw io.Writer) (*PlanTotals, error) {
	p, err := openPlanner(ctx, cfg, c, opts.Now)
	if err != nil {
		return nil, err
	}
	r, err := audience.OpenContext(ctx, c.Audience, c.AudienceOptions(cfg.ChannelNames()))
	if err != nil {
		return nil, err
	}
	defer r.Close()
	t := &PlanTotals{ByState: map[string]int{}, ByChannel: map[string]int{}, ByLocale: map[string]int{}, ByHour: map[string]int{}, Segments: map[string]int{}, Cost: map[string]float64{}}
	out := newPlanWriter(opts.Format, w)
	type planned struct {
		row      *planRow
		segments int
	}
	work := func(rec *audience.Recipient) planned {
		if !opts.Shard.Has(rec.ID) {
			return planned{}
		}
		row := p.Plan(rec)
		pl := planned{row: row}
		// Segments need the rendered SMS, so they are counted here, on
		// the workers, rather than while writing.
		if len(row.Candidates) > 0 && row.Candidates[0].Channel.Kind == channels.KindSMS && row.State != StateSent {
			if msg, err := p.content(row, row.Candidates[0]); err == nil {
				pl.segments = sms.Segments(msg.Text).Segments
			}
			row.Release()
		}
		return pl
	}
	err = eachRow(ctx, r, work, func(rec *audience.Recipient, pl planned, rowErr error) error {
		if rowErr != nil {
			var rowErrs audience.RowErrors
			errors.As(rowErr, &rowErrs)
			t.Invalid++
			fmt.Fprintln(errw, rowErr)
			return out.write(PlanRecord{ID: rowIDHint(rowErrs), State: StateSkipped, Reason: ReasonInvalid, Fallbacks: []string{}})
		}
		row := pl.row
		if row == nil {
			return nil // another shard's
		}
		t.Recipients++
		t.ByState[row.State]++
		if row.State == StateInDoubt {
			t.InDoubt = append(t.InDoubt, rec.ID)
		}
		if ch := row.Channel(); ch != "" {
			t.ByChannel[ch]++
			t.ByLocale[row.Locale]++
			t.ByHour[row.SendAt.Format("15:00")]++
			price := row.Candidates[0].Channel.Price
			switch {
			case row.State == StateSent:
			case pl.segments > 0:
				t.Segments[ch] += pl.segments
				t.Cost[ch] += float64(pl.segments) * price
			default:
				t.Cost[ch] += price
			}
		}
		return out.write(row.Record())
	})
	if err != nil {
		return nil, err
	}
	if err := out.close(); err != nil {
		return nil, err
	}
	if opts.Format == "table" || opts.Format == "" {
		writeTotals(w, t)
	}
	return t, ctx.Err()
}

func rowIDHint(errs audience.RowErrors) string {
	for _, e := range errs {
		if e.Column == "id" {
			return ""
		}
	}
	return fmt.Sprintf("line %d", errs[0].Line)
}

type planWriter struct {
	format string
	w      io.Writer
	csv    *csvsafe.Writer // customer data: no live formulas in a spreadsheet
	tab    *tabwriter.Writer
	n      int
}

func newPlanWriter(format string, w io.Writer) *planWriter {
	pw := &planWriter{format: format, w: w}
	switch format {
	case "csv":
		pw.csv = csvsafe.NewWriter(w)
		_ = pw.csv.Write([]string{"id", "channel", "address", "locale", "send_at", "send_at_utc", "state", "reason", "fallbacks"})
	case "json":
		io.WriteString(w, "[")
	default:
		pw.tab = tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
		fmt.Fprintln(pw.tab, "ID\tCHANNEL\tADDRESS\tLOCALE\tSEND AT (LOCAL)\tSTATE\tREASON\tFALLBACKS")
	}
	return pw
}

func (pw *planWriter) write(r PlanRecord) error {
	pw.n++
	switch pw.format {
	case "csv":
		return pw.csv.Write([]string{r.ID, r.Channel, r.Address, r.Locale, r.SendAt, r.SendAtUTC, r.State, r.Reason, strings.Join(r.Fallbacks, "|")})
	case "json":
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		sep := ",\n"
		if pw.n == 1 {
			sep = "\n"
		}
		_, err = io.WriteString(pw.w, sep+string(b))
		return err
	default:
		at := r.SendAt
		if len(at) >= 16 {
			at = strings.Replace(at[:16], "T", " ", 1) + " " + at[19:]
		}
		_, err := fmt.Fprintf(pw.tab, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, dash(r.Channel), dash(r.Address), dash(r.Locale), dash(at), r.State, dash(r.Reason), dash(strings.Join(r.Fallbacks, ",")))
		return err
	}
}

func (pw *planWriter) close() error {
	switch pw.format {
	case "csv":
		pw.csv.Flush()
		return pw.csv.Error()
	case "json":
		_, err := io.WriteString(pw.w, "\n]\n")
		return err
	default:
		return pw.tab.Flush()
	}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func writeTotals(w io.Writer, t *PlanTotals) {
	fmt.Fprintf(w, "\n%d recipients", t.Recipients)
	for _, st := range []string{StateDue, StateScheduled, StateSent, StateInDoubt, StateFailed, StateSkipped} {
		if n := t.ByState[st]; n > 0 {
			fmt.Fprintf(w, ", %d %s", n, st)
		}
	}
	if t.Invalid > 0 {
		fmt.Fprintf(w, ", %d invalid rows", t.Invalid)
	}
	fmt.Fprintln(w)
	section := func(title string, m map[string]int) {
		if len(m) == 0 {
			return
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = fmt.Sprintf("%s %d", k, m[k])
		}
		fmt.Fprintf(w, "%-12s %s\n", title+":", strings.Join(parts, ", "))
	}
	section("by channel", t.ByChannel)
	section("by locale", t.ByLocale)
	section("by hour", t.ByHour)
	section("sms segments", t.Segments)
	var cost []string
	for ch, c := range t.Cost {
		if c > 0 {
			cost = append(cost, fmt.Sprintf("%s %.2f", ch, c))
		}
	}
	sort.Strings(cost)
	if len(cost) > 0 {
		fmt.Fprintf(w, "%-12s %s (price per message or SMS segment, as configured)\n", "est. cost:", strings.Join(cost, ", "))
	}
	if len(t.InDoubt) > 0 {
		fmt.Fprintf(w, "in doubt:    %s (a send was interrupted mid-call; `herald send --retry-in-doubt` sends them again)\n", strings.Join(t.InDoubt[:min(10, len(t.InDoubt))], ", "))
	}
}
