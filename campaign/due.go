package campaign

import (
	"context"
	"time"

	"herald/audience"
)

// CountDue counts the recipients a send at now would try: due, plus those
// in doubt or failed that the retry flags of opts take back, within the
// shard and the limit. It plans every row without rendering, so it costs a
// fraction of the send; `herald send` runs it only to give its progress bar
// a total. A standard-input audience cannot be read twice: then ok is false.
func CountDue(ctx context.Context, cfg *Config, c *Campaign, now time.Time, opts SendOptions) (n int, ok bool, err error) {
	if c.Audience == "-" {
		return 0, false, nil
	}
	p, err := openPlanner(ctx, cfg, c, now)
	if err != nil {
		return 0, false, err
	}
	r, err := audience.OpenContext(ctx, c.Audience, c.AudienceOptions(cfg.ChannelNames()))
	if err != nil {
		return 0, false, err
	}
	defer r.Close()
	err = eachRow(ctx, r, func(rec *audience.Recipient) bool {
		if !opts.Shard.Has(rec.ID) {
			return false
		}
		row := p.Plan(rec)
		if len(row.Candidates) == 0 || row.SendAt.After(now) {
			return false
		}
		switch row.State {
		case StateDue:
			return true
		case StateInDoubt:
			return opts.RetryInDoubt
		case StateFailed:
			return row.Outcome.Temporary || opts.RetryFailed
		}
		return false
	}, func(_ *audience.Recipient, due bool, _ error) error {
		if due {
			n++
		}
		return nil
	})
	if err != nil {
		return 0, false, err
	}
	if opts.Limit > 0 {
		n = min(n, opts.Limit)
	}
	return n, true, nil
}
