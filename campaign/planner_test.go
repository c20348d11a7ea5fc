package campaign

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"herald/audience"
	"herald/channels/builtin"
	"herald/state"
)

// testSetup writes herald.toml, a campaign and templates into a temp dir
// and loads them the way the CLI does.
func testSetup(t *testing.T, heraldTOML, campaignTOML string) (*Config, *Campaign) {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"herald.toml":   heraldTOML,
		"campaign.toml": campaignTOML,
		"t/en.toml":     "[default]\ntext = \"Hi {{.name}}\"\n",
		"t/id.toml":     "[default]\ntext = \"Halo {{.name}}\"\n",
		"people.csv":    "id\n",
	}
	for name, body := range files {
		path := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(path), 0o755)
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := LoadConfig(Options{ConfigPath: filepath.Join(dir, "herald.toml"), Registry: builtin.Registry()})
	if err != nil {
		t.Fatal(err)
	}
	c, err := LoadCampaign(filepath.Join(dir, "campaign.toml"), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cfg, c
}

func recipients(t *testing.T, csv string) []*audience.Recipient {
	t.Helper()
	r, err := audience.NewReader(strings.NewReader(csv), "people.csv", audience.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var out []*audience.Recipient
	for {
		rec, err := r.Next()
		if err != nil {
			if err == io.EOF {
				return out
			}
			t.Fatalf("bad test row: %v", err)
		}
		out = append(out, rec)
	}
}

func TestChannelChoice(t *testing.T) {
	cfg, c := testSetup(t, `
[regions]
JP = ["line", "email"]
ID = ["whatsapp", "sms", "email", "telegram"]
`, `
name = "choice"
audience = "people.csv"
templates = "t"
default_locale = "en"
channels = ["whatsapp", "line", "sms", "email"]
`)
	if _, err := cfg.Store.AddSuppression(context.Background(), state.Suppression{Address: "blocked@example.com", Channel: "email"}); err != nil {
		t.Fatal(err)
	}
	if _, err := cfg.Store.AddSuppression(context.Background(), state.Suppression{Address: "+6281200000009", Channel: "all"}); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	p, err := openPlanner(context.Background(), cfg, c, now)
	if err != nil {
		t.Fatal(err)
	}
	recs := recipients(t, `id,email,phone,whatsapp,line,country,channels,opt_out
own-order,a@example.com,+6281200000001,,,ID,sms;email,
region,b@example.com,+819012345678,,U4af4980629a0b1c2d3e4f5a6b7c8d9e0,JP,,
region-drops-unlisted,c@example.com,+6281200000002,,,ID,,
campaign-order,d@example.com,+393471234567,,,IT,,
whatsapp-uses-phone,,+6281200000003,,,ID,,
whatsapp-column-wins,,+6281200000004,+6281299999999,,ID,,
first-no-address,e@example.com,,,,IT,,
first-opted-out,f@example.com,+6281200000005,,,ID,,whatsapp
first-suppressed,blocked@example.com,+393471234568,,,IT,email,
all-opted-out,g@example.com,+6281200000006,,,ID,,all
only-suppressed,,+6281200000009,,,ID,,
nothing,,,,,,,
suppressed-then-no-address,blocked@example.com,,,,IT,email,
`)
	tests := map[string]struct {
		channel   string
		fallbacks []string
		state     string
		reason    string
	}{
		"own-order":                  {"sms", []string{"email", "whatsapp"}, StateDue, ""},
		"region":                     {"line", []string{"email"}, StateDue, ""},
		"region-drops-unlisted":      {"whatsapp", []string{"sms", "email"}, StateDue, ""},
		"campaign-order":             {"whatsapp", []string{"sms", "email"}, StateDue, ""},
		"whatsapp-uses-phone":        {"whatsapp", []string{"sms"}, StateDue, ""},
		"whatsapp-column-wins":       {"whatsapp", []string{"sms"}, StateDue, ""},
		"first-no-address":           {"email", nil, StateDue, ReasonNoAddress},
		"first-opted-out":            {"sms", []string{"email"}, StateDue, ReasonOptedOut},
		"first-suppressed":           {"whatsapp", []string{"sms"}, StateDue, ReasonSuppressed},
		"all-opted-out":              {"", nil, StateSkipped, ReasonOptedOut},
		"only-suppressed":            {"", nil, StateSkipped, ReasonSuppressed},
		"nothing":                    {"", nil, StateSkipped, ReasonNoChannel},
		"suppressed-then-no-address": {"", nil, StateSkipped, ReasonSuppressed},
	}
	for _, rec := range recs {
		want, ok := tests[rec.ID]
		if !ok {
			t.Fatalf("no expectation for %s", rec.ID)
		}
		row := p.Plan(rec)
		if row.Channel() != want.channel || !slices.Equal(row.FallbackNames(), want.fallbacks) || row.State != want.state || row.Reason != want.reason {
			t.Errorf("%s: got channel %q fallbacks %v state %s reason %q; want %q %v %s %q",
				rec.ID, row.Channel(), row.FallbackNames(), row.State, row.Reason, want.channel, want.fallbacks, want.state, want.reason)
		}
	}
	if got := p.Plan(recs[4]).Address(); got != "+6281200000003" {
		t.Errorf("whatsapp address from phone: %q", got)
	}
	if got := p.Plan(recs[5]).Address(); got != "+6281299999999" {
		t.Errorf("whatsapp column should win over phone: %q", got)
	}
}

func TestNoFallbackWhenDisabled(t *testing.T) {
	cfg, c := testSetup(t, "", `
name = "nofb"
audience = "people.csv"
templates = "t"
default_locale = "en"
channels = ["sms", "email"]
fallback = false
`)
	p, err := openPlanner(context.Background(), cfg, c, time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	row := p.Plan(recipients(t, "id,email,phone\na,a@example.com,+6281200000001\n")[0])
	if row.Channel() != "sms" || len(row.FallbackNames()) != 0 {
		t.Fatalf("got %s %v, want sms and no fallbacks", row.Channel(), row.FallbackNames())
	}
}

func TestScheduleAndStates(t *testing.T) {
	cfg, c := testSetup(t, `quiet_hours = "21:00-08:00"`, `
name = "sched"
audience = "people.csv"
templates = "t"
default_locale = "en"
channels = ["email"]
[schedule]
start = "2026-11-23T10:00"
window = "09:00-20:00"
days = ["mon", "tue", "wed", "thu", "fri"]
expire = "48h"
default_timezone = "Asia/Jakarta"
`)
	recs := recipients(t, `id,email,timezone,locale
jakarta,a@example.com,,in
new-york,b@example.com,America/New_York,en-US
kathmandu,c@example.com,Asia/Kathmandu,de
`)
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	p, err := openPlanner(context.Background(), cfg, c, now)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		rec             *audience.Recipient
		sendAt          string
		state, locale   string
		localeReasonHas string
	}{
		{recs[0], "2026-11-23T10:00:00+07:00", StateDue, "id", "exact"},
		{recs[1], "2026-11-23T10:00:00-05:00", StateScheduled, "en", "en-US"},
		{recs[2], "2026-11-23T10:00:00+05:45", StateDue, "en", "default"},
	}
	for _, tc := range cases {
		row := p.Plan(tc.rec)
		if got := row.SendAt.Format(time.RFC3339); got != tc.sendAt || row.State != tc.state || row.Locale != tc.locale {
			t.Errorf("%s: send_at %s state %s locale %s; want %s %s %s", tc.rec.ID, got, row.State, row.Locale, tc.sendAt, tc.state, tc.locale)
		}
		if !strings.Contains(row.LocaleReason, tc.localeReasonHas) {
			t.Errorf("%s: locale reason %q should mention %q", tc.rec.ID, row.LocaleReason, tc.localeReasonHas)
		}
	}
	// Three days later the wall-time start + 48h has passed: expired.
	p.Now = now.Add(72 * time.Hour)
	if row := p.Plan(recs[1]); row.State != StateDue {
		t.Errorf("a scheduled send time in the past is due (the journal decides sent): %s", row.State)
	}
}

// SPEC 3: with no usable channel the refusal is the reason whatever the
// time; expired applies only to a recipient who could have been sent to.
func TestReasonPrecedenceWhenExpired(t *testing.T) {
	cfg, c := testSetup(t, "", `
name = "late"
audience = "people.csv"
templates = "t"
default_locale = "en"
channels = ["sms", "email"]
[schedule]
start = "2026-11-24T10:00:00Z"
days = ["mon"]
expire = "24h"
default_timezone = "UTC"
`)
	if _, err := cfg.Store.AddSuppression(context.Background(), state.Suppression{Address: "+6281200000002", Channel: "all", Source: state.SourceKeyword}); err != nil {
		t.Fatal(err)
	}
	recs := recipients(t, `id,email,phone,opt_out
opted-out-and-expired,a@example.com,+6281200000001,all
suppressed-and-expired,,+6281200000002,
no-channel-and-expired,,,
usable-and-expired,d@example.com,,
`)
	// Start is a Tuesday and only Mondays are open: the first send time,
	// six days on, is past start + expire for everyone.
	p, err := openPlanner(context.Background(), cfg, c, time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"opted-out-and-expired":  ReasonOptedOut,
		"suppressed-and-expired": ReasonSuppressed,
		"no-channel-and-expired": ReasonNoChannel,
		"usable-and-expired":     ReasonExpired,
	}
	for _, rec := range recs {
		row := p.Plan(rec)
		if row.State != StateSkipped || row.Reason != want[rec.ID] {
			t.Errorf("%s: state %s reason %q, want skipped %q", rec.ID, row.State, row.Reason, want[rec.ID])
		}
	}
}

func TestShardsPartitionTheAudience(t *testing.T) {
	const n = 3
	seen := map[string]int{}
	for i := range 1000 {
		id := "customer-" + strconv.Itoa(i)
		for k := range n {
			if (Shard{K: k, N: n}).Has(id) {
				seen[id]++
			}
		}
	}
	for id, c := range seen {
		if c != 1 {
			t.Fatalf("%s is in %d shards", id, c)
		}
	}
	if len(seen) != 1000 {
		t.Fatalf("%d ids in some shard, want 1000", len(seen))
	}
	for _, bad := range []string{"3/3", "-1/2", "a/b", "1", "0/0"} {
		if _, err := ParseShard(bad); err == nil {
			t.Errorf("ParseShard(%q) accepted", bad)
		}
	}
}

func TestMaskAddress(t *testing.T) {
	for in, want := range map[string]string{
		"+6281234567890":    "+62********890",
		"alice@example.com": "a***@example.com",
		"Uabc":              "****",
		"123456789":         "12*****89",
	} {
		if got := MaskAddress(in); got != want {
			t.Errorf("MaskAddress(%q) = %q, want %q", in, got, want)
		}
	}
}
