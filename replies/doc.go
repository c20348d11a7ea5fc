// Package replies is the inbound half of herald: it turns what customers send
// back into rows of replies.csv, entries of suppressions.csv and delivery
// statuses in the journal.
//
//   - Server is `herald replies serve`: the provider webhooks (Twilio,
//     Vonage, WhatsApp with its GET challenge, Telegram, LINE) at
//     /webhooks/<backend> or /webhooks/<channel>, one-click unsubscribe
//     (RFC 8058) at /unsubscribe/<token>, and /healthz. Each request is
//     verified by the channel's backend against public_url, never the Host
//     header; a forged one is answered 403 and changes nothing. Serve runs
//     it with timeouts, a 1 MiB body limit and a graceful shutdown.
//   - FetchReplies is `herald replies fetch`: new messages of the IMAP reply
//     mailbox, matched to herald's e-mails by In-Reply-To, References or the
//     plus-address token, each logged once.
//   - Both attribute a reply to a recipient and campaign through an index of
//     the journal's `sent` entries that follows the journal as other
//     processes append to it, and act on keywords found by Classify (STOP
//     suppresses the address on that channel, START lifts it).
//   - ExtractReply keeps only the text a customer wrote in an e-mail;
//     TokenFromAddress reads the plus-address token; Fetch reads the mailbox
//     without changing it (EXAMINE + BODY.PEEK).
package replies
