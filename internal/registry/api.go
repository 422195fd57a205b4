package registry

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// Organization scopes of the Hub API's routes. AccessTokenRead and
// AccessTokenEdit are no scope an organization access token can have:
// only an organization owner manages the organization's tokens.
const (
	AccessTokenRead = "access-token-read"
	AccessTokenEdit = "access-token-edit"
)

// orgRoutes are the organization routes under /v2/orgs/ORG/, with the
// scopes they need to read and to change.
var orgRoutes = map[string][2]string{
	"members":       {"member-read", "member-edit"},
	"invites":       {"invite-read", "invite-edit"},
	"groups":        {"group-read", "group-edit"},
	"access-tokens": {AccessTokenRead, AccessTokenEdit},
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
func classifyAPI(method, path string, r *http.Request, body []byte, req *Request) {
	if _, err := ParseQuery(r.URL.RawQuery); err != nil {
		req.note(err.Error())
	}
	trimmed := strings.TrimSuffix(path, "/")
	if fields, ok := loginFields[trimmed]; ok {
		req.Kind = KindLogin
		if method != http.MethodPost {
			req.note("the method " + method + " on " + trimmed)
			return
		}
		classifyLogin(r, body, fields, req)
		return
	}
	segs := strings.Split(strings.TrimPrefix(trimmed, "/"), "/")
	for _, s := range segs {
		if s == "" {
			req.note(fmt.Sprintf("the Hub API path %q", path))
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
		req.note(fmt.Sprintf("the Hub API route %s %s", method, path))
		return
	}
	req.Kind = KindAPI
	req.OrgScope = scopes[1]
	if method == http.MethodGet || method == http.MethodHead {
		req.OrgScope = scopes[0]
	}
}

// classifyLogin reads a login's JSON body: one object of known string
// fields, each once.
func classifyLogin(r *http.Request, body []byte, fields [2]string, req *Request) {
	hideJSON(body, req)
	if !isMediaType(r.Header.Get("Content-Type"), "application/json") {
		req.note(fmt.Sprintf("a login body of type %q", r.Header.Get("Content-Type")))
		return
	}
	obj, err := parseFlatJSON(body)
	if err != nil {
		req.note("the login body: " + err.Error())
		return
	}
	for k := range obj {
		if k != fields[0] && k != fields[1] {
			req.note(fmt.Sprintf("the login field %q", k))
		}
	}
	req.Creds = append(req.Creds, Credential{Kind: CredPassword, Username: obj[fields[0]], Value: obj[fields[1]]})
}

// hideJSON adds every string in a JSON body (or, if it is not JSON, the
// body read as a form) to req.Hidden.
func hideJSON(body []byte, req *Request) {
	var v any
	if json.Unmarshal(body, &v) != nil {
		req.hide(lenientValues(string(body)))
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
	if _, err := dec.Token(); err == nil {
		return nil, fmt.Errorf("data after the JSON object")
	}
	return out, nil
}
