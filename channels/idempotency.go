package channels

import (
	"crypto/sha256"
	"encoding/base32"
	"strings"

	"github.com/google/uuid"
)

// heraldNamespace is the UUIDv5 namespace for herald's idempotency keys.
var heraldNamespace = uuid.NewSHA1(uuid.NameSpaceURL, []byte("herald:idempotency"))

// IdempotencyKey returns a name-based UUID (version 5) derived from campaign
// and recipient: the same on every run and every retry, so a provider that
// de-duplicates on it (LINE's X-Line-Retry-Key) never delivers twice.
func IdempotencyKey(campaign, recipient string) string {
	return uuid.NewSHA1(heraldNamespace, []byte(campaign+"\x00"+recipient)).String()
}

var lowerBase32 = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// ReplyToken returns a short lower-case token for campaign and recipient,
// used in e-mail plus-addresses and Message-IDs (some systems lower-case the
// local part, so the alphabet has no capitals).
func ReplyToken(campaign, recipient string) string {
	sum := sha256.Sum256([]byte(campaign + "\x00" + recipient))
	return strings.ToLower(lowerBase32.EncodeToString(sum[:10]))
}

// ParseMessageID recognises a Message-ID herald made for an e-mail
// (`<token.campaign@domain>`, see the e-mail backend's Composer.MessageID) and
// returns the reply token in it. It accepts the id with or without angle
// brackets; ok is false for ids herald did not make.
func ParseMessageID(id string) (replyToken string, ok bool) {
	id = strings.TrimSpace(id)
	id = strings.TrimSuffix(strings.TrimPrefix(id, "<"), ">")
	at := strings.LastIndexByte(id, '@')
	if at <= 0 || at == len(id)-1 {
		return "", false
	}
	left := id[:at]
	dot := strings.IndexByte(left, '.')
	if dot < 0 || dot == len(left)-1 {
		return "", false
	}
	tok := left[:dot]
	if !isReplyToken(tok) {
		return "", false
	}
	return tok, true
}

// isReplyToken reports whether s has the shape of ReplyToken: 16
// characters of lower-case base32. Anything else is another sender's id.
func isReplyToken(s string) bool {
	if len(s) != len(ReplyToken("", "")) {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		if !(b >= 'a' && b <= 'z' || b >= '2' && b <= '7') {
			return false
		}
	}
	return true
}
