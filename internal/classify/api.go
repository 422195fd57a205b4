package classify

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/oatkit/oat/internal/registry"
)

// orgRoutes are the organization routes under /v2/orgs/ORG/, with the
// scopes they need to read and to change.
var orgRoutes = map[string][2]string{
	"members":       {"member-read", "member-edit"},
	"invites":       {"invite-read", "invite-edit"},
	"groups":        {"group-read", "group-edit"},
	"access-tokens": {registry.AccessTokenRead, registry.AccessTokenEdit},
}

// loginFields are the JSON fields of the logins: the organization and the
// token.
var loginFields = map[string][2]string{
	LoginPath:       {"identifier", "secret"},
	LegacyLoginPath: {"username", "password"},
}

// classifyAPI reads a Hub API request. Only the logins and the
// organization routes are understood: everything else is the allow list's
// to decide, which is empty but for the logins.
func classifyAPI(method, path string, r *http.Request, body []byte, req *registry.Request) {
	if _, err := registry.ParseQuery(r.URL.RawQuery); err != nil {
		note(req, err.Error())
	}
	trimmed := strings.TrimSuffix(path, "/")
	if fields, ok := loginFields[trimmed]; ok {
		req.Kind = registry.KindLogin
		if method != http.MethodPost {
			if hasBody(r) {
				unread(req, "a body on "+method+" "+trimmed)
			}
			note(req, "the method "+method+" on "+trimmed)
			return
		}
		classifyLogin(r, body, fields, req)
		return
	}
	if login := loginSpelling(path); login != "" && hasBody(r) {
		// Another case or more slashes: a router that folds them would
		// take it for the login the proxy reads.
		unread(req, fmt.Sprintf("a body on %q, a spelling of %s", path, login))
		return
	}
	if isAccessTokenRoute(trimmed) && hasBody(r) {
		readJSONBody(r, body, req)
	}
	segs := strings.Split(strings.TrimPrefix(trimmed, "/"), "/")
	for _, s := range segs {
		if s == "" {
			note(req, fmt.Sprintf("the Hub API path %q", path))
			return
		}
	}
	var scopes [2]string
	switch {
	case len(segs) >= 4 && segs[0] == "v2" && segs[1] == "orgs" && orgRoutes[segs[3]][0] != "":
		req.Org, scopes = segs[2], orgRoutes[segs[3]]
	case len(segs) == 3 && segs[0] == "v2" && segs[1] == "invites" && segs[2] == "bulk" && method == http.MethodPost,
		len(segs) == 3 && segs[0] == "v2" && segs[1] == "invites" && segs[2] != "bulk",
		len(segs) == 4 && segs[0] == "v2" && segs[1] == "invites" && segs[3] == "resend":
		scopes = orgRoutes["invites"]
	default:
		note(req, fmt.Sprintf("the Hub API route %s %s", method, path))
		return
	}
	req.Kind = registry.KindAPI
	req.OrgScope = scopes[1]
	if method == http.MethodGet || method == http.MethodHead {
		req.OrgScope = scopes[0]
	}
}

// loginSpelling is the login route path spells with other letter case or
// repeated slashes, or "".
func loginSpelling(path string) string {
	folded := strings.ToLower(path)
	for strings.Contains(folded, "//") {
		folded = strings.ReplaceAll(folded, "//", "/")
	}
	folded = strings.TrimSuffix(folded, "/")
	for _, p := range []string{LoginPath, LegacyLoginPath} {
		if folded == p {
			return p
		}
	}
	return ""
}

// isAccessTokenRoute reports whether a Hub API path is the organization
// access token API: /v2/orgs/ORG/access-tokens and below.
func isAccessTokenRoute(path string) bool {
	segs := strings.Split(strings.TrimPrefix(path, "/"), "/")
	return len(segs) >= 4 && segs[0] == "v2" && segs[1] == "orgs" && segs[3] == "access-tokens"
}

// classifyLogin reads a login's JSON body: one object of known string
// fields, each once.
func classifyLogin(r *http.Request, body []byte, fields [2]string, req *registry.Request) {
	if !readableJSON(r, body, "the login", req) {
		return
	}
	obj, err := parseFlatJSON(body)
	if err != nil {
		unread(req, "the login body: "+err.Error())
		return
	}
	for k, v := range obj {
		if k != fields[0] && k != fields[1] {
			unread(req, fmt.Sprintf("the login field %q", k))
		}
		if err := plainText(v); err != nil {
			unread(req, fmt.Sprintf("the login field %q: %v", k, err))
		}
	}
	req.Creds = append(req.Creds, registry.Credential{Kind: registry.CredPassword, Username: obj[fields[0]], Value: obj[fields[1]]})
}

// readJSONBody reads an access token route's body as the Hub would: JSON,
// not encoded, each object's keys once.
func readJSONBody(r *http.Request, body []byte, req *registry.Request) {
	if !readableJSON(r, body, "the access token request", req) {
		return
	}
	if err := strictJSON(body); err != nil {
		unread(req, "the access token request body: "+err.Error())
	}
}

// readableJSON checks what every JSON body the proxy reads must be: sent
// as JSON, not encoded, in UTF-8. Its strings are hidden values either way.
func readableJSON(r *http.Request, body []byte, what string, req *registry.Request) bool {
	hideJSON(body, req)
	if err := bodyHeaders(r, JSONType); err != nil {
		unread(req, what+": "+err.Error())
		return false
	}
	if !utf8.Valid(body) {
		unread(req, what+" body: text that is not UTF-8")
		return false
	}
	return true
}

// strictJSON checks that body is one JSON value whose objects give each
// key once (encoding/json keeps the last, other parsers the first) and
// whose strings hold no control characters, with nothing after it.
func strictJSON(body []byte) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var value func() error
	value = func() error {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		switch t {
		case json.Delim('{'):
			seen := map[string]bool{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return err
				}
				key, _ := kt.(string)
				if seen[key] {
					return fmt.Errorf("the field %q given twice", key)
				}
				seen[key] = true
				if err := plainText(key); err != nil {
					return err
				}
				if err := value(); err != nil {
					return err
				}
			}
			_, err = dec.Token()
			return err
		case json.Delim('['):
			for dec.More() {
				if err := value(); err != nil {
					return err
				}
			}
			_, err = dec.Token()
			return err
		}
		if s, ok := t.(string); ok {
			return plainText(s)
		}
		return nil
	}
	if err := value(); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("data after the JSON value")
	}
	return nil
}

// hideJSON adds every string in a JSON body (or, if it is not JSON, the
// body read as a form) to req.Hidden.
func hideJSON(body []byte, req *registry.Request) {
	var v any
	if json.Unmarshal(body, &v) != nil {
		hide(req, lenientValues(string(body)))
		return
	}
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case string:
			req.Hidden = append(req.Hidden, v)
		case []any:
			for _, e := range v {
				walk(e)
			}
		case map[string]any:
			for k, e := range v {
				req.Hidden = append(req.Hidden, k)
				walk(e)
			}
		}
	}
	walk(v)
}

// parseFlatJSON reads one JSON object of string values, refusing a key
// given twice (encoding/json would keep the last, another parser the
// first) and anything after the object.
func parseFlatJSON(body []byte) (map[string]string, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, fmt.Errorf("not a JSON object")
	}
	out := map[string]string{}
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := kt.(string)
		vt, err := dec.Token()
		if err != nil {
			return nil, err
		}
		val, ok := vt.(string)
		if !ok {
			return nil, fmt.Errorf("the field %q is not a string", key)
		}
		if _, dup := out[key]; dup {
			return nil, fmt.Errorf("the field %q given twice", key)
		}
		out[key] = val
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("data after the JSON object")
	}
	return out, nil
}
