package replies

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "mail", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestExtractReplyFixtures(t *testing.T) {
	tests := []struct {
		file string
		want Email
	}{
		{
			// Gmail: multipart/alternative, attribution wrapped over two
			// lines, '>' quotes containing the original's own signature.
			file: "gmail.eml",
			want: Email{
				MessageID:  "<CAHx9mTz0qLp4wQ@mail.gmail.com>",
				InReplyTo:  "<c.shipment-delay.r42.7f3a@notify.acme.example>",
				References: []string{"<c.shipment-delay.r42.7f3a@notify.acme.example>"},
				From:       "alice@example.com",
				To:         "replies+k5gq2wzh3ybn6xaa@acme.example",
				Subject:    "Re: Your parcel is delayed",
				Date:       time.Date(2026, 11, 23, 10, 42, 17, 0, time.UTC),
				Text:       "Yes, Tuesday afternoon works for me.\nCould you leave it with the neighbour at no. 12 if I'm out?\n\nAlice",
			},
		},
		{
			// Outlook desktop: the text part has the From/Sent/To/Subject
			// block and the original below it, unquoted.
			file: "outlook.eml",
			want: Email{
				MessageID:  "<AM0PR07MB1234ABCD5678@AM0PR07MB1234.eurprd07.prod.outlook.com>",
				InReplyTo:  "<c.shipment-delay.r43.9b1c@notify.acme.example>",
				References: []string{"<c.shipment-delay.r43.9b1c@notify.acme.example>"},
				From:       "bob@example.org",
				To:         "replies+m2ztq7nxa4fbk3cd@acme.example",
				Subject:    "RE: Your parcel is delayed",
				Date:       time.Date(2026, 11, 23, 9, 15, 2, 0, time.UTC),
				Text:       "Hi,\n\nPlease cancel the redelivery, I will collect it from the depot.\n\nKind regards\nBob",
			},
		},
		{
			// Outlook on the web, HTML only: rendered to text, cut at the
			// <hr>; entities decoded; herald's Reply-To moved to Cc.
			file: "html-only.eml",
			want: Email{
				MessageID: "<PR3P195MB0866F2@PR3P195MB0866.EURP195.PROD.OUTLOOK.COM>",
				InReplyTo: "<c.shipment-delay.r44.2d6e@notify.acme.example>",
				From:      "renee@example.net",
				To:        "replies+q3rvx6ad2m7b4ntc@acme.example",
				Subject:   "Re: Your parcel is delayed",
				Date:      time.Date(2026, 11, 23, 10, 31, 5, 0, time.UTC),
				Text:      "Thursday morning is better — between 9 and 11.\n\nCafé Renée & Co.",
			},
		},
		{
			// Italian: RFC 2047 Q subject, quoted-printable UTF-8 body,
			// "Il giorno … ha scritto:", folded References.
			file: "italian.eml",
			want: Email{
				MessageID:  "<CAJ8r7vQzK@mail.gmail.com>",
				InReplyTo:  "<c.shipment-delay.r45.aa01@notify.acme.example>",
				References: []string{"<c.intro.r45.0001@notify.acme.example>", "<c.shipment-delay.r45.aa01@notify.acme.example>"},
				From:       "giulia.rossi@example.it",
				To:         "replies+ab12cd34ef56gh78@acme.example",
				Subject:    "Re: La tua spedizione è in ritardo",
				Date:       time.Date(2026, 11, 23, 11, 5, 44, 0, time.UTC),
				Text:       "Va bene, grazie. Però martedì non ci sono: può consegnare mercoledì?\nCosì è più comodo.",
			},
		},
		{
			// Japanese: RFC 2047 B subject, base64 UTF-8 body, "iPhoneから送信"
			// and "… のメッセージ:".
			file: "japanese.eml",
			want: Email{
				MessageID:  "<8F1E2D3C-4B5A-6978-8695-A4B3C2D1E0F9@example.jp>",
				InReplyTo:  "<c.shipment-delay.r46.5e5e@notify.acme.example>",
				References: []string{"<c.shipment-delay.r46.5e5e@notify.acme.example>"},
				From:       "taro.yamada@example.jp",
				To:         "replies+zz9yx8wv7ut6sr5q@acme.example",
				Subject:    "Re: お荷物の配達遅延のお知らせ",
				Date:       time.Date(2026, 11, 23, 10, 20, 0, 0, time.UTC),
				Text:       "承知しました。\n水曜日の午前中に再配達をお願いします。",
			},
		},
		{
			// Mutt: no quote at all, a "-- " signature with a phone number.
			file: "signature.eml",
			want: Email{
				MessageID: "<20261124080100.5f3e@example.co.uk>",
				InReplyTo: "<c.shipment-delay.r47.77aa@notify.acme.example>",
				From:      "carla@example.co.uk",
				To:        "replies+p0q9r8s7t6u5v4w3@acme.example",
				Subject:   "Re: Your parcel is delayed",
				Date:      time.Date(2026, 11, 24, 8, 1, 0, 0, time.UTC),
				Text:      "Got it, thanks! Friday is fine.",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := ExtractReply(readFixture(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if got.Text != tt.want.Text {
				t.Errorf("Text =\n%q\nwant\n%q", got.Text, tt.want.Text)
			}
			if got.MessageID != tt.want.MessageID || got.InReplyTo != tt.want.InReplyTo ||
				!slices.Equal(got.References, tt.want.References) {
				t.Errorf("ids = %q %q %q, want %q %q %q", got.MessageID, got.InReplyTo, got.References,
					tt.want.MessageID, tt.want.InReplyTo, tt.want.References)
			}
			if got.From != tt.want.From || got.To != tt.want.To || got.Subject != tt.want.Subject {
				t.Errorf("From/To/Subject = %q %q %q, want %q %q %q", got.From, got.To, got.Subject,
					tt.want.From, tt.want.To, tt.want.Subject)
			}
			if !got.Date.Equal(tt.want.Date) {
				t.Errorf("Date = %v, want %v", got.Date, tt.want.Date)
			}
		})
	}
}

// The classifier sees what ExtractReply returns, so a one-word opt-out sent
// from a phone must come out as exactly the word.
func TestExtractReplyKeywordFromPhone(t *testing.T) {
	raw := "From: alice@example.com\r\nTo: replies+abc@acme.example\r\nSubject: Re: news\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n\r\n" +
		"STOP\r\n\r\nSent from my iPhone\r\n\r\n> On 23 Nov 2026, at 10:00, Acme <notify@acme.example> wrote:\r\n> Hello\r\n"
	e, err := ExtractReply([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	if e.Text != "STOP" || Classify(e.Text) != ActionStop {
		t.Fatalf("Text = %q (action %q), want STOP", e.Text, Classify(e.Text))
	}
}

// Each history marker on its own, in a minimal text/plain reply.
func TestExtractReplyMarkers(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"outlook original message", "Fine by me.\n\n-----Original Message-----\nFrom: Acme\nSent: Monday\n\nHello", "Fine by me."},
		{"german original message", "Passt.\n\n-----Ursprüngliche Nachricht-----\nVon: Acme\nGesendet: Montag\n", "Passt."},
		{"underscore separator", "Fine.\n________________________________\nFrom: Acme\nHello", "Fine."},
		{"outlook header block, spanish", "Vale.\n\nDe: Acme <notify@acme.example>\nEnviado: lunes, 23 de noviembre de 2026 10:00\nPara: Ana\n", "Vale."},
		{"french attribution", "D'accord.\n\nLe lun. 23 nov. 2026 à 10:00, Acme <notify@acme.example> a écrit :\n\n> Bonjour", "D'accord."},
		{"indonesian attribution", "Baik, terima kasih.\n\nPada tanggal Sen, 23 Nov 2026 pukul 10.00 Acme <notify@acme.example> menulis:\n\n> Halo", "Baik, terima kasih."},
		{"portuguese attribution", "Pode ser.\n\nEm seg., 23 de nov. de 2026 às 10:00, Acme <notify@acme.example> escreveu:\n\n> Olá", "Pode ser."},
		{"german attribution", "Passt gut.\n\nAm Mo., 23. Nov. 2026 um 10:00 Uhr schrieb Acme <notify@acme.example>:\n\n> Hallo", "Passt gut."},
		{"attribution without quotes cuts the rest", "OK\n\nOn 23/11/2026 10:00, Acme wrote:\nHello Alice, your parcel is late.", "OK"},
		{"bottom posting keeps the reply under the quote", "On Mon, Nov 23, 2026 at 10:00 AM Acme <notify@acme.example> wrote:\n> Which day suits you?\n\nWednesday, please.", "Wednesday, please."},
		{"inline quote removed", "> Which day suits you?\nWednesday.\n> Morning or afternoon?\nMorning.", "Wednesday.\nMorning."},
		{"signature delimiter without space", "Thanks\n--\nDana", "Thanks"},
		{"spanish mobile signature", "Perfecto\n\nEnviado desde mi iPhone", "Perfecto"},
		{"german mobile signature", "Danke\n\nVon meinem iPhone gesendet", "Danke"},
		{"a From line of the customer's own stays", "From: my office we can see the van.\nThanks", "From: my office we can see the van.\nThanks"},
		{"a 'wrote:' line of the customer's own stays", "My neighbour wrote:\nplease ring twice", "My neighbour wrote:\nplease ring twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := "From: a@example.com\r\nSubject: Re: x\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
				strings.ReplaceAll(tt.body, "\n", "\r\n")
			e, err := ExtractReply([]byte(raw))
			if err != nil {
				t.Fatal(err)
			}
			if e.Text != tt.want {
				t.Errorf("Text = %q, want %q", e.Text, tt.want)
			}
		})
	}
}

// An HTML-only reply quoting with <blockquote> (Gmail, Apple Mail): the
// quote and its attribution go, line breaks and entities come out right.
func TestExtractReplyHTMLBlockquote(t *testing.T) {
	raw := "From: Ana <ana@example.es>\r\nTo: replies+t0k@acme.example\r\nSubject: Re: x\r\n" +
		"Content-Type: text/html; charset=utf-8\r\n\r\n" +
		`<div dir="ltr">¡Gracias!<div>Mejor el <b>jueves</b>&nbsp;por la tarde.</div><div><br></div><div>Ana</div></div>` +
		`<br><div class="gmail_quote"><div class="gmail_attr">El lun, 23 nov 2026 a las 10:00, Acme ` +
		`(&lt;<a href="mailto:notify@acme.example">notify@acme.example</a>&gt;) escribió:<br></div>` +
		`<blockquote class="gmail_quote">Hola Ana,<br>tu pedido se retrasa.</blockquote></div>`
	e, err := ExtractReply([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	if want := "¡Gracias!\nMejor el jueves por la tarde.\n\nAna"; e.Text != want {
		t.Fatalf("Text = %q, want %q", e.Text, want)
	}
}

func TestExtractReplyNoSender(t *testing.T) {
	_, err := ExtractReply([]byte("Subject: hi\r\n\r\nbody\r\n"))
	if err == nil || !strings.Contains(err.Error(), "From") {
		t.Fatalf("err = %v, want an error about the missing From", err)
	}
}

func TestTokenFromAddress(t *testing.T) {
	tests := []struct {
		addr, token string
		ok          bool
	}{
		{"replies+abc123@acme.example", "abc123", true},
		{"Replies+ABC123@Acme.Example", "abc123", true},
		{"Acme <replies+k5gq2wzh3ybn6xaa@acme.example>", "k5gq2wzh3ybn6xaa", true},
		{"\"Acme, Inc\" <replies+tok@acme.example>", "tok", true},
		{"replies+a+b@acme.example", "a+b", true}, // detail is everything after the first '+'
		{"replies@acme.example", "", false},
		{"replies+@acme.example", "", false},
		{"+tok@acme.example", "tok", true},
		{"not an address", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		tok, ok := TokenFromAddress(tt.addr)
		if tok != tt.token || ok != tt.ok {
			t.Errorf("TokenFromAddress(%q) = %q, %v; want %q, %v", tt.addr, tok, ok, tt.token, tt.ok)
		}
	}
}
