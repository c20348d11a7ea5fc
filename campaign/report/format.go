package report

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"herald/campaign/csvsafe"
	"herald/state"
)

// Formats are the values of `herald report --format`.
var Formats = []string{"table", "csv", "json", "html"}

// Write writes the report in one of Formats.
func (r *Report) Write(w io.Writer, format string) error {
	switch format {
	case "table", "":
		return r.WriteTable(w)
	case "csv":
		return r.WriteCSV(w)
	case "json":
		return r.WriteJSON(w)
	case "html":
		return r.WriteHTML(w)
	}
	return fmt.Errorf("unknown format %q: want %s", format, strings.Join(Formats, ", "))
}

// jsonReport is the JSON form: exactly the SPEC's three groups, plus the
// two figures that are not counts.
type jsonReport struct {
	Totals    Counts             `json:"totals"`
	ByChannel map[string]*Counts `json:"by_channel"`
	ByLocale  map[string]*Counts `json:"by_locale"`
	ReplyRate float64            `json:"reply_rate"`
	// Median seconds from send to first reply; null when nobody replied.
	MedianSeconds *int64 `json:"median_time_to_first_reply_seconds"`
	// InDoubtReasons counts the in-doubt pairs by reason.
	InDoubtReasons map[string]int `json:"in_doubt_reasons,omitempty"`
}

// WriteJSON writes one object; map keys come out sorted, so the output is
// stable for a given state.
func (r *Report) WriteJSON(w io.Writer) error {
	out := jsonReport{Totals: r.Totals, ByChannel: r.ByChannel, ByLocale: r.ByLocale, ReplyRate: round4(r.Totals.ReplyRate())}
	if r.Totals.InDoubt > 0 {
		out.InDoubtReasons = map[string]int{state.InDoubtLostResponse: r.InDoubtLost, state.InDoubtKilled: r.InDoubtKilled}
	}
	if r.HasMedian {
		s := int64(r.MedianFirstReply.Round(time.Second) / time.Second)
		out.MedianSeconds = &s
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func round4(f float64) float64 { return math.Round(f*10000) / 10000 }

// CSVColumns are the columns of `report --format csv`: one row per group
// and key, the totals first (group "totals", key "all").
var CSVColumns = []string{"group", "key", "sent", "failed", "skipped", "in_doubt", "replied", "opted_out"}

// WriteCSV writes the totals, then by_channel and by_locale rows in key
// order.
func (r *Report) WriteCSV(w io.Writer) error {
	cw := csvsafe.NewWriter(w)
	_ = cw.Write(CSVColumns)
	row := func(group, key string, c Counts) {
		_ = cw.Write([]string{group, key, itoa(c.Sent), itoa(c.Failed), itoa(c.Skipped), itoa(c.InDoubt), itoa(c.Replied), itoa(c.OptedOut)})
	}
	row("totals", "all", r.Totals)
	for _, k := range sortedKeys(r.ByChannel) {
		row("by_channel", k, *r.ByChannel[k])
	}
	for _, k := range sortedKeys(r.ByLocale) {
		row("by_locale", k, *r.ByLocale[k])
	}
	cw.Flush()
	return cw.Error()
}

func itoa(n int) string { return strconv.Itoa(n) }

func sortedKeys(m map[string]*Counts) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// WriteTable writes the report for people: what was counted, then a
// channel table and a locale table with a total row, then the reply
// figures and anything that looks wrong with the state read.
func (r *Report) WriteTable(w io.Writer) error {
	fmt.Fprintf(w, "%s\n", r.Title())
	fmt.Fprintf(w, "state: %s\n\n", strings.Join(r.StateDirs, ", "))
	if len(r.Campaigns) == 0 {
		fmt.Fprintln(w, "Nothing in the journal yet: run `herald send` first.")
		return nil
	}
	// Numbers align right; the first column is padded by hand so names
	// still read left-aligned.
	width := len("CHANNEL")
	for _, m := range []map[string]*Counts{r.ByChannel, r.ByLocale} {
		for k := range m {
			width = max(width, len(k))
		}
	}
	for _, t := range []struct {
		title string
		m     map[string]*Counts
	}{{"CHANNEL", r.ByChannel}, {"LOCALE", r.ByLocale}} {
		tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintf(tw, "%-*s\tSENT\tFAILED\tSKIPPED\tIN DOUBT\tREPLIED\tOPTED OUT\tREPLY RATE\t\n", width, t.title)
		line := func(k string, c Counts) {
			fmt.Fprintf(tw, "%-*s\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t\n", width, k, c.Sent, c.Failed, c.Skipped, c.InDoubt, c.Replied, c.OptedOut, percent(c))
		}
		for _, k := range sortedKeys(t.m) {
			line(k, *t.m[k])
		}
		line("total", r.Totals)
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "reply rate: %s (%d replied of %d sent)\n", percent(r.Totals), r.Totals.Replied, r.Totals.Sent)
	fmt.Fprintf(w, "median time to first reply: %s\n", r.MedianText())
	if r.Totals.InDoubt > 0 {
		fmt.Fprintf(w, "%d in doubt (%d lost-response: the provider's answer was lost; %d killed: the process stopped mid-call): the provider may have their message; `herald send --retry-in-doubt` asks providers that can tell, then resends the rest; `herald history ID` shows each\n", r.Totals.InDoubt, r.InDoubtLost, r.InDoubtKilled)
	}
	if r.UnmatchedReplies > 0 {
		fmt.Fprintf(w, "%s no send in these journals (another shard's state dir? pass every one with --state-dir)\n", unmatched(r.UnmatchedReplies))
	}
	if r.TornLines > 0 {
		fmt.Fprintf(w, "%d journal line(s) torn by a crash were skipped\n", r.TornLines)
	}
	return nil
}

// Title names what the report covers.
func (r *Report) Title() string {
	if r.Campaign != "" {
		return "campaign " + r.Campaign
	}
	switch len(r.Campaigns) {
	case 0:
		return "all campaigns"
	case 1:
		return "campaign " + r.Campaigns[0]
	}
	return fmt.Sprintf("%d campaigns: %s", len(r.Campaigns), strings.Join(r.Campaigns, ", "))
}

// MedianText is the median time to first reply for people ("1h30m0s"),
// or "no replies".
func (r *Report) MedianText() string {
	if !r.HasMedian {
		return "no replies"
	}
	return r.MedianFirstReply.Round(time.Second).String()
}

func percent(c Counts) string {
	if c.Sent == 0 {
		return "-"
	}
	return strconv.FormatFloat(100*c.ReplyRate(), 'f', 1, 64) + "%"
}

func unmatched(n int) string {
	if n == 1 {
		return "1 reply matches"
	}
	return strconv.Itoa(n) + " replies match"
}
