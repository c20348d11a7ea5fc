// Package telegram sends messages through the Telegram Bot API
// (sendMessage) and verifies and parses its webhook updates.
//
// Message.Text is sent as-is in Message.ParseMode, which comes from the
// template section's parse_mode: the template layer renders the final text
// and escapes the customer data in it for that mode (EscapeHTML,
// EscapeMarkdownV2) while keeping the template's own markup, so this backend
// never escapes anything. Only the template knows which parts are data, so
// the mode is the template's to choose, not the channel's; a section without
// parse_mode is sent as plain text, which nothing can break.
//
// The bot token is part of every request URL (/bot<token>/sendMessage), so
// errors are built without the URL and scrubbed of the token.
//
// Options in herald.toml:
//
//	[channels.telegram]
//	backend = "telegram"
//	token = "${TELEGRAM_BOT_TOKEN}"
//	secret_token = "${TELEGRAM_WEBHOOK_SECRET}"  # setWebhook's secret_token
package telegram

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"

	"herald/channels"
)

// Backend registers the telegram backend.
var Backend = channels.Backend{Name: "telegram", Kind: channels.KindTelegram, New: New,
	Webhook: &channels.Webhook{Route: "telegram", SecretOption: "secret_token"}}

// MaxTextLength is Telegram's limit on a message's text after entity parsing.
// herald counts it in UTF-16 code units (an emoji counts 2), the unit
// Telegram uses for entity offsets; when Telegram counts characters this is
// never more lenient than the real limit.
const MaxTextLength = 4096

const defaultBaseURL = "https://api.telegram.org"

// Parse modes accepted in parse_mode.
const (
	ModeHTML       = "HTML"
	ModeMarkdownV2 = "MarkdownV2"
	ModePlain      = ""
)

// Options are the backend's keys of [channels.<name>].
type Options struct {
	Token       channels.Secret `toml:"token"`
	SecretToken channels.Secret `toml:"secret_token"`
}

// Sender sends through one bot.
type Sender struct {
	endpoint    string
	token       channels.Secret
	secretToken channels.Secret
	client      *http.Client
}

var (
	_ channels.Sender        = (*Sender)(nil)
	_ channels.Checker       = (*Sender)(nil)
	_ channels.Encoder       = (*Sender)(nil)
	_ channels.InboundParser = (*Sender)(nil)
)

// New validates the options and builds the sender; it does not use the
// network.
func New(s channels.Settings) (channels.Sender, error) {
	var o Options
	if s.Decode != nil {
		if err := s.Decode(&o); err != nil {
			return nil, fmt.Errorf("telegram: %s", channels.Scrub(err.Error(), o.Token.Reveal(), o.SecretToken.Reveal()))
		}
	}
	if o.Token == "" {
		return nil, errors.New("telegram: token is required (the bot token from @BotFather)")
	}
	// The token becomes a path segment: anything that would change the URL
	// is a configuration mistake (a pasted URL, a trailing newline).
	if strings.ContainsAny(o.Token.Reveal(), "/?#% \t\r\n") {
		return nil, errors.New("telegram: token must be the bare bot token (like 123456:ABC-DEF...), not a URL; it holds a character that is not allowed")
	}
	base, err := s.BaseURL(defaultBaseURL)
	if err != nil {
		return nil, fmt.Errorf("telegram: %w", err)
	}
	client := s.Client()
	return &Sender{
		endpoint:    base + "/bot" + o.Token.Reveal() + "/sendMessage",
		token:       o.Token,
		secretToken: o.SecretToken,
		client:      client,
	}, nil
}

// String describes the sender without its secrets: fmt does not call
// Secret.String on unexported fields, so printing the struct would show them.
func (s *Sender) String() string { return "telegram sender (" + s.scrub(s.endpoint) + ")" }

// GoString hides the secrets from %#v too.
func (s *Sender) GoString() string { return s.String() }

// Send sends one message; ProviderID is "<chat_id>:<message_id>", the form
// ParseInbound uses for InReplyTo.
func (s *Sender) Send(ctx context.Context, m channels.Message) (channels.Receipt, error) {
	body, err := RequestBody(m, m.ParseMode)
	if err != nil {
		return channels.Receipt{}, channels.PermanentError(err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.endpoint, bytes.NewReader(body))
	if err != nil {
		// NewRequest quotes the URL, which holds the token.
		return channels.Receipt{}, channels.PermanentError(fmt.Errorf("telegram: building request: %s", s.scrub(err.Error())))
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := channels.Do(s.client, req, "telegram", "sending", s.token.Reveal(), s.secretToken.Reveal())
	if err != nil {
		return channels.Receipt{}, err
	}
	defer resp.Body.Close()
	data, readErr := channels.ReadBody(resp)

	var r apiResponse
	jsonErr := json.Unmarshal(data, &r)
	if resp.StatusCode >= 200 && resp.StatusCode < 300 && (readErr != nil || jsonErr != nil || r.OK) {
		// Accepted: even an unreadable answer must not cause a second send.
		rc := channels.Receipt{}
		if r.OK && r.Result.MessageID != 0 {
			rc.ProviderID = m.To + ":" + strconv.FormatInt(r.Result.MessageID, 10)
		}
		return rc, nil
	}
	if jsonErr != nil || r.OK {
		return channels.Receipt{}, channels.ClassifyHTTP("telegram", resp, s.scrub(channels.Snippet(data)))
	}
	return channels.Receipt{}, s.classify(resp, r)
}

type apiResponse struct {
	OK     bool `json:"ok"`
	Result struct {
		MessageID int64 `json:"message_id"`
	} `json:"result"`
	ErrorCode   int    `json:"error_code"`
	Description string `json:"description"`
	Parameters  struct {
		RetryAfter      int   `json:"retry_after"`
		MigrateToChatID int64 `json:"migrate_to_chat_id"`
	} `json:"parameters"`
}

// classify turns {"ok":false,...} into a classified error named after
// Telegram's code and description, such as
// "telegram: 403 Forbidden: bot was blocked by the user".
func (s *Sender) classify(resp *http.Response, r apiResponse) error {
	code := r.ErrorCode
	if code == 0 {
		code = resp.StatusCode
	}
	msg := fmt.Sprintf("telegram: %d %s", code, strings.TrimSpace(r.Description))
	if r.Parameters.MigrateToChatID != 0 {
		msg += fmt.Sprintf(" (the group is now supergroup %d: update the audience)", r.Parameters.MigrateToChatID)
	}
	err := errors.New(s.scrub(msg))
	switch {
	case code == http.StatusTooManyRequests:
		wait := time.Duration(r.Parameters.RetryAfter) * time.Second
		if wait == 0 {
			wait = channels.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
		}
		return channels.TemporaryError(err, wait)
	case code == http.StatusUnauthorized || code == http.StatusNotFound:
		// 401: the token was revoked; 404: no bot has this token, so the
		// method's URL does not exist.
		return channels.ChannelError(err, "check token: it must be the bot token @BotFather gave, like 123456:ABC-DEF...")
	case code == http.StatusForbidden:
		// Telegram's 403 is about the chat, not the bot: the user blocked
		// it, never started it, deleted the account, or removed it from
		// the group. Telegram tells these apart only in the description.
		// Blocking or removing the bot is the user saying stop.
		if optedOut(r.Description) {
			return channels.ProviderOptOutError(err)
		}
		return channels.PermanentError(err)
	}
	return channels.ClassifyStatus(resp, err)
}

// optedOut reports whether a 403's description says the user blocked the
// bot or removed it from the chat.
func optedOut(description string) bool {
	d := strings.ToLower(description)
	return strings.Contains(d, "bot was blocked by the user") || strings.Contains(d, "bot was kicked")
}

func (s *Sender) scrub(text string) string {
	return channels.Scrub(text, s.token.Reveal(), s.secretToken.Reveal())
}

type request struct {
	ChatID             any            `json:"chat_id"`
	Text               string         `json:"text"`
	ParseMode          string         `json:"parse_mode,omitempty"`
	LinkPreviewOptions previewOptions `json:"link_preview_options"`
}

type previewOptions struct {
	IsDisabled bool `json:"is_disabled"`
}

// chatID returns a numeric chat id as int64 (ids exceed 32 bits and may be
// negative for groups) or a "@channelusername" as a string.
func chatID(to string) (any, error) {
	if n, err := strconv.ParseInt(to, 10, 64); err == nil {
		return n, nil
	}
	if len(to) > 1 && to[0] == '@' && !strings.ContainsAny(to, " \t\r\n") {
		return to, nil
	}
	return nil, fmt.Errorf("telegram: chat id %q is neither a number nor @channelusername", to)
}

// RequestBody returns the JSON body of sendMessage for m in parseMode
// ("HTML", "MarkdownV2" or "" for plain text). m.Text is sent as-is. It
// fails on anything Check reports as an error.
func RequestBody(m channels.Message, parseMode string) ([]byte, error) {
	id, err := chatID(m.To)
	if err != nil {
		return nil, err
	}
	for _, p := range problems(m, parseMode) {
		if p.Severity == "error" {
			return nil, errors.New("telegram: " + p.Message)
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	// Keep HTML markup readable in outbox files; JSON does not need it escaped.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(request{ChatID: id, Text: m.Text, ParseMode: parseMode, LinkPreviewOptions: previewOptions{IsDisabled: true}}); err != nil {
		return nil, fmt.Errorf("telegram: encoding request: %w", err)
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// Encode returns the request body Send would post.
func (s *Sender) Encode(m channels.Message) ([]byte, string, error) {
	b, err := RequestBody(m, m.ParseMode)
	return b, "json", err
}

// Check reports, without the network, what Telegram would refuse.
func (s *Sender) Check(m channels.Message) []channels.Problem {
	ps := problems(m, m.ParseMode)
	if _, err := chatID(m.To); err != nil {
		ps = append([]channels.Problem{{Severity: "error", Message: strings.TrimPrefix(err.Error(), "telegram: ")}}, ps...)
	}
	return ps
}

func problems(m channels.Message, parseMode string) []channels.Problem {
	n := VisibleLength(m.Text, parseMode)
	switch {
	case strings.TrimSpace(m.Text) == "" || n == 0:
		return []channels.Problem{{Severity: "error", Message: "text is empty"}}
	case n > MaxTextLength:
		return []channels.Problem{{Severity: "error", Message: fmt.Sprintf(
			"text is %d UTF-16 units after %s markup, more than Telegram's %d", n, modeName(parseMode), MaxTextLength)}}
	}
	return nil
}

func modeName(mode string) string {
	if mode == "" {
		return "plain"
	}
	return mode
}

// VisibleLength is the length of text as Telegram shows it, in UTF-16 code
// units: HTML tags are not counted and an entity counts as one character;
// in MarkdownV2 an escape pair counts as one, unescaped markup characters
// and link targets are not counted. It approximates Telegram's parser well
// enough to catch texts over the limit before sending.
func VisibleLength(text, parseMode string) int {
	units := func(r rune) int { return utf16.RuneLen(r) }
	n := 0
	switch parseMode {
	case ModeHTML:
		inTag := false
		rs := []rune(text)
		for i := 0; i < len(rs); i++ {
			r := rs[i]
			switch {
			case inTag:
				inTag = r != '>'
			case r == '<':
				inTag = true
			case r == '&':
				// "&amp;", "&#128512;", "&#x1F600;" show as one character.
				j := i + 1
				for j < len(rs) && j-i <= 10 && (rs[j] == '#' || rs[j] >= '0' && rs[j] <= '9' || rs[j] >= 'a' && rs[j] <= 'z' || rs[j] >= 'A' && rs[j] <= 'Z') {
					j++
				}
				if j < len(rs) && rs[j] == ';' && j > i+1 {
					i = j
				}
				n++
			default:
				n += units(r)
			}
		}
	case ModeMarkdownV2:
		rs := []rune(text)
		for i := 0; i < len(rs); i++ {
			r := rs[i]
			switch {
			case r == '\\' && i+1 < len(rs):
				i++
				n += units(rs[i])
			case r == ']' && i+1 < len(rs) && rs[i+1] == '(':
				// Skip the link target "(...)" up to the unescaped ')'.
				for i += 2; i < len(rs) && rs[i] != ')'; i++ {
					if rs[i] == '\\' {
						i++
					}
				}
			case strings.ContainsRune("*_~|`[", r):
			default:
				n += units(r)
			}
		}
	default:
		for _, r := range text {
			n += units(r)
		}
	}
	return n
}

// EscapeHTML escapes customer data for parse_mode HTML: &, < and >, the only
// characters Telegram's HTML parser reserves outside tags.
func EscapeHTML(s string) string {
	if !strings.ContainsAny(s, "&<>") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for _, r := range s {
		switch r {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// markdownV2Reserved are the 18 characters MarkdownV2 reserves outside
// entities, plus the backslash that escapes them.
const markdownV2Reserved = "_*[]()~`>#+-=|{}.!\\"

// EscapeMarkdownV2 escapes customer data for parse_mode MarkdownV2 (outside
// code and links): every reserved character gets a backslash, so prices
// ("5.00"), phone numbers ("+1-555") and order numbers ("#17") survive.
func EscapeMarkdownV2(s string) string {
	if !strings.ContainsAny(s, markdownV2Reserved) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for _, r := range s {
		if strings.ContainsRune(markdownV2Reserved, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Wire types of a webhook Update.
type (
	update struct {
		UpdateID     int64         `json:"update_id"`
		Message      *message      `json:"message"`
		MyChatMember *memberUpdate `json:"my_chat_member"`
	}
	message struct {
		MessageID int64 `json:"message_id"`
		Chat      struct {
			ID int64 `json:"id"`
		} `json:"chat"`
		Date           int64  `json:"date"`
		Text           string `json:"text"`
		Caption        string `json:"caption"`
		ReplyToMessage *struct {
			MessageID int64 `json:"message_id"`
		} `json:"reply_to_message"`
	}
	memberUpdate struct {
		Chat struct {
			ID int64 `json:"id"`
		} `json:"chat"`
		Date          int64 `json:"date"`
		NewChatMember struct {
			Status string `json:"status"`
		} `json:"new_chat_member"`
	}
)

// ParseInbound checks X-Telegram-Bot-Api-Secret-Token against secret_token,
// then turns one Update into events: a message is a reply (ProviderID is the
// update_id, for de-duplicating Telegram's redeliveries); the user blocking
// the bot (my_chat_member, new status "kicked") is an opt-out.
func (s *Sender) ParseInbound(r channels.InboundRequest) ([]channels.Inbound, error) {
	if s.secretToken == "" {
		return nil, fmt.Errorf("telegram: secret_token is not configured, so webhooks cannot be verified: %w: %w", channels.ErrNoSecret, channels.ErrBadSignature)
	}
	got := r.Header.Get("X-Telegram-Bot-Api-Secret-Token")
	if got == "" {
		return nil, fmt.Errorf("telegram: no X-Telegram-Bot-Api-Secret-Token header: %w", channels.ErrBadSignature)
	}
	if subtle.ConstantTimeCompare([]byte(got), []byte(s.secretToken.Reveal())) != 1 {
		return nil, fmt.Errorf("telegram: X-Telegram-Bot-Api-Secret-Token does not match secret_token: %w", channels.ErrBadSignature)
	}
	var u update
	if err := json.Unmarshal(r.Body, &u); err != nil {
		return nil, fmt.Errorf("telegram: webhook body is not an Update: %w", err)
	}
	id := strconv.FormatInt(u.UpdateID, 10)
	switch {
	case u.Message != nil:
		m := u.Message
		chat := strconv.FormatInt(m.Chat.ID, 10)
		in := channels.Inbound{
			Kind:       channels.InboundReply,
			Time:       time.Unix(m.Date, 0).UTC(),
			From:       chat,
			Text:       m.Text,
			ProviderID: id,
		}
		if in.Text == "" {
			in.Text = m.Caption // a photo or document with a caption
		}
		if m.ReplyToMessage != nil {
			in.InReplyTo = chat + ":" + strconv.FormatInt(m.ReplyToMessage.MessageID, 10)
		}
		return []channels.Inbound{in}, nil
	case u.MyChatMember != nil && u.MyChatMember.NewChatMember.Status == "kicked":
		return []channels.Inbound{{
			Kind:       channels.InboundOptOut,
			Time:       time.Unix(u.MyChatMember.Date, 0).UTC(),
			From:       strconv.FormatInt(u.MyChatMember.Chat.ID, 10),
			ProviderID: id,
		}}, nil
	}
	return nil, nil
}
