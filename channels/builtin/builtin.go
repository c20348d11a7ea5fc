// Package builtin lists herald's channel backends: adding a backend is one
// folder under channels/ and one line here.
package builtin

import (
	"herald/channels"
	"herald/channels/email"
	"herald/channels/line"
	"herald/channels/outbox"
	"herald/channels/telegram"
	"herald/channels/twilio"
	"herald/channels/vonage"
	"herald/channels/webhook"
	"herald/channels/whatsapp"
)

// Registry returns a registry of every backend herald ships.
func Registry() *channels.Registry {
	return channels.NewRegistry(
		email.Backend,
		whatsapp.Backend,
		telegram.Backend,
		line.Backend,
		webhook.Backend,
		twilio.Backend,
		twilio.WhatsAppBackend,
		vonage.Backend,
		outbox.Backend(outboxEncoders),
	)
}

// outboxEncoders make the outbox write what the real backend of each kind
// would send.
var outboxEncoders = map[channels.Kind]outbox.EncoderFor{
	channels.KindEmail: func(o outbox.Options) outbox.Encode {
		c := email.Composer{From: string(o.From), ReplyTo: string(o.ReplyTo), ReplyPlus: o.ReplyPlus}
		return func(m channels.Message) ([]byte, string, error) {
			b, err := c.Compose(m)
			return b, "eml", err
		}
	},
	channels.KindWhatsApp: jsonBody(whatsapp.RequestBody),
	channels.KindLine:     jsonBody(line.RequestBody),
	channels.KindTelegram: jsonBody(func(m channels.Message) ([]byte, error) { return telegram.RequestBody(m, m.ParseMode) }),
}

func jsonBody(body func(channels.Message) ([]byte, error)) outbox.EncoderFor {
	return func(outbox.Options) outbox.Encode {
		return func(m channels.Message) ([]byte, string, error) {
			b, err := body(m)
			return b, "json", err
		}
	}
}
