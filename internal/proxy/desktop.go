package proxy

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"

	"github.com/oatkit/oat/internal/desktop"
)

// maxNoticed bounds what the proxy remembers having warned about: past it,
// it forgets all (a fleet's proxy meets many client addresses) and may warn
// again.
const maxNoticed = 10000

// desktopOnce warns, once per client address, that a request comes from
// a Docker Desktop engine.
func (p *Proxy) desktopOnce(client, why string) {
	host, _ := splitHost(client)
	p.noticeMu.Lock()
	defer p.noticeMu.Unlock()
	if p.noticed["desktop:"+host] {
		return
	}
	if len(p.noticed) >= maxNoticed {
		clear(p.noticed)
	}
	p.noticed["desktop:"+host] = true
	p.log.Warn("a request comes from Docker Desktop: "+desktop.Advice, "client", host, "why", why)
}

// withDesktop adds to a refusal's sentence that OATs do not work with
// Docker Desktop, IAM or RAM, when the client is Docker Desktop.
func withDesktop(msg, why string) string {
	if why == "" {
		return msg
	}
	return msg + " This request comes from Docker Desktop (" + why + "): " + desktop.Advice + "."
}

// maxErrorBody bounds the Hub's error body the proxy rewrites.
const maxErrorBody = 64 << 10

// explainToDesktop adds the Docker Desktop sentence to the messages of
// the Hub's error answer (401 or 403) to a Docker Desktop engine; a body
// that is not one of the Hub's error bodies is passed as it is.
func explainToDesktop(resp *http.Response, why string) error {
	orig := resp.Body
	body, err := io.ReadAll(io.LimitReader(orig, maxErrorBody+1))
	if err != nil {
		orig.Close()
		return err
	}
	if len(body) > maxErrorBody { // not an error body of the Hub's: as it came
		resp.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(body), orig), orig}
		return nil
	}
	orig.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	// The registry's errors ({"errors":[{"message":…}]}) or the token
	// service's ({"details":…}).
	var e map[string]any
	if json.Unmarshal(body, &e) != nil {
		return nil
	}
	changed := false
	if d, ok := e["details"].(string); ok {
		e["details"], changed = withDesktop(d, why), true
	}
	if list, ok := e["errors"].([]any); ok {
		for _, item := range list {
			if m, ok := item.(map[string]any); ok {
				msg, _ := m["message"].(string)
				m["message"], changed = withDesktop(msg, why), true
			}
		}
	}
	if !changed {
		return nil
	}
	out, err := json.Marshal(e)
	if err != nil {
		return nil
	}
	out = append(out, '\n')
	resp.Body = io.NopCloser(bytes.NewReader(out))
	resp.ContentLength = int64(len(out))
	resp.Header.Set("Content-Length", strconv.Itoa(len(out)))
	return nil
}
