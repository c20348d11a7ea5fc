package channeltest

import (
	"fmt"

	"github.com/BurntSushi/toml"

	"herald/channels"
)

// Settings returns backend settings for a channel whose Decode strictly
// decodes the given TOML, keys of [channels.<name>] as herald.toml would
// hold them: an unknown key is an error, as it is for herald.
func Settings(channel, src, apiURL string) channels.Settings {
	return channels.Settings{
		Channel: channel,
		APIURL:  apiURL,
		Decode: func(v any) error {
			md, err := toml.Decode(src, v)
			if err != nil {
				return err
			}
			if u := md.Undecoded(); len(u) > 0 {
				return fmt.Errorf("unknown key %q", u[0].String())
			}
			return nil
		},
	}
}
