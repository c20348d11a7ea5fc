// Package schedule decides when a message is sent, in the recipient's own
// local time.
//
// A campaign's [schedule] section and herald.toml's quiet_hours become a
// [Rules] value; [Rules.SendTime] then answers, for one recipient's zone, the
// first instant at or after the start that is inside the window, on an
// allowed weekday and outside quiet hours, and whether that instant is past
// the campaign's expiry.
//
// Every judgement is made on the recipient's wall clock:
//
//   - Spans are half-open: "09:00-20:00" includes 09:00 and excludes 20:00.
//     A span whose end is before its start wraps past midnight
//     ("21:00-08:00").
//   - Quiet hours always win over the window.
//   - Days apply to the local calendar day of the send instant, so with a
//     wrapping window the early-morning part belongs to the next day.
//   - A start without an offset is wall time in each recipient's zone; one
//     with Z or an offset is the same instant for everyone.
//   - A wall time that does not exist (spring forward) moves forward by the
//     gap; one that happens twice (fall back) takes the first occurrence. See
//     [LocalTime].
//   - A window that opens inside a spring-forward gap opens at the first
//     minute that exists; a window that falls in the hour repeated at fall
//     back opens again in the repeat, because the search walks real instants.
//
// The zone database is embedded with time/tzdata so results do not depend on
// the host. The functions are pure and do not allocate on the SendTime path,
// which runs once per recipient.
package schedule

import (
	// Embedded zone data: the same answer on a laptop, in CI and in a
	// scratch container without /usr/share/zoneinfo.
	_ "time/tzdata"
)
