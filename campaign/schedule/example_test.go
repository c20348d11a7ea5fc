package schedule_test

import (
	"fmt"
	"time"

	"herald/campaign/schedule"
)

// One absolute start, Friday 2026-11-27 12:00 UTC, sending 09:00-20:00 local
// on weekdays outside quiet hours, stale after 48 hours. In Chatham it is
// already Saturday, so the send waits for Monday and is too late.
func ExampleRules_SendTime() {
	start, _ := schedule.ParseStart("2026-11-27T12:00:00Z")
	window, _ := schedule.ParseSpan("09:00-20:00")
	quiet, _ := schedule.ParseSpan("21:00-08:00")
	days, _ := schedule.ParseDays([]string{"mon", "tue", "wed", "thu", "fri"})
	expire, _ := schedule.ParseDuration("2d")
	rules := schedule.Rules{Start: start, Window: &window, Days: days, Quiet: &quiet, Expire: expire}

	for _, name := range []string{"Asia/Jakarta", "Asia/Kathmandu", "America/New_York", "Pacific/Chatham"} {
		zone, _ := time.LoadLocation(name)
		at, expired, err := rules.SendTime(zone)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println(name, at.Format("Mon 2006-01-02 15:04 -07:00"), "expired:", expired)
	}
	// Output:
	// Asia/Jakarta Fri 2026-11-27 19:00 +07:00 expired: false
	// Asia/Kathmandu Fri 2026-11-27 17:45 +05:45 expired: false
	// America/New_York Fri 2026-11-27 09:00 -05:00 expired: false
	// Pacific/Chatham Mon 2026-11-30 09:00 +13:45 expired: true
}

// Rules that can never open are reported before any recipient is looked at.
func ExampleRules_Validate() {
	window, _ := schedule.ParseSpan("22:00-23:00")
	quiet, _ := schedule.ParseSpan("21:00-08:00")
	fmt.Println(schedule.Rules{Window: &window, Quiet: &quiet}.Validate())
	// Output:
	// schedule never opens: window 22:00-23:00 lies entirely inside quiet hours 21:00-08:00, so nothing can be sent; widen the window or shorten quiet_hours
}
