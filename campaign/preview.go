package campaign

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"herald/audience"
	"herald/channels"
	"herald/locales"
)

// PreviewOptions choose what `herald preview` renders.
type PreviewOptions struct {
	ID      string // recipient id; "" = the first valid row
	Channel string // override the chosen channel
	Locale  string // override the matched template locale
	Now     time.Time
}

// Preview is one rendered message, as it would be sent.
type Preview struct {
	Channel *Channel
	Message channels.Message
	Body    []byte // the exact bytes the backend would send, when it can say
	Ext     string // "eml", "json"

	// FormatLocale is the CLDR locale dates, numbers and money were
	// formatted for: the template's language with the customer's region
	// ("en-CH" for en.toml and a de-CH customer).
	FormatLocale string

	LocaleReason   string         // why the template locale was taken
	CustomerLocale string         // the recipient's own locale, as written
	SendAt         time.Time      // when it would be sent, in Zone (zero: now)
	Zone           *time.Location // the recipient's zone
}

// RenderPreview renders the message for one recipient.
// It reads the audience until it finds the recipient; ctx stops the search.
func RenderPreview(ctx context.Context, cfg *Config, c *Campaign, opts PreviewOptions) (*Preview, error) {
	p, err := openPlanner(ctx, cfg, c, opts.Now)
	if err != nil {
		return nil, err
	}
	if opts.Locale != "" && !slices.Contains(p.Templates.Locales(), opts.Locale) {
		return nil, fmt.Errorf("--locale %q: no %s.toml in %s (have %v)", opts.Locale, opts.Locale, c.Templates, p.Templates.Locales())
	}
	r, err := audience.OpenContext(ctx, c.Audience, c.AudienceOptions(cfg.ChannelNames()))
	if err != nil {
		return nil, err
	}
	defer r.Close()
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		rec, err := r.Next()
		if err == io.EOF {
			if opts.ID != "" {
				return nil, fmt.Errorf("no recipient with id %q in %s", opts.ID, c.Audience)
			}
			return nil, fmt.Errorf("%s has no valid recipient", c.Audience)
		}
		var rowErrs audience.RowErrors
		if errors.As(err, &rowErrs) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if opts.ID != "" && rec.ID != opts.ID {
			continue
		}
		row := p.Plan(rec)
		if opts.Locale != "" {
			row.Locale, row.LocaleReason = opts.Locale, "chosen with --locale"
		}
		var cand candidate
		switch {
		case opts.Channel != "":
			ch, err := cfg.Channel(opts.Channel)
			if err != nil {
				return nil, err
			}
			cand.Channel = ch
			for _, col := range ch.Columns {
				if cand.Address = rec.Address(col); cand.Address != "" {
					break
				}
			}
		case len(row.Candidates) > 0:
			cand = row.Candidates[0]
		default:
			return nil, fmt.Errorf("recipient %q gets no message (%s); choose a channel with --channel", rec.ID, row.Reason)
		}
		msg, err := p.Message(row, cand)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: recipient %q: %w", c.Audience, rec.Line, rec.ID, err)
		}
		pv := &Preview{Channel: cand.Channel, Message: msg,
			LocaleReason: row.LocaleReason, CustomerLocale: row.Recipient.Locale, SendAt: row.SendAt, Zone: row.Zone}
		if pv.FormatLocale, err = locales.FormattingLocale(row.Locale, rec.Locale); err != nil {
			return nil, err
		}
		if enc, ok := channels.Unwrap(cand.Channel.Sender).(channels.Encoder); ok {
			if pv.Body, pv.Ext, err = enc.Encode(msg); err != nil {
				return nil, err
			}
		}
		return pv, nil
	}
}

// WriteFiles writes the preview into dir: the exact request or message
// (.eml/.json) and, for e-mail with HTML, the HTML part to open in a browser.
func (pv *Preview) WriteFiles(dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	base := filepath.Join(dir, fmt.Sprintf("%s.%s.%s", pv.Message.Recipient, pv.Message.Channel, pv.Message.Locale))
	var written []string
	if len(pv.Body) > 0 {
		path := base + "." + pv.Ext
		if err := os.WriteFile(path, pv.Body, 0o644); err != nil {
			return nil, err
		}
		written = append(written, path)
	}
	if pv.Message.HTML != "" {
		path := base + ".html"
		if err := os.WriteFile(path, []byte(pv.Message.HTML), 0o644); err != nil {
			return nil, err
		}
		written = append(written, path)
	}
	return written, nil
}
