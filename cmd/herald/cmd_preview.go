package main

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"herald/campaign"
)

func previewCommand(io stdio) *cli.Command {
	return &cli.Command{
		Name:      "preview",
		Usage:     "render and print what one recipient would get",
		ArgsUsage: "CAMPAIGN",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "id", Usage: "the recipient's `ID` (default: the first row)"},
			&cli.StringFlag{Name: "channel", Usage: "render for `CHANNEL` instead of the one the plan picks"},
			&cli.StringFlag{Name: "locale", Usage: "render the `LOCALE` template instead of the matched one"},
			&cli.StringFlag{Name: "out", Usage: "also write .eml/.json/.html files into `DIR`"},
			nowFlag,
		},
		Action: func(c *cli.Context) error {
			path, err := oneArg(c, "campaign file")
			if err != nil {
				return err
			}
			now, err := parseNow(c)
			if err != nil {
				return err
			}
			cfg, camp, err := loadCampaign(c, path)
			if err != nil {
				return err
			}
			defer cfg.Close()
			pv, err := campaign.RenderPreview(c.Context, cfg, camp, campaign.PreviewOptions{ID: c.String("id"), Channel: c.String("channel"), Locale: c.String("locale"), Now: now})
			if err != nil {
				return err
			}
			printPreview(io, pv)
			if dir := c.String("out"); dir != "" {
				files, err := pv.WriteFiles(dir)
				if err != nil {
					return err
				}
				for _, f := range files {
					fmt.Fprintf(io.out, "wrote %s\n", f)
				}
			}
			return nil
		},
	}
}

func printPreview(io stdio, pv *campaign.Preview) {
	m := pv.Message
	fmt.Fprintf(io.out, "recipient: %s", m.Recipient)
	if m.Name != "" {
		fmt.Fprintf(io.out, " (%s)", m.Name)
	}
	fmt.Fprintf(io.out, "\nchannel:   %s (%s, %s backend)\n", m.Channel, pv.Channel.Kind, pv.Channel.Backend)
	fmt.Fprintf(io.out, "locale:    %s (%s)\n", m.Locale, pv.LocaleReason)
	fmt.Fprintf(io.out, "formats:   %s (%s)\n", pv.FormatLocale, formatsReason(m.Locale, pv.CustomerLocale, pv.FormatLocale))
	if !pv.SendAt.IsZero() {
		fmt.Fprintf(io.out, "send at:   %s (%s)\n", pv.SendAt.Format("2006-01-02 15:04 MST"), pv.Zone)
	}
	fmt.Fprintf(io.out, "to:        %s\n", m.To)
	if m.Subject != "" {
		fmt.Fprintf(io.out, "subject:   %s\n", m.Subject)
	}
	if m.UnsubscribeURL != "" && pv.Channel.Kind == "email" {
		fmt.Fprintf(io.out, "list-unsubscribe: <%s>\n", m.UnsubscribeURL)
	}
	if t := m.Template; t != nil {
		fmt.Fprintf(io.out, "template:  %s (language %s)\n", t.Name, t.Language)
		for i, p := range t.Params {
			fmt.Fprintf(io.out, "  {{%d}} = %s\n", i+1, p)
		}
	}
	if m.Text != "" {
		fmt.Fprintf(io.out, "\n%s\n", strings.TrimRight(m.Text, "\n"))
	}
	if m.HTML != "" {
		fmt.Fprintf(io.out, "\n(HTML part: %d bytes; --out writes it to a file)\n", len(m.HTML))
	}
}

// formatsReason says where the formatting locale came from: the template's
// language with the customer's region, or the template locale itself.
func formatsReason(template, customer, formats string) string {
	if strings.TrimSpace(customer) == "" {
		return "no customer locale: the template's formats"
	}
	if formats == template {
		return fmt.Sprintf("template %s, customer %s", template, customer)
	}
	return fmt.Sprintf("template language %s with the region of customer %s", template, customer)
}
