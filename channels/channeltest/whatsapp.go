package channeltest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

// WhatsApp fakes the WhatsApp Business Cloud API send endpoint
// (PROVIDERS.md §3): POST /{version}/{WhatsAppPhoneNumberID}/messages with
// Authorization: Bearer WhatsAppToken and a JSON body. It answers 200 with
// {"messaging_product","contacts","messages"} or Meta's error envelope
// {"error":{"message","type","code","error_data","fbtrace_id"}}.
//
// Templates registered with ApproveTemplate are checked like Meta checks
// them (the name must exist in that language, 132001; the number of body
// parameters must match, 132000); with none registered any well-formed
// template is accepted.
//
// Real Meta reports most delivery failures, 131026 among them, later by
// webhook; FailAddress answers 131026 synchronously, which is what a test of
// herald's fallback needs and a shape Meta also uses.
type WhatsApp struct {
	*server
	api *whatsappAPI
}

// NewWhatsApp starts a WhatsApp Cloud API fake on loopback.
func NewWhatsApp(t testing.TB) *WhatsApp {
	f := &whatsappAPI{templates: map[string]map[string]int{}}
	f.s = newServer(t, f)
	return &WhatsApp{server: f.s, api: f}
}

// ApproveTemplate declares an approved template with its number of body
// parameters, in the given Meta language codes ("en", "pt_BR").
func (w *WhatsApp) ApproveTemplate(name string, params int, languages ...string) {
	w.api.mu.Lock()
	defer w.api.mu.Unlock()
	if w.api.templates[name] == nil {
		w.api.templates[name] = map[string]int{}
	}
	for _, l := range languages {
		w.api.templates[name][l] = params
	}
}

type whatsappAPI struct {
	s         *server
	mu        sync.Mutex
	templates map[string]map[string]int // name -> language -> parameter count
}

var (
	graphVersion  = regexp.MustCompile(`^v[0-9]+\.[0-9]+$`)
	waTo          = regexp.MustCompile(`^\+?[1-9][0-9]{6,14}$`)
	waTemplate    = regexp.MustCompile(`^[a-z0-9_]{1,512}$`)
	waLanguage    = regexp.MustCompile(`^[a-z]{2,3}(_[A-Za-z]{2,4})?$`)
	waKnownFields = map[string]bool{
		"messaging_product": true, "recipient_type": true, "to": true, "type": true,
		"text": true, "template": true, "context": true, "biz_opaque_callback_data": true,
		"image": true, "document": true, "video": true, "audio": true, "location": true,
		"interactive": true, "reaction": true, "sticker": true, "contacts": true,
	}
)

func graphErr(status, code int, typ, msg, details string) answer {
	e := map[string]any{
		"message":    fmt.Sprintf("(#%d) %s", code, msg),
		"type":       typ,
		"code":       code,
		"fbtrace_id": "AbCdEfGhIjKlMnOpQrStUvW",
	}
	if details != "" {
		e["error_data"] = map[string]string{"messaging_product": "whatsapp", "details": details}
	}
	b, _ := json.Marshal(map[string]any{"error": e})
	return answer{status: status, body: b, code: fmt.Sprint(code)}
}

func invalidParam(details string) answer {
	return graphErr(http.StatusBadRequest, 100, "OAuthException", "Invalid parameter", details)
}

func (f *whatsappAPI) unavailable() answer {
	return graphErr(http.StatusServiceUnavailable, 2, "OAuthException", "Service temporarily unavailable", "")
}

func (f *whatsappAPI) handle(r *http.Request, raw []byte) answer {
	parts := strings.Split(strings.TrimPrefix(r.URL.EscapedPath(), "/"), "/")
	if len(parts) != 3 || !graphVersion.MatchString(parts[0]) || parts[2] != "messages" {
		return graphErr(http.StatusBadRequest, 100, "GraphMethodException",
			"Unsupported post request. Object with ID '"+strings.Join(parts, "/")+"' does not exist, cannot be loaded due to missing permissions, or does not support this operation", "")
	}
	if r.Method != http.MethodPost {
		return graphErr(http.StatusBadRequest, 100, "GraphMethodException", "Unsupported get request.", "")
	}
	if auth := r.Header.Get("Authorization"); auth != "Bearer "+WhatsAppToken {
		a := graphErr(http.StatusUnauthorized, 190, "OAuthException", "Invalid OAuth access token - Cannot parse access token", "")
		a.header = map[string]string{"WWW-Authenticate": `OAuth "Facebook Platform" "invalid_token" "Invalid OAuth access token"`}
		return a
	}
	if parts[1] != WhatsAppPhoneNumberID {
		return graphErr(http.StatusBadRequest, 100, "GraphMethodException",
			"Unsupported post request. Object with ID '"+parts[1]+"' does not exist, cannot be loaded due to missing permissions, or does not support this operation", "")
	}
	if throttled, secs := f.s.takeThrottle(); throttled {
		// Meta documents no Retry-After header; the fake sends one so a
		// test can see it honoured (herald reads it when present).
		a := graphErr(http.StatusTooManyRequests, 130429, "OAuthException", "Rate limit hit",
			"Cloud API message throughput has been reached.")
		a.header = retryAfterHeader(secs)
		a.to = peekTo(raw) // for the record only
		return a
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		return graphErr(http.StatusBadRequest, 100, "OAuthException", "The parameter messaging_product is required.", "")
	}
	var fields map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&fields); err != nil || dec.More() {
		return invalidParam("Request body is not a JSON object.")
	}
	for k := range fields {
		if !waKnownFields[k] {
			return invalidParam("Param " + k + " is not a valid parameter.")
		}
	}
	var req struct {
		MessagingProduct string `json:"messaging_product"`
		To               string `json:"to"`
		Type             string `json:"type"`
		Text             *struct {
			Body       *string `json:"body"`
			PreviewURL *bool   `json:"preview_url"`
		} `json:"text"`
		Template json.RawMessage `json:"template"`
	}
	if err := json.Unmarshal(raw, &req); err != nil {
		return invalidParam(err.Error())
	}
	if rt, ok := fields["recipient_type"]; ok && string(rt) != `"individual"` && string(rt) != `"group"` {
		return invalidParam("Param recipient_type must be one of {individual, group}.")
	}
	switch {
	case req.MessagingProduct == "":
		return graphErr(http.StatusBadRequest, 100, "OAuthException", "The parameter messaging_product is required.", "")
	case req.MessagingProduct != "whatsapp":
		return invalidParam("Param messaging_product must be one of {WHATSAPP} - got \"" + req.MessagingProduct + "\".")
	case req.To == "":
		return graphErr(http.StatusBadRequest, 131008, "OAuthException", "Required parameter is missing", "The parameter to is required.")
	case !waTo.MatchString(req.To):
		a := graphErr(http.StatusBadRequest, 100, "OAuthException", "Invalid parameter", "Param to is not a valid phone number.")
		a.to = req.To
		return a
	}
	typ := req.Type
	if typ == "" {
		typ = "text"
	}
	switch typ {
	case "text":
		if req.Text == nil || req.Text.Body == nil {
			return graphErr(http.StatusBadRequest, 131008, "OAuthException", "Required parameter is missing", "Parameter text['body'] is required.")
		}
		switch n := utf8.RuneCountInString(*req.Text.Body); {
		case strings.TrimSpace(*req.Text.Body) == "":
			return graphErr(http.StatusBadRequest, 131009, "OAuthException", "Parameter value is not valid", "Param text['body'] must not be empty.")
		case n > 4096:
			return graphErr(http.StatusBadRequest, 100, "OAuthException", "Invalid parameter", "Param text['body'] must be at most 4096 characters long.")
		}
	case "template":
		if a, ok := f.checkTemplate(req.Template); !ok {
			a.to = req.To
			return a
		}
	default:
		return graphErr(http.StatusBadRequest, 131051, "OAuthException", "Unsupported message type", "Message type "+typ+" is not supported by this fake.")
	}
	if f.s.isFailing(req.To) {
		a := graphErr(http.StatusBadRequest, 131026, "OAuthException", "Message undeliverable",
			"Unable to deliver message. Reasons can include: the recipient phone number is not a WhatsApp phone number.")
		a.to = req.To
		return a
	}
	waID := strings.TrimPrefix(req.To, "+")
	msg := map[string]string{"id": fmt.Sprintf("wamid.HBgN%s%020d", waID, f.s.nextID())}
	if typ == "template" {
		msg["message_status"] = "accepted"
	}
	b, _ := json.Marshal(map[string]any{
		"messaging_product": "whatsapp",
		"contacts":          []map[string]string{{"input": req.To, "wa_id": waID}},
		"messages":          []map[string]string{msg},
	})
	return answer{status: http.StatusOK, body: b, to: req.To, accepted: true}
}

// checkTemplate validates a template object like Meta: language is an
// object whose code uses '_' (never BCP 47's '-'), parameters are typed, and
// registered templates exist in that language with that many parameters.
func (f *whatsappAPI) checkTemplate(raw json.RawMessage) (answer, bool) {
	if len(raw) == 0 || string(raw) == "null" {
		return graphErr(http.StatusBadRequest, 131008, "OAuthException", "Required parameter is missing", "Parameter template is required."), false
	}
	var tpl struct {
		Name     string          `json:"name"`
		Language json.RawMessage `json:"language"`
		Comps    []struct {
			Type       string `json:"type"`
			SubType    string `json:"sub_type"`
			Index      string `json:"index"`
			Parameters []struct {
				Type string  `json:"type"`
				Text *string `json:"text"`
			} `json:"parameters"`
		} `json:"components"`
	}
	if err := json.Unmarshal(raw, &tpl); err != nil {
		return invalidParam("Param template must be a JSON object: " + err.Error()), false
	}
	if tpl.Name == "" {
		return graphErr(http.StatusBadRequest, 131008, "OAuthException", "Required parameter is missing", "Parameter template['name'] is required."), false
	}
	if !waTemplate.MatchString(tpl.Name) {
		return graphErr(http.StatusNotFound, 132001, "OAuthException", "Template name does not exist in the translation",
			"template name ("+tpl.Name+") does not exist"), false
	}
	if len(tpl.Language) == 0 {
		return graphErr(http.StatusBadRequest, 131008, "OAuthException", "Required parameter is missing", "Parameter template['language'] is required."), false
	}
	var lang struct {
		Code   string `json:"code"`
		Policy string `json:"policy"`
	}
	if tpl.Language[0] != '{' || json.Unmarshal(tpl.Language, &lang) != nil {
		return invalidParam("Param template['language'] must be a JSON object."), false
	}
	if lang.Code == "" {
		return graphErr(http.StatusBadRequest, 131008, "OAuthException", "Required parameter is missing", "Parameter template['language']['code'] is required."), false
	}
	if lang.Policy != "" && lang.Policy != "deterministic" {
		return invalidParam("Param template['language']['policy'] must be one of {deterministic}."), false
	}
	if !waLanguage.MatchString(lang.Code) {
		return graphErr(http.StatusNotFound, 132001, "OAuthException", "Template name does not exist in the translation",
			"template name ("+tpl.Name+") does not exist in "+lang.Code), false
	}
	bodyParams := 0
	for i, c := range tpl.Comps {
		switch c.Type {
		case "header", "body", "button":
		default:
			return invalidParam(fmt.Sprintf("Param template['components'][%d]['type'] must be one of {HEADER, BODY, BUTTON}.", i)), false
		}
		for j, p := range c.Parameters {
			switch p.Type {
			case "text":
				if p.Text == nil || strings.TrimSpace(*p.Text) == "" {
					return graphErr(http.StatusBadRequest, 131008, "OAuthException", "Required parameter is missing",
						fmt.Sprintf("Parameter template['components'][%d]['parameters'][%d]['text'] is required.", i, j)), false
				}
			case "currency", "date_time", "image", "document", "video", "location", "payload":
			default:
				return invalidParam(fmt.Sprintf("Param template['components'][%d]['parameters'][%d]['type'] is invalid.", i, j)), false
			}
		}
		if c.Type == "body" {
			bodyParams += len(c.Parameters)
		}
	}
	f.mu.Lock()
	registered := len(f.templates) > 0
	want, exists := f.templates[tpl.Name][lang.Code]
	f.mu.Unlock()
	if registered {
		if !exists {
			return graphErr(http.StatusNotFound, 132001, "OAuthException", "Template name does not exist in the translation",
				"template name ("+tpl.Name+") does not exist in "+lang.Code), false
		}
		if want != bodyParams {
			return graphErr(http.StatusBadRequest, 132000, "OAuthException", "Number of parameters does not match the expected number of params",
				fmt.Sprintf("body: number of localizable_params (%d) does not match the expected number of params (%d)", bodyParams, want)), false
		}
	}
	return answer{}, true
}

// peekTo reads "to" from a JSON body, for recording a request refused before
// its body was checked.
func peekTo(raw []byte) string {
	var v struct {
		To string `json:"to"`
	}
	json.Unmarshal(raw, &v)
	return v.To
}

// serverError is Meta's "something went wrong" for a 500; a 502 or 504
// comes from Meta's edge as a plain page.
func (f *whatsappAPI) serverError(status int) answer {
	if status == http.StatusInternalServerError {
		return graphErr(status, 131000, "OAuthException", "Something went wrong", "")
	}
	return answer{status: status, code: strconv.Itoa(status), header: map[string]string{"Content-Type": "text/html"},
		body: []byte(fmt.Sprintf("<html><body>%d %s</body></html>\n", status, http.StatusText(status)))}
}

func (f *whatsappAPI) accountRefused() answer {
	return graphErr(http.StatusForbidden, 10, "OAuthException", "(#10) Application does not have permission for this action", "")
}
