package proxy

import (
	"bytes"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/oatkit/oat/internal/registry"
)

// scopesOf is access as token scope strings.
func scopesOf(access []registry.Access) []string {
	return registry.Request{Access: access}.Scopes()
}

// rewriteScopes makes a token request ask for access instead of what it
// asked. The classifier read the query and the form strictly already.
func rewriteScopes(r *http.Request, body []byte, access []registry.Access) {
	scopes := scopesOf(access)
	q, _ := registry.ParseQuery(r.URL.RawQuery)
	query := url.Values(q)
	if query == nil {
		query = url.Values{}
	}
	delete(query, "scope")
	if r.Method != http.MethodPost {
		for _, s := range scopes {
			query.Add("scope", s)
		}
		r.URL.RawQuery = query.Encode()
		return
	}
	r.URL.RawQuery = query.Encode()
	f, _ := registry.ParseQuery(string(body))
	form := url.Values(f)
	if form == nil {
		form = url.Values{}
	}
	delete(form, "scope")
	if len(scopes) > 0 {
		form.Set("scope", strings.Join(scopes, " "))
	}
	enc := form.Encode()
	r.Body = nopCloser{bytes.NewReader([]byte(enc))}
	r.ContentLength = int64(len(enc))
	r.Header.Set("Content-Length", strconv.Itoa(len(enc)))
}
