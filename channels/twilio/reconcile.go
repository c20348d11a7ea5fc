package twilio

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"herald/channels"
)

var _ channels.Reconciler = (*sender)(nil)

// clockSkew is how much earlier than the attempt Twilio's clock may date a
// message herald created: the two clocks are not the same.
const clockSkew = 2 * time.Minute

// maxListPages bounds the pages read for one recipient: a day's messages to
// one number from one sender fit in one page of 1,000 in any sane campaign.
const maxListPages = 5

// listedMessage is the part of a Message resource Reconcile compares.
type listedMessage struct {
	SID                 string `json:"sid"`
	To                  string `json:"to"`
	From                string `json:"from"`
	Body                string `json:"body"`
	Direction           string `json:"direction"`
	MessagingServiceSID string `json:"messaging_service_sid"`
	DateCreated         string `json:"date_created"`
}

type messagePage struct {
	Messages    []listedMessage `json:"messages"`
	NextPageURI string          `json:"next_page_uri"`
}

// Reconcile asks Twilio's message list whether a message in doubt was
// created after all: GET Messages.json filtered by To, From (not with a
// Messaging Service, whose sender Twilio picks) and DateSent>= the day of
// the attempt (Twilio's filter takes a GMT date), then looks for an
// outbound message with m's body created at or after since.
func (s *sender) Reconcile(ctx context.Context, m channels.Message, since time.Time) (channels.Receipt, bool, error) {
	q := url.Values{}
	q.Set("To", s.address(m.To))
	if s.from != "" {
		q.Set("From", s.from)
	}
	q.Set("DateSent>", since.UTC().Format("2006-01-02"))
	q.Set("PageSize", "1000")
	next := s.endpoint + "?" + q.Encode()
	for range maxListPages {
		page, err := s.listPage(ctx, next)
		if err != nil {
			return channels.Receipt{}, false, err
		}
		for _, msg := range page.Messages {
			if s.matches(msg, m, since) {
				return channels.Receipt{ProviderID: msg.SID}, true, nil
			}
		}
		if page.NextPageURI == "" {
			return channels.Receipt{}, false, nil
		}
		// next_page_uri is relative to the API's origin.
		next = strings.TrimSuffix(s.endpoint, "/2010-04-01/Accounts/"+s.accountSID+"/Messages.json") + page.NextPageURI
	}
	return channels.Receipt{}, false, channels.TemporaryError(fmt.Errorf(
		"%s: more than %d pages of messages to %s since %s; cannot tell whether it was sent", s.name, maxListPages, m.To, since.UTC().Format(time.DateOnly)), 0)
}

func (s *sender) matches(msg listedMessage, m channels.Message, since time.Time) bool {
	if msg.To != s.address(m.To) || msg.Body != m.Text || !strings.HasPrefix(msg.Direction, "outbound") {
		return false
	}
	if s.service != "" && msg.MessagingServiceSID != s.service {
		return false
	}
	if s.service == "" && msg.From != s.from {
		return false
	}
	// Twilio's dates are RFC 2822 in GMT. An unreadable date is not proof of
	// an earlier message: the list is already limited to the attempt's day.
	created, err := time.Parse(time.RFC1123Z, msg.DateCreated)
	return err != nil || !created.Before(since.Add(-clockSkew))
}

func (s *sender) listPage(ctx context.Context, pageURL string) (messagePage, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, pageURL, nil)
	if err != nil {
		return messagePage{}, channels.PermanentError(fmt.Errorf("%s: %s", s.name, s.scrub(err.Error())))
	}
	req.SetBasicAuth(s.accountSID, s.token.Reveal())
	req.Header.Set("Accept", "application/json")
	resp, err := channels.Do(s.client, req, s.name, "listing messages", s.token.Reveal())
	if err != nil {
		return messagePage{}, err
	}
	defer resp.Body.Close()
	raw, err := channels.ReadBody(resp)
	if resp.StatusCode != http.StatusOK {
		return messagePage{}, s.classify(resp, raw)
	}
	var page messagePage
	if err != nil || json.Unmarshal(raw, &page) != nil {
		// A lookup that did not answer sends nothing: try again later.
		return messagePage{}, channels.TemporaryError(fmt.Errorf("%s: listing messages: unreadable answer: %s", s.name, s.snippet(raw)), 0)
	}
	return page, nil
}
