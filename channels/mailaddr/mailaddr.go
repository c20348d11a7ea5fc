// Package mailaddr holds the RFC 5322 address syntax that both the audience
// check and the SMTP backend test on every message: plain addresses are
// recognised byte by byte, and only the rest go through net/mail.
package mailaddr

import "strings"

// IsDotAtom reports whether s is RFC 5322 dot-atom-text in ASCII: runs of
// atext joined by single dots. A local part or domain of this form needs
// no quoting, and net/mail reads it unchanged.
func IsDotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '.' {
			if s[i-1] == '.' {
				return false
			}
			continue
		}
		if !isAtext(c) {
			return false
		}
	}
	return true
}

// isAtext is RFC 5322's atext: printable ASCII except the specials.
func isAtext(c byte) bool {
	return c > ' ' && c <= '~' && strings.IndexByte(`()<>[]:;@\,".`, c) < 0
}
