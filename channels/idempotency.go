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
