package proxy

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"net/url"
	"strconv"

	"github.com/oatkit/oat/internal/oat"
)

// attach puts t's credentials on a token request that came without any
// (the policy chose t: the least-privileged token that covers it, or the
// closest for a request it narrows), and returns the body sent. The
// secret goes only to the token service, over the verified upstream TLS
// the request is sent with.
func attach(r *http.Request, body []byte, t oat.Token) []byte {
	if r.Method == http.MethodPost {
		form, _ := url.ParseQuery(string(body)) // read strictly by the classifier already
		form.Set("grant_type", "password")
		form.Set("username", t.Org)
		form.Set("password", t.Secret)
		enc := form.Encode()
		r.Body = nopCloser{bytes.NewReader([]byte(enc))}
		r.ContentLength = int64(len(enc))
		r.Header.Set("Content-Length", strconv.Itoa(len(enc)))
		return []byte(enc)
	}
	r.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(t.Org+":"+t.Secret)))
	return body
}

type nopCloser struct{ *bytes.Reader }

func (nopCloser) Close() error { return nil }
