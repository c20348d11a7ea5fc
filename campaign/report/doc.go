// Package report reads herald's state files (journal.jsonl, replies.csv,
// suppressions.csv) after the fact and answers two questions:
//
//   - History: what happened with one customer, across every campaign and
//     channel, in time order — sends, failures, delivery receipts and
//     replies — so whoever answers the customer next has the context.
//   - Build: how a campaign went — each (campaign, recipient) pair counted
//     once by its final outcome (sent, failed, skipped, in doubt), whether
//     the customer replied or opted out, grouped by channel and by locale,
//     with the reply rate and the median time to a first reply. The result
//     is written as a table, CSV, JSON or a self-contained HTML page.
//
// Both take several state directories: with `herald send --shard K/N` each
// shard keeps its own state, and a report over the shards merges them.
//
// The journal of a large campaign has millions of lines, so it is streamed,
// never loaded: Build keeps one small fixed-size record per (campaign,
// recipient) pair, keyed by a hash of the recipient id and a number standing
// for the campaign name, and History keeps only the chosen customer's events.
package report
