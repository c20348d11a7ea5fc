package campaign

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"herald/campaign/csvsafe"
	"herald/state"
)

// SuppressionFormats are the values of `herald suppress list --format`.
var SuppressionFormats = []string{"table", "csv"}

// WriteSuppressions lists suppressions for people: a table, or CSV for a
// spreadsheet (addresses are customer data: a cell that would start a
// formula is defused, so a phone number reads '+62...).
func WriteSuppressions(w io.Writer, rows []state.Suppression, format string) error {
	switch format {
	case "csv":
		cw := csvsafe.NewWriter(w)
		_ = cw.Write([]string{"address", "channel", "reason", "added_at", "source"})
		for _, r := range rows {
			_ = cw.Write([]string{r.Address, r.Channel, r.Reason, r.AddedAt.UTC().Format(time.RFC3339), r.Source})
		}
		cw.Flush()
		return cw.Error()
	case "table", "":
		tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
		fmt.Fprintln(tw, "ADDRESS\tCHANNEL\tSOURCE\tREASON\tADDED AT")
		for _, r := range rows {
			source := r.Source
			if source == "" {
				source = "-" // a row from before sources were recorded
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Address, r.Channel, source, r.Reason, r.AddedAt.UTC().Format(time.RFC3339))
		}
		return tw.Flush()
	}
	return fmt.Errorf("unknown format %q: want %s", format, strings.Join(SuppressionFormats, ", "))
}
