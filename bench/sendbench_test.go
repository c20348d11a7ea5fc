// Package bench measures herald's sending speed against in-process provider
// fakes on loopback: each backend through the same decorators herald builds
// from herald.toml (concurrency, rate, retry), with the rate limit off, and
// a whole `send` of a campaign to an SMTP sink (journal included).
//
// The fakes run in the same process, so their CPU counts against the result:
// these are lower bounds of what herald does against a real server on
// another machine. See README.md for the commands.
package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"herald/campaign"
	"herald/channels"
	"herald/channels/builtin"
	"herald/channels/channeltest"
	"herald/state"
	"herald/state/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// channelFromTOML builds one channel the way `herald send` does: herald.toml
// through the registry, decorators included.
func channelFromTOML(b *testing.B, name, section string) *campaign.Channel {
	b.Helper()
	dir := b.TempDir()
	path := filepath.Join(dir, "herald.toml")
	if err := os.WriteFile(path, []byte(section), 0o644); err != nil {
		b.Fatal(err)
	}
	cfg, err := campaign.LoadConfig(campaign.Options{ConfigPath: path, Registry: builtin.Registry()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cfg.Close() })
	ch, err := cfg.Channel(name)
	if err != nil {
		b.Fatal(err)
	}
	return ch
}

// drive sends b.N messages through s from conc goroutines and reports
// msgs/s. msg makes the i-th message.
func drive(b *testing.B, s channels.Sender, conc int, msg func(i int) channels.Message) {
	b.Helper()
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for range conc {
		wg.Go(func() {
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					return
				}
				if _, err := s.Send(context.Background(), msg(int(i))); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}

// emailMessage is about 2 KB on the wire, like DESIGN.md's reference runs:
// a UTF-8 subject, a text and an HTML part, one-click unsubscribe.
func emailMessage(i int) channels.Message {
	id := "r" + strconv.Itoa(i)
	return channels.Message{
		Campaign: "bench", Recipient: id, Channel: "email", Locale: "en",
		To: "customer" + strconv.Itoa(i%1000) + "@example.com", Name: "Customer " + id,
		Subject:        "Your order 12345 is delayed — ご注文の配送が遅れています",
		Text:           strings.Repeat("Hello, your order is late. We are sorry.\n", 25),
		HTML:           "<p>" + strings.Repeat("Hello, your order is late. We are sorry.<br>\n", 22) + "</p>",
		UnsubscribeURL: "https://notify.acme.example/unsubscribe/abcdefghijklmnop",
		ReplyToken:     channels.ReplyToken("bench", id),
	}
}

// BenchmarkSMTP: messages per second from herald's SMTP backend into a
// loopback go-smtp sink, with `concurrency` pooled sessions and as many
// senders.
func BenchmarkSMTP(b *testing.B) {
	for _, conc := range []int{1, 4, 8} {
		b.Run(fmt.Sprintf("concurrency=%d", conc), func(b *testing.B) {
			sink := channeltest.NewSMTP(b)
			sink.Discard()
			ch := channelFromTOML(b, "email", fmt.Sprintf(`[channels.email]
backend = "smtp"
url = %q
from = "Acme Support <support@acme.example>"
reply_to = "replies@acme.example"
concurrency = %d
`, sink.URL(), conc))
			drive(b, channelSender{ch}, conc, emailMessage)
			if sink.Count() < b.N {
				b.Errorf("the sink accepted %d of %d messages", sink.Count(), b.N)
			}
			if sink.Conns() > conc {
				b.Errorf("%d connections for concurrency %d", sink.Conns(), conc)
			}
		})
	}
}

// httpFake is what BenchmarkBackends needs of a fake.
type httpFake interface {
	URL() string
	Discard()
	Accepted() int
	Conns() int
}

// BenchmarkBackends: messages per second from each HTTP backend, through
// the decorators with no rate limit, into its fake.
func BenchmarkBackends(b *testing.B) {
	backends := []struct {
		name    string
		channel string // its name in herald.toml
		fake    func(b *testing.B) httpFake
		section func(url string, conc int) string
		msg     func(i int) channels.Message
	}{
		{
			name:    "twilio",
			channel: "sms",
			fake:    func(b *testing.B) httpFake { return channeltest.NewTwilio(b) },
			section: func(url string, conc int) string {
				return fmt.Sprintf("[channels.sms]\nbackend = \"twilio\"\napi_url = %q\naccount_sid = %q\nauth_token = %q\nfrom = \"+15550001111\"\nconcurrency = %d\n",
					url, channeltest.TwilioAccountSID, channeltest.TwilioAuthToken, conc)
			},
			msg: func(i int) channels.Message {
				return channels.Message{Campaign: "bench", Recipient: "r" + strconv.Itoa(i), Channel: "sms",
					To: fmt.Sprintf("+1202555%04d", i%10000), Text: "Acme: order E-5001 is delayed, new delivery date Nov 25, 2026. Reply STOP to opt out."}
			},
		},
		{
			name:    "vonage",
			channel: "sms",
			fake:    func(b *testing.B) httpFake { return channeltest.NewVonage(b) },
			section: func(url string, conc int) string {
				return fmt.Sprintf("[channels.sms]\nbackend = \"vonage\"\napi_url = %q\napi_key = %q\napi_secret = %q\nfrom = \"Acme\"\nconcurrency = %d\n",
					url, channeltest.VonageAPIKey, channeltest.VonageAPISecret, conc)
			},
			msg: func(i int) channels.Message {
				return channels.Message{Campaign: "bench", Recipient: "r" + strconv.Itoa(i), Channel: "sms",
					To: fmt.Sprintf("+1202555%04d", i%10000), Text: "Acme: order E-5001 is delayed, new delivery date Nov 25, 2026. Reply STOP to opt out."}
			},
		},
		{
			name:    "whatsapp",
			channel: "whatsapp",
			fake:    func(b *testing.B) httpFake { return channeltest.NewWhatsApp(b) },
			section: func(url string, conc int) string {
				return fmt.Sprintf("[channels.whatsapp]\nbackend = \"whatsapp\"\napi_url = %q\nphone_number_id = %q\ntoken = %q\nconcurrency = %d\n",
					url, channeltest.WhatsAppPhoneNumberID, channeltest.WhatsAppToken, conc)
			},
			msg: func(i int) channels.Message {
				return channels.Message{Campaign: "bench", Recipient: "r" + strconv.Itoa(i), Channel: "whatsapp",
					To: fmt.Sprintf("+55119876%05d", i%100000),
					Template: &channels.ProviderTemplate{Name: "shipment_delay", Language: "pt_BR",
						Params: []string{"Ana Souza", "D-4001", "27 de novembro de 2026"}}}
			},
		},
		{
			name:    "telegram",
			channel: "telegram",
			fake:    func(b *testing.B) httpFake { return channeltest.NewTelegram(b) },
			section: func(url string, conc int) string {
				return fmt.Sprintf("[channels.telegram]\nbackend = \"telegram\"\napi_url = %q\ntoken = %q\nconcurrency = %d\n",
					url, channeltest.TelegramToken, conc)
			},
			msg: func(i int) channels.Message {
				return channels.Message{Campaign: "bench", Recipient: "r" + strconv.Itoa(i), Channel: "telegram",
					To: strconv.Itoa(100000000 + i), Text: "Hi Pierre, your order F-6004 is delayed and will arrive on 29 November 2026. Sorry for the wait."}
			},
		},
		{
			name:    "line",
			channel: "line",
			fake:    func(b *testing.B) httpFake { return channeltest.NewLINE(b) },
			section: func(url string, conc int) string {
				return fmt.Sprintf("[channels.line]\nbackend = \"line\"\napi_url = %q\ntoken = %q\nconcurrency = %d\n",
					url, channeltest.LINEToken, conc)
			},
			msg: func(i int) channels.Message {
				id := "r" + strconv.Itoa(i)
				// A new recipient each time: a repeated retry key would be
				// answered 409 without being executed.
				return channels.Message{Campaign: "bench", Recipient: id, Channel: "line",
					To: "U4af4980629a0b1c2d3e4f5a6b7c8d9e0", Text: "Yuki Tanaka様、ご注文 C-3001 は2026年11月26日のお届けとなります。",
					IdempotencyKey: channels.IdempotencyKey("bench", id)}
			},
		},
	}
	for _, be := range backends {
		for _, conc := range []int{1, 4, 8} {
			b.Run(fmt.Sprintf("%s/concurrency=%d", be.name, conc), func(b *testing.B) {
				f := be.fake(b)
				f.Discard()
				ch := channelFromTOML(b, be.channel, be.section(f.URL(), conc))
				drive(b, channelSender{ch}, conc, be.msg)
				if f.Accepted() != b.N {
					b.Errorf("the fake accepted %d of %d messages", f.Accepted(), b.N)
				}
				b.ReportMetric(float64(f.Conns()), "conns")
			})
		}
	}
}

// BenchmarkCampaignSMTP: a whole `herald send` of a 2,000-recipient e-mail
// campaign into the SMTP sink, per run: audience streaming, planning,
// rendering, the journal's group commit (fsync) and the SMTP pool together.
func BenchmarkCampaignSMTP(b *testing.B) {
	for _, conc := range []int{1, 4, 8} {
		b.Run(fmt.Sprintf("concurrency=%d", conc), func(b *testing.B) {
			campaignSMTP(b, conc, func(i int) string { return filepath.Join(b.TempDir(), "state"+strconv.Itoa(i)) })
		})
	}
}

// BenchmarkCampaignSMTPState: the same send at concurrency 8 with the
// state in files, then in PostgreSQL (a fresh database per run; the
// throwaway cluster of state/pgtest, durable commits when
// HERALD_PG_DURABLE=1, or HERALD_TEST_POSTGRES).
func BenchmarkCampaignSMTPState(b *testing.B) {
	b.Run("files", func(b *testing.B) {
		campaignSMTP(b, 8, func(i int) string { return filepath.Join(b.TempDir(), "state"+strconv.Itoa(i)) })
	})
	b.Run("postgres", func(b *testing.B) {
		campaignSMTP(b, 8, func(int) string {
			// a deployed database has its schema: apply it before the clock
			u := pgtest.URL(b)
			st, err := state.Open(u)
			if err == nil {
				_, err = st.Suppressions(context.Background())
				st.Close()
			}
			if err != nil {
				b.Fatal(err)
			}
			return u
		})
	})
}

func campaignSMTP(b *testing.B, conc int, stateFor func(i int) string) {
	const recipients = 2000
	{
		{
			sink := channeltest.NewSMTP(b)
			sink.Discard()
			dir := b.TempDir()
			var csv strings.Builder
			csv.WriteString("id,name,email,locale,timezone,order_id\n")
			for i := range recipients {
				fmt.Fprintf(&csv, "r-%05d,Customer %d,customer%d@example.com,en,UTC,A-%05d\n", i, i, i, i)
			}
			write(b, filepath.Join(dir, "audience.csv"), csv.String())
			write(b, filepath.Join(dir, "templates", "en.toml"), `[email]
subject = "Your order {{.order_id}} is delayed"
text = """
Hi {{.name}},

Your order {{.order_id}} is running late. We are sorry for the wait.
Just reply to this e-mail if you have questions.

Acme Support
Unsubscribe: {{.unsubscribe_url}}
"""
html = """
<p>Hi {{.name}},</p>
<p>Your order <b>{{.order_id}}</b> is running late. We are sorry for the wait.</p>
<p><a href="{{.unsubscribe_url}}">Unsubscribe</a></p>
"""
`)
			write(b, filepath.Join(dir, "campaign.toml"), `name = "bench-email"
audience = "audience.csv"
templates = "templates"
default_locale = "en"
channels = ["email"]

[schedule]
start = "2026-11-23T10:00:00Z"
`)
			write(b, filepath.Join(dir, "herald.toml"), fmt.Sprintf(`public_url = "https://notify.example.com"

[channels.email]
backend = "smtp"
url = %q
from = "Acme Support <support@acme.example>"
reply_to = "replies@acme.example"
concurrency = %d
`, sink.URL(), conc))
			now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
			b.ReportAllocs()
			b.ResetTimer()
			var elapsed time.Duration
			for i := range b.N {
				b.StopTimer()
				cfg, err := campaign.LoadConfig(campaign.Options{ConfigPath: filepath.Join(dir, "herald.toml"),
					StateDir: stateFor(i), Registry: builtin.Registry()})
				if err != nil {
					b.Fatal(err)
				}
				camp, err := campaign.LoadCampaign(filepath.Join(dir, "campaign.toml"), cfg)
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				start := time.Now()
				sum, err := campaign.Send(context.Background(), cfg, camp, campaign.SendOptions{Now: func() time.Time { return now }})
				cfg.Close()
				elapsed += time.Since(start)
				if err != nil {
					b.Fatal(err)
				}
				if sum.Totals.Sent != recipients {
					b.Fatalf("sent %d of %d (failed %d)", sum.Totals.Sent, recipients, sum.Totals.Failed)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N*recipients)/elapsed.Seconds(), "msgs/s")
		}
	}
}

func write(b *testing.B, path, text string) {
	b.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		b.Fatal(err)
	}
}

// channelSender sends through a configured channel's gate and call chain,
// as the send loop does.
type channelSender struct{ ch *campaign.Channel }

func (c channelSender) Send(ctx context.Context, m channels.Message) (channels.Receipt, error) {
	return c.ch.Send(ctx, m)
}
