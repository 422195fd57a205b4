package registry

import (
	"fmt"
	"net/url"
	"strings"
)

// Values are query or form parameters.
type Values map[string][]string

// Get is the first value of key, or "".
func (v Values) Get(key string) string {
	if vs := v[key]; len(vs) > 0 {
		return vs[0]
	}
	return ""
}

// ParseQuery parses a query string or a form body strictly: where Go's
// url.ParseQuery drops a pair holding ";" or a bad escape and goes on, a
// server may split on ";" or read the bytes raw, so both are errors here.
func ParseQuery(raw string) (Values, error) {
	if raw == "" {
		return nil, nil
	}
	if strings.IndexByte(raw, ';') >= 0 {
		return nil, fmt.Errorf("a %q in the query", ";")
	}
	v := Values{}
	for pair := range strings.SplitSeq(raw, "&") {
		if pair == "" {
			continue
		}
		k, val, _ := strings.Cut(pair, "=")
		key, err := url.QueryUnescape(k)
		if err != nil {
			return nil, fmt.Errorf("a malformed query parameter %q", k)
		}
		value, err := url.QueryUnescape(val)
		if err != nil {
			return nil, fmt.Errorf("a malformed value of the query parameter %q", key)
		}
		v[key] = append(v[key], value)
	}
	return v, nil
}
