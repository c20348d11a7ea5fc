package channeltest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf16"
)

// Telegram fakes the Bot API's sendMessage (PROVIDERS.md §4):
// /bot{TelegramToken}/sendMessage (method name case-insensitive), GET or
// POST, parameters in the query string, a JSON, form or multipart body. It
// answers {"ok":true,"result":Message} or
// {"ok":false,"error_code","description"[,"parameters"]}.
//
// Text is checked in its parse_mode: HTML tags must be Telegram's and
// balanced and '&' must start a supported entity; in MarkdownV2 the
// characters that are never markup (# + - = { } . ! and > inside a line)
// must be escaped; the 4096 limit counts the text after parsing. Throttle
// answers 429 with parameters.retry_after (Telegram's way; whether it also
// sends a Retry-After header is unverified, so the fake does not).
type Telegram struct{ *server }

// NewTelegram starts a Telegram Bot API fake on loopback.
func NewTelegram(t testing.TB) *Telegram {
	f := &telegramAPI{}
	f.s = newServer(t, f)
	return &Telegram{f.s}
}

type telegramAPI struct{ s *server }

func tgErr(status int, desc string, params map[string]any) answer {
	m := map[string]any{"ok": false, "error_code": status, "description": desc}
	if params != nil {
		m["parameters"] = params
	}
	b, _ := json.Marshal(m)
	return answer{status: status, body: b, code: strconv.Itoa(status)}
}

func (f *telegramAPI) unavailable() answer {
	return tgErr(http.StatusServiceUnavailable, "Service Unavailable", nil)
}

var tgChatUsername = regexp.MustCompile(`^@[A-Za-z][A-Za-z0-9_]{3,31}$`)

func (f *telegramAPI) handle(r *http.Request, raw []byte) answer {
	rest, ok := strings.CutPrefix(r.URL.Path, "/bot")
	token, method, ok2 := strings.Cut(rest, "/")
	if !ok || !ok2 || strings.Contains(method, "/") {
		return tgErr(http.StatusNotFound, "Not Found", nil)
	}
	if token != TelegramToken {
		return tgErr(http.StatusUnauthorized, "Unauthorized", nil)
	}
	if !strings.EqualFold(method, "sendMessage") {
		return tgErr(http.StatusNotFound, "Not Found: method not found", nil)
	}
	if r.Method != http.MethodPost && r.Method != http.MethodGet {
		return tgErr(http.StatusBadRequest, "Bad Request: unsupported HTTP method", nil)
	}
	params, bad := tgParams(r, raw)
	if bad != "" {
		return tgErr(http.StatusBadRequest, bad, nil)
	}
	if throttled, secs := f.s.takeThrottle(); throttled {
		a := tgErr(http.StatusTooManyRequests, fmt.Sprintf("Too Many Requests: retry after %d", secs),
			map[string]any{"retry_after": secs})
		a.to = chatString(params["chat_id"]) // for the record only
		return a
	}
	chat, hasChat := params["chat_id"]
	chatStr := ""
	switch c := chat.(type) {
	case json.Number:
		if _, err := c.Int64(); err != nil {
			return tgErr(http.StatusBadRequest, "Bad Request: chat not found", nil)
		}
		chatStr = c.String()
	case string:
		chatStr = c
		if _, err := strconv.ParseInt(c, 10, 64); err != nil && !tgChatUsername.MatchString(c) {
			return tgErr(http.StatusBadRequest, "Bad Request: chat not found", nil)
		}
	case nil:
	default:
		return tgErr(http.StatusBadRequest, "Bad Request: chat_id is invalid", nil)
	}
	if !hasChat || chatStr == "" {
		return tgErr(http.StatusBadRequest, "Bad Request: chat_id is empty", nil)
	}
	text, _ := params["text"].(string)
	mode, _ := params["parse_mode"].(string)
	visible := text
	switch mode {
	case "":
	case "HTML":
		v, err := tgParseHTML(text)
		if err != "" {
			a := tgErr(http.StatusBadRequest, "Bad Request: can't parse entities: "+err, nil)
			a.to = chatStr
			return a
		}
		visible = v
	case "MarkdownV2":
		v, err := tgParseMarkdownV2(text)
		if err != "" {
			a := tgErr(http.StatusBadRequest, "Bad Request: can't parse entities: "+err, nil)
			a.to = chatStr
			return a
		}
		visible = v
	case "Markdown":
		visible = strings.NewReplacer("*", "", "_", "", "`", "").Replace(text)
	default:
		return tgErr(http.StatusBadRequest, "Bad Request: unsupported parse_mode", nil)
	}
	switch {
	case strings.TrimSpace(visible) == "":
		a := tgErr(http.StatusBadRequest, "Bad Request: message text is empty", nil)
		a.to = chatStr
		return a
	case len(utf16.Encode([]rune(visible))) > 4096:
		a := tgErr(http.StatusBadRequest, "Bad Request: message is too long", nil)
		a.to = chatStr
		return a
	}
	if f.s.isFailing(chatStr) {
		a := tgErr(http.StatusForbidden, "Forbidden: bot was blocked by the user", nil)
		a.to = chatStr
		return a
	}
	chatObj := map[string]any{"type": "private"}
	if n, err := strconv.ParseInt(chatStr, 10, 64); err == nil {
		chatObj["id"] = n
		if n < 0 {
			chatObj["type"] = "supergroup"
		}
	} else {
		chatObj["id"] = int64(-1001234567890)
		chatObj["type"] = "channel"
		chatObj["username"] = strings.TrimPrefix(chatStr, "@")
	}
	b, _ := json.Marshal(map[string]any{"ok": true, "result": map[string]any{
		"message_id": f.s.nextID(),
		"from":       map[string]any{"id": 123456789, "is_bot": true, "first_name": "Herald Test", "username": "herald_test_bot"},
		"chat":       chatObj,
		"date":       time.Now().Unix(),
		"text":       visible,
	}})
	return answer{status: http.StatusOK, body: b, to: chatStr, accepted: true}
}

// tgParams merges the query string and the body, as the Bot API does. JSON
// numbers stay json.Number so 64-bit chat ids survive.
func tgParams(r *http.Request, raw []byte) (map[string]any, string) {
	params := map[string]any{}
	for k, v := range r.URL.Query() {
		params[k] = v[0]
	}
	if len(raw) == 0 {
		return params, ""
	}
	mt, mparams, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mt {
	case "application/json":
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var body map[string]any
		if err := dec.Decode(&body); err != nil {
			return nil, "Bad Request: can't parse JSON object"
		}
		for k, v := range body {
			params[k] = v
		}
	case "application/x-www-form-urlencoded":
		form, err := url.ParseQuery(string(raw))
		if err != nil {
			return nil, "Bad Request: can't parse request"
		}
		for k, v := range form {
			params[k] = v[0]
		}
	case "multipart/form-data":
		req, _ := http.NewRequest(http.MethodPost, "/", bytes.NewReader(raw))
		req.Header.Set("Content-Type", mime.FormatMediaType(mt, mparams))
		if err := req.ParseMultipartForm(1 << 20); err != nil {
			return nil, "Bad Request: can't parse multipart request"
		}
		for k, v := range req.MultipartForm.Value {
			params[k] = v[0]
		}
	default:
		// The Bot API ignores a body it cannot read: the parameters are then
		// missing.
	}
	return params, ""
}

// tgTags are the tags Telegram's HTML parse mode supports.
var tgTags = map[string]bool{
	"b": true, "strong": true, "i": true, "em": true, "u": true, "ins": true,
	"s": true, "strike": true, "del": true, "span": true, "tg-spoiler": true,
	"a": true, "tg-emoji": true, "code": true, "pre": true, "blockquote": true,
}

var tgEntity = regexp.MustCompile(`^&(lt|gt|amp|quot|#[0-9]{1,7}|#x[0-9a-fA-F]{1,6});`)

// tgParseHTML returns the visible text of an HTML-mode message, or
// Telegram's complaint about it.
func tgParseHTML(s string) (string, string) {
	var out strings.Builder
	var open []string
	for i := 0; i < len(s); {
		switch s[i] {
		case '<':
			end := strings.IndexByte(s[i:], '>')
			if end < 0 {
				return "", fmt.Sprintf("Can't find end of the entity starting at byte offset %d", i)
			}
			tag := s[i+1 : i+end]
			closing := strings.HasPrefix(tag, "/")
			name := strings.ToLower(strings.Fields(strings.TrimPrefix(tag, "/") + " ")[0])
			if !tgTags[name] {
				if closing {
					return "", fmt.Sprintf("Unsupported end tag \"%s\" at byte offset %d", name, i)
				}
				return "", fmt.Sprintf("Unsupported start tag \"%s\" at byte offset %d", name, i)
			}
			if closing {
				if len(open) == 0 || open[len(open)-1] != name {
					return "", fmt.Sprintf("Unmatched end tag at byte offset %d, expected \"</%s>\", found \"</%s>\"", i, last(open), name)
				}
				open = open[:len(open)-1]
			} else {
				open = append(open, name)
			}
			i += end + 1
		case '&':
			m := tgEntity.FindString(s[i:])
			if m == "" {
				return "", fmt.Sprintf("Character '&' is reserved and must be escaped at byte offset %d", i)
			}
			out.WriteString(html.UnescapeString(m))
			i += len(m)
		case '>':
			return "", fmt.Sprintf("Character '>' is reserved and must be escaped at byte offset %d", i)
		default:
			out.WriteByte(s[i])
			i++
		}
	}
	if len(open) > 0 {
		return "", fmt.Sprintf("Can't find end tag corresponding to start tag \"%s\"", open[len(open)-1])
	}
	return out.String(), ""
}

func last(xs []string) string {
	if len(xs) == 0 {
		return ""
	}
	return xs[len(xs)-1]
}

// tgParseMarkdownV2 returns the visible text of a MarkdownV2 message, or the
// complaint about a reserved character that was not escaped. Characters that
// can be markup (* _ ~ | ` [ ] ( )) are taken as markup; the others must be
// escaped wherever they appear outside a link target.
func tgParseMarkdownV2(s string) (string, string) {
	var out strings.Builder
	lineStart := true
	inLink := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\':
			if i+1 < len(s) {
				i++
				out.WriteByte(s[i])
			}
		case inLink:
			if c == ')' {
				inLink = false
			}
		case c == ']' && i+1 < len(s) && s[i+1] == '(':
			inLink = true
			i++
		case c == '>' && lineStart:
		case strings.IndexByte("#+-={}.!>()", c) >= 0:
			return "", fmt.Sprintf("Character '%c' is reserved and must be escaped with the preceding '\\'", c)
		case strings.IndexByte("*_~|`[]", c) >= 0:
		default:
			out.WriteByte(c)
		}
		lineStart = c == '\n'
	}
	return out.String(), ""
}

// chatString is a chat_id parameter as text, for the record.
func chatString(v any) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

func (f *telegramAPI) serverError(status int) answer {
	return tgErr(status, http.StatusText(status), nil)
}

// accountRefused: Telegram has no account to refuse, only tokens; a revoked
// token is 401 Unauthorized.
func (f *telegramAPI) accountRefused() answer {
	return tgErr(http.StatusUnauthorized, "Unauthorized", nil)
}
