// Package replies is the inbound half of herald: it turns what customers send
// back into rows of replies.csv and entries of suppressions.csv.
//
// This file set holds the building blocks that do not depend on the state
// files:
//
//   - Classify decides whether a message is an opt-out, opt-in or help
//     keyword in any of the languages herald ships.
//   - ExtractReply parses an e-mail reply and keeps only the text the
//     customer wrote (no quoted history, no signature); TokenFromAddress
//     reads the plus-address token herald put in Reply-To.
//   - Fetch reads new messages from the reply mailbox over IMAP without
//     changing the mailbox (EXAMINE + BODY.PEEK).
//   - Signer makes and checks the tokens of one-click unsubscribe links, and
//     LoadOrCreateKey keeps their key in the state directory.
package replies
