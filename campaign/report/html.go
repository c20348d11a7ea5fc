package report

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"strings"
)

// Chart colours. The Chromium test looks for these exact colours in a
// screenshot to prove the bars were drawn, so change both together.
const (
	ColorSent     = "#2563eb"
	ColorReplied  = "#16a34a"
	ColorOptedOut = "#dc2626"
)

// WriteHTML writes a self-contained page: inline CSS and inline SVG, no
// scripts, fonts or images from elsewhere, so it can be mailed, attached to
// a ticket or opened offline and looks the same.
func (r *Report) WriteHTML(w io.Writer) error {
	data := struct {
		Title, States, Rate, Median string
		Totals                      Counts
		ChannelChart, LocaleChart   template.HTML
		Tables                      []table
		Notes                       []string
	}{
		Title:        r.Title(),
		States:       strings.Join(r.StateDirs, ", "),
		Rate:         percent(r.Totals),
		Median:       r.MedianText(),
		Totals:       r.Totals,
		ChannelChart: barChart("Sends, replies and opt-outs by channel", r.ByChannel),
		LocaleChart:  barChart("Sends, replies and opt-outs by locale", r.ByLocale),
		Tables: []table{
			{Title: "By channel", Rows: rows(r.ByChannel), Totals: r.Totals, Rate: percent(r.Totals)},
			{Title: "By locale", Rows: rows(r.ByLocale), Totals: r.Totals, Rate: percent(r.Totals)},
		},
	}
	if r.UnmatchedReplies > 0 {
		data.Notes = append(data.Notes, unmatched(r.UnmatchedReplies)+" no send in these journals: is a shard's state directory missing?")
	}
	if r.Totals.InDoubt > 0 {
		data.Notes = append(data.Notes, fmt.Sprintf("%d in doubt: the process stopped during the provider call; herald send --retry-in-doubt retries them.", r.Totals.InDoubt))
	}
	return page.Execute(w, data)
}

type table struct {
	Title  string
	Rows   []row
	Totals Counts
	Rate   string
}

type row struct {
	Key  string
	Rate string
	Counts
}

func rows(m map[string]*Counts) []row {
	var out []row
	for _, k := range sortedKeys(m) {
		out = append(out, row{Key: k, Rate: percent(*m[k]), Counts: *m[k]})
	}
	return out
}

// series is one kind of bar in a chart.
type series struct {
	name  string
	color string
	value func(Counts) int
}

var chartSeries = []series{
	{"sent", ColorSent, func(c Counts) int { return c.Sent }},
	{"replied", ColorReplied, func(c Counts) int { return c.Replied }},
	{"opted out", ColorOptedOut, func(c Counts) int { return c.OptedOut }},
}

// Chart geometry, in SVG user units; the page scales the SVG to its column.
const (
	chartW      = 560
	chartH      = 320
	chartLeft   = 44
	chartRight  = 12
	chartTop    = 34
	chartBottom = 56
)

// barChart draws grouped bars (sent, replied, opted out) for each key of m
// as an inline SVG. Every label goes through the HTML escaper: channel and
// locale names come from the journal, which any process can write.
func barChart(title string, m map[string]*Counts) template.HTML {
	keys := sortedKeys(m)
	var b strings.Builder
	esc := template.HTMLEscapeString
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" role="img" aria-label="%s">`, chartW, chartH, esc(title))
	fmt.Fprintf(&b, `<title>%s</title>`, esc(title))
	// Legend.
	x := chartLeft
	for _, s := range chartSeries {
		fmt.Fprintf(&b, `<rect x="%d" y="8" width="12" height="12" fill="%s"/><text x="%d" y="18" class="legend">%s</text>`, x, s.color, x+16, esc(s.name))
		x += 16 + 8*len(s.name) + 18
	}
	plotW := float64(chartW - chartLeft - chartRight)
	plotH := float64(chartH - chartTop - chartBottom)
	base := float64(chartH - chartBottom)
	max := 0
	for _, k := range keys {
		for _, s := range chartSeries {
			if v := s.value(*m[k]); v > max {
				max = v
			}
		}
	}
	if len(keys) == 0 || max == 0 {
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle" class="empty">nothing sent yet</text></svg>`, chartW/2, chartH/2)
		return template.HTML(b.String())
	}
	top, step := niceScale(max)
	// Grid lines and their values.
	for v := 0; v <= top; v += step {
		y := base - plotH*float64(v)/float64(top)
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" class="grid"/><text x="%d" y="%.1f" text-anchor="end" class="tick">%d</text>`,
			chartLeft, chartW-chartRight, y, y, chartLeft-6, y+4, v)
	}
	groupW := plotW / float64(len(keys))
	barW := math.Min(groupW*0.8/float64(len(chartSeries)), 36)
	rotate := len(keys) > 8 // long lists of locales: slanted labels fit
	for i, k := range keys {
		c := *m[k]
		gx := float64(chartLeft) + groupW*float64(i) + (groupW-barW*float64(len(chartSeries)))/2
		for j, s := range chartSeries {
			v := s.value(c)
			h := plotH * float64(v) / float64(top)
			bx := gx + barW*float64(j)
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s: %d %s</title></rect>`,
				bx, base-h, barW-2, h, s.color, esc(k), v, esc(s.name))
			if v > 0 && barW >= 14 {
				fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle" class="value">%d</text>`, bx+(barW-2)/2, base-h-4, v)
			}
		}
		cx := float64(chartLeft) + groupW*(float64(i)+0.5)
		if rotate {
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="end" transform="rotate(-40 %.1f %.1f)" class="label">%s</text>`, cx, base+14, cx, base+14, esc(k))
		} else {
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle" class="label">%s</text>`, cx, base+18, esc(k))
		}
	}
	fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" class="axis"/></svg>`, chartLeft, chartW-chartRight, base, base)
	return template.HTML(b.String())
}

// niceScale picks the axis top and grid step for a maximum: a step of 1, 2
// or 5 times a power of ten, about five lines, so the grid reads 0 5 10 15.
func niceScale(max int) (top, step int) {
	raw := float64(max) / 5
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	switch f := raw / mag; {
	case f <= 1:
		step = int(mag)
	case f <= 2:
		step = int(2 * mag)
	case f <= 5:
		step = int(5 * mag)
	default:
		step = int(10 * mag)
	}
	if step < 1 {
		step = 1
	}
	top = (max + step - 1) / step * step
	return top, step
}

var page = template.Must(template.New("report").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>herald report: {{.Title}}</title>
<style>
  body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2937; background: #f8fafc; margin: 0; }
  main { max-width: 1160px; margin: 0 auto; padding: 20px; }
  h1 { font-size: 22px; margin: 0 0 2px; }
  h2 { font-size: 16px; margin: 24px 0 8px; }
  .sub { color: #64748b; margin: 0 0 16px; }
  .cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(120px, 1fr)); gap: 10px; }
  .card { background: #fff; border: 1px solid #e2e8f0; border-radius: 8px; padding: 10px 12px; }
  .card b { display: block; font-size: 22px; }
  .card span { color: #64748b; font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
  .charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(460px, 1fr)); gap: 14px; margin-top: 14px; }
  figure { background: #fff; border: 1px solid #e2e8f0; border-radius: 8px; margin: 0; padding: 10px; }
  figcaption { font-weight: 600; margin-bottom: 4px; }
  svg { width: 100%; height: auto; display: block; }
  svg text { font: 12px system-ui, sans-serif; fill: #334155; }
  svg .tick, svg .value { font-size: 11px; fill: #64748b; }
  svg .empty { font-size: 16px; fill: #94a3b8; }
  svg .grid { stroke: #e2e8f0; }
  svg .axis { stroke: #94a3b8; }
  table { border-collapse: collapse; background: #fff; width: 100%; }
  th, td { border-bottom: 1px solid #e2e8f0; padding: 5px 10px; text-align: right; }
  th:first-child, td:first-child { text-align: left; }
  tfoot td { font-weight: 600; }
  .note { background: #fef3c7; border: 1px solid #fcd34d; border-radius: 6px; padding: 6px 10px; margin: 8px 0; }
  @media print { body { background: #fff; } }
</style>
</head>
<body>
<main>
<h1>herald report</h1>
<p class="sub">{{.Title}} · state: {{.States}}</p>
{{range .Notes}}<p class="note">{{.}}</p>
{{end}}<section class="cards">
  <div class="card"><span>sent</span><b>{{.Totals.Sent}}</b></div>
  <div class="card"><span>failed</span><b>{{.Totals.Failed}}</b></div>
  <div class="card"><span>skipped</span><b>{{.Totals.Skipped}}</b></div>
  <div class="card"><span>in doubt</span><b>{{.Totals.InDoubt}}</b></div>
  <div class="card"><span>replied</span><b>{{.Totals.Replied}}</b></div>
  <div class="card"><span>opted out</span><b>{{.Totals.OptedOut}}</b></div>
  <div class="card"><span>reply rate</span><b>{{.Rate}}</b></div>
  <div class="card"><span>median to first reply</span><b>{{.Median}}</b></div>
</section>
<section class="charts">
  <figure><figcaption>By channel</figcaption>{{.ChannelChart}}</figure>
  <figure><figcaption>By locale</figcaption>{{.LocaleChart}}</figure>
</section>
{{range .Tables}}{{template "table" .}}{{end}}</main>
</body>
</html>
{{define "table"}}<h2>{{.Title}}</h2>
<table>
<thead><tr><th></th><th>sent</th><th>failed</th><th>skipped</th><th>in doubt</th><th>replied</th><th>opted out</th><th>reply rate</th></tr></thead>
<tbody>
{{range .Rows}}<tr><td>{{.Key}}</td><td>{{.Sent}}</td><td>{{.Failed}}</td><td>{{.Skipped}}</td><td>{{.InDoubt}}</td><td>{{.Replied}}</td><td>{{.OptedOut}}</td><td>{{.Rate}}</td></tr>
{{end}}</tbody>
<tfoot><tr><td>total</td><td>{{.Totals.Sent}}</td><td>{{.Totals.Failed}}</td><td>{{.Totals.Skipped}}</td><td>{{.Totals.InDoubt}}</td><td>{{.Totals.Replied}}</td><td>{{.Totals.OptedOut}}</td><td>{{.Rate}}</td></tr></tfoot>
</table>
{{end}}`))
