package state

import (
	"bytes"
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// DecodeEntry reads a journal line into e exactly as json.Unmarshal does
// into a zero Entry, result and error alike, but several times faster for the lines
// herald writes: one flat object with the Entry's own keys, strings without
// escapes. It scans the line once and makes one string of it, whose
// substrings the fields are, instead of json's validation pass, reflection
// and a string per field. Anything else (an escape, a key in another case
// or unknown, null, a nested value, malformed JSON) goes to json.Unmarshal,
// so the two never disagree; a fuzz test holds them to that.
//
// Looking up the send a webhook answers reads one journal line back per
// request, which made json.Unmarshal a tenth of `replies serve`'s CPU.
func DecodeEntry(line []byte, e *Entry) error {
	if decodeEntryFast(line, e) {
		return nil
	}
	// A fresh entry for json, so that e does not escape to the heap on
	// the fast path.
	decoded := new(Entry)
	err := json.Unmarshal(line, decoded)
	*e = *decoded
	return err
}

// decodeEntryFast decodes line into e when it is of the plain shape
// DecodeEntry describes, and reports whether it was; e is left partly
// written when it was not.
func decodeEntryFast(line []byte, e *Entry) bool {
	var d Entry
	i := skipSpace(line, 0)
	if i >= len(line) || line[i] != '{' {
		return false
	}
	// The fields become substrings of one copy of the line. Scanning the
	// bytes and slicing the string keeps the two in step.
	text := string(line)
	i = skipSpace(line, i+1)
	if i < len(line) && line[i] == '}' {
		i++
	} else {
		for {
			if i >= len(line) || line[i] != '"' {
				return false
			}
			kEnd, ok := plainString(line, i+1)
			if !ok {
				return false
			}
			key := line[i+1 : kEnd]
			i = skipSpace(line, kEnd+1)
			if i >= len(line) || line[i] != ':' {
				return false
			}
			i = skipSpace(line, i+1)
			if i >= len(line) {
				return false
			}
			var end int
			switch string(key) {
			case "attempt":
				if end, ok = decodeInt(line, i, &d.Attempt); !ok {
					return false
				}
			case "temporary":
				if end, ok = decodeBool(line, i, &d.Temporary); !ok {
					return false
				}
			case "time":
				if line[i] != '"' {
					return false
				}
				if end, ok = plainString(line, i+1); !ok {
					return false
				}
				if d.Time.UnmarshalText(line[i+1:end]) != nil {
					return false
				}
				end++
			default:
				field := d.stringField(string(key))
				if field == nil || line[i] != '"' {
					return false
				}
				if end, ok = plainString(line, i+1); !ok {
					return false
				}
				*field = text[i+1 : end]
				end++
			}
			i = skipSpace(line, end)
			if i >= len(line) {
				return false
			}
			if line[i] == '}' {
				i++
				break
			}
			if line[i] != ',' {
				return false
			}
			i = skipSpace(line, i+1)
		}
	}
	if skipSpace(line, i) != len(line) {
		return false
	}
	*e = d
	return true
}

// stringField is the string field an exact JSON key names, or nil.
func (e *Entry) stringField(key string) *string {
	switch key {
	case "campaign":
		return &e.Campaign
	case "recipient":
		return &e.Recipient
	case "channel":
		return &e.Channel
	case "address":
		return &e.Address
	case "locale":
		return &e.Locale
	case "status":
		return &e.Status
	case "provider_id":
		return &e.ProviderID
	case "message_id":
		return &e.MessageID
	case "error":
		return &e.Error
	}
	return nil
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// plainString finds the closing quote of a JSON string whose content starts
// at b[i]; ok is false for a string json would change while decoding (an
// escape, invalid UTF-8) or reject (a control character), or an unended
// one.
func plainString(b []byte, i int) (end int, ok bool) {
	ascii := true
	for j := i; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			if !ascii && !utf8.Valid(b[i:j]) {
				return 0, false
			}
			return j, true
		case c == '\\' || c < 0x20:
			return 0, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return 0, false
}

// decodeInt reads a JSON integer without fraction or exponent that fits an
// int.
func decodeInt(b []byte, i int, into *int) (end int, ok bool) {
	j := i
	if j < len(b) && b[j] == '-' {
		j++
	}
	digits := j
	for j < len(b) && b[j] >= '0' && b[j] <= '9' {
		j++
	}
	if j == digits || b[digits] == '0' && j-digits > 1 {
		return 0, false // no digits, or a leading zero json refuses
	}
	if j < len(b) && (b[j] == '.' || b[j] == 'e' || b[j] == 'E') {
		return 0, false
	}
	n, err := strconv.Atoi(string(b[i:j]))
	if err != nil {
		return 0, false
	}
	*into = n
	return j, true
}

func decodeBool(b []byte, i int, into *bool) (end int, ok bool) {
	switch {
	case bytes.HasPrefix(b[i:], []byte("true")):
		*into = true
		return i + 4, true
	case bytes.HasPrefix(b[i:], []byte("false")):
		*into = false
		return i + 5, true
	}
	return 0, false
}
