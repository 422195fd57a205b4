package classify

import (
	"fmt"
	"mime"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/oatkit/oat/internal/registry"
)

// The media types of the bodies the proxy reads: a token POST's form and
// a Hub API login's (or an access token route's) JSON.
const (
	FormType = "application/x-www-form-urlencoded"
	JSONType = "application/json"
)

// tokenFormFields are the fields of a token POST's form that Docker's
// clients send (distribution, containerd and BuildKit, regclient,
// oras-go, containers/image). A field outside them, in any spelling, is
// one a lenient server might read as something the proxy did not check.
var tokenFormFields = []string{"grant_type", "service", "client_id", "access_type", "scope", "username", "password", "refresh_token", "offline_token", "account"}

// bodyHeaders checks the headers that say how a body is read: it must be
// read as it is sent (no Content-Encoding but identity) and as one media
// type, want, with no parameter but charset=utf-8. A server that decodes
// gzip, or reads a body of another type, would see what the proxy did not.
func bodyHeaders(r *http.Request, want string) error {
	for _, ce := range r.Header.Values("Content-Encoding") {
		for c := range strings.SplitSeq(ce, ",") {
			if c = strings.TrimSpace(c); !strings.EqualFold(c, "identity") {
				return fmt.Errorf("a body with Content-Encoding %q", c)
			}
		}
	}
	cts := r.Header.Values("Content-Type")
	switch len(cts) {
	case 0:
		return fmt.Errorf("a body of type %q", "")
	case 1:
	default:
		return fmt.Errorf("a body with %d Content-Type headers", len(cts))
	}
	mt, params, err := mime.ParseMediaType(cts[0])
	if err != nil || mt != want {
		return fmt.Errorf("a body of type %q", cts[0])
	}
	for k, v := range params {
		if k != "charset" || !strings.EqualFold(v, "utf-8") {
			return fmt.Errorf("a body of type %q", cts[0])
		}
	}
	return nil
}

// parseForm reads a form body strictly, as every server reads it alike:
// visible ASCII only (url.Values.Encode escapes the rest), well-formed
// escapes, decoded text without control characters, each field one of
// fields and the credential fields at most once.
func parseForm(body []byte, fields []string) (registry.Values, error) {
	for i, c := range body {
		if c < 0x21 || c > 0x7e {
			return nil, fmt.Errorf("the byte %#02x at %d of the form", c, i)
		}
	}
	form, err := registry.ParseQuery(string(body))
	if err != nil {
		return nil, err
	}
	for k, vs := range form {
		if !slices.Contains(fields, k) {
			return nil, fmt.Errorf("the form field %q", k)
		}
		for _, v := range vs {
			if err := plainText(v); err != nil {
				return nil, fmt.Errorf("the form field %q: %w", k, err)
			}
		}
	}
	if err := single(form, singleTokenParams); err != nil {
		return nil, err
	}
	return form, nil
}

// plainText refuses what readers disagree on: text that is not UTF-8, and
// control characters (a NUL ends a C string, a newline a header line).
func plainText(s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("text that is not UTF-8")
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("the control character %U", r)
		}
	}
	return nil
}

// hasBody reports whether a request carries a body, announced or chunked.
func hasBody(r *http.Request) bool {
	return r.ContentLength != 0 || len(r.TransferEncoding) > 0
}
