package proxy

import (
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// appendJSON appends the entry as encoding/json writes it (the same bytes:
// the field order, omitempty, HTML-safe escaping, U+2028 and U+2029
// escaped, invalid UTF-8 as U+FFFD), without reflection or an allocation:
// the audit line is written for every request. TestAuditJSONIsEncodingJSON
// holds the two to the same output.
func (e *auditEntry) appendJSON(b []byte) []byte {
	b = append(b, `{"time":"`...)
	b = e.Time.AppendFormat(b, time.RFC3339Nano)
	b = append(b, '"')
	b = appendField(b, "client", e.Client, false)
	b = appendField(b, "user_agent", e.Agent, true)
	b = appendField(b, "client_family", e.Family, true)
	b = appendField(b, "method", e.Method, false)
	b = appendField(b, "host", e.Host, false)
	b = appendField(b, "path", e.Path, false)
	b = appendField(b, "kind", e.Kind, false)
	b = appendField(b, "token_label", e.Label, true)
	b = appendField(b, "org", e.Org, true)
	b = appendField(b, "repository", e.Repo, true)
	b = appendField(b, "action", e.Action, true)
	b = appendField(b, "decision", e.Decision.String(), false)
	b = appendField(b, "cause", e.Cause.String(), false)
	b = appendField(b, "reason", e.Reason, true)
	if e.Upstream != 0 {
		b = append(b, `,"upstream_status":`...)
		b = strconv.AppendInt(b, int64(e.Upstream), 10)
	}
	b = appendField(b, "docker_desktop", e.Desktop, true)
	b = appendField(b, "redirect_host", e.Redirect, true)
	return append(b, '}')
}

// appendField appends ,"name":"value"; nothing for an empty value that
// is omitted when empty.
func appendField(b []byte, name, value string, omitEmpty bool) []byte {
	if omitEmpty && value == "" {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return appendJSONString(b, value)
}

const jsonHex = "0123456789abcdef"

// appendJSONString appends s quoted as encoding/json quotes a string with
// HTML escaping on.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', jsonHex[c>>4], jsonHex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', jsonHex[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// lineBufs lend the audit log its line buffers.
var lineBufs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}
