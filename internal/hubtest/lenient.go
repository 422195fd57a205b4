package hubtest

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
)

// maxBody bounds what the hub reads of a body, decoded.
const maxBody = 64 << 10

// lenientBody reads a request's body the way the most forgiving server
// framework would, so that a test learns what such a server could find in
// it: every Content-Encoding layer the standard library can undo (gzip,
// deflate, as zlib or raw), then a JSON object's string fields, a
// multipart form's fields, or else a form split on "&" and ";" — whatever
// the Content-Type says — with every name in lower case.
func lenientBody(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		return nil, err
	}
	encodings := strings.Split(strings.Join(r.Header.Values("Content-Encoding"), ","), ",")
	for i := len(encodings) - 1; i >= 0; i-- { // the last applied comes first off
		if raw, err = decode(strings.ToLower(strings.TrimSpace(encodings[i])), raw); err != nil {
			return nil, err
		}
	}
	if fields, ok := jsonFields(raw); ok {
		return fields, nil
	}
	if mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err == nil && strings.HasPrefix(mt, "multipart/") {
		if fields, err := multipartFields(raw, params["boundary"]); err == nil {
			return fields, nil
		}
	}
	return lower(lenientForm(string(raw))), nil
}

// decode undoes one content coding; an unknown one is left as sent.
func decode(coding string, b []byte) ([]byte, error) {
	var rd io.Reader
	switch coding {
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, err
		}
		rd = zr
	case "deflate":
		if zr, err := zlib.NewReader(bytes.NewReader(b)); err == nil {
			rd = zr
		} else {
			rd = flate.NewReader(bytes.NewReader(b))
		}
	default:
		return b, nil
	}
	out, err := io.ReadAll(io.LimitReader(rd, maxBody+1))
	if err != nil {
		return nil, err
	}
	if len(out) > maxBody {
		return nil, fmt.Errorf("a body over %d bytes decoded", maxBody)
	}
	return out, nil
}

// jsonFields reads a JSON object's string fields, names in lower case.
func jsonFields(b []byte) (url.Values, bool) {
	var obj map[string]any
	if json.Unmarshal(b, &obj) != nil {
		return nil, false
	}
	v := url.Values{}
	for k, e := range obj {
		if s, ok := e.(string); ok {
			v.Add(strings.ToLower(k), s)
		}
	}
	return v, true
}

// multipartFields reads a multipart form's fields, names in lower case.
func multipartFields(b []byte, boundary string) (url.Values, error) {
	form, err := multipart.NewReader(bytes.NewReader(b), boundary).ReadForm(maxBody)
	if err != nil {
		return nil, err
	}
	defer func() { _ = form.RemoveAll() }()
	return lower(form.Value), nil
}

// lenientForm reads query strings and form bodies the forgiving way old
// servers did: pairs split on "&" and ";", a bad escape kept as sent.
func lenientForm(parts ...string) url.Values {
	v := url.Values{}
	for _, part := range parts {
		for _, pair := range strings.FieldsFunc(part, func(r rune) bool { return r == '&' || r == ';' }) {
			k, val, _ := strings.Cut(pair, "=")
			v.Add(unescapeOrRaw(k), unescapeOrRaw(val))
		}
	}
	return v
}

func unescapeOrRaw(s string) string {
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}

// lower is v with every name in lower case, trimmed of spaces and NULs.
func lower(v map[string][]string) url.Values {
	out := url.Values{}
	for k, vs := range v {
		k = strings.ToLower(strings.Trim(k, " \t\x00"))
		out[k] = append(out[k], vs...)
	}
	return out
}

// merge is the fields of every v, in order.
func merge(vs ...url.Values) url.Values {
	out := url.Values{}
	for _, v := range vs {
		for k, e := range v {
			out[k] = append(out[k], e...)
		}
	}
	return out
}
