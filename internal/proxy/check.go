package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/oatkit/oat/internal/desktop"
	"github.com/oatkit/oat/internal/hub"
	"github.com/oatkit/oat/internal/oat"
	"github.com/oatkit/oat/internal/redact"
	"github.com/oatkit/oat/internal/registry"
)

// maxForm bounds a token POST's or a login's body.
const maxForm = 64 << 10

// state travels from a request to its response.
type state struct {
	entry    auditEntry
	holder   holder
	kind     registry.Kind
	download bool // a blob GET, which Docker Hub answers with a redirect
	// For a token request of a token we hold: what it asks of the Hub, the
	// repositories the token may pull only if public (whose grant the
	// answer tells), and what its client shows of a refusal.
	asked      []registry.Access
	publicOnly []string
	client     clientKind
	tok        oat.Token
	cancel     context.CancelCauseFunc
}

type stateKey struct{}

// serveHub serves one request inside a tunnel to host, an intercepted
// host in canonical form: it is checked, then refused or sent upstream.
func (p *Proxy) serveHub(host string, w http.ResponseWriter, r *http.Request) {
	in := &countingReader{ReadCloser: http.NoBody}
	if r.Body != nil && r.Body != http.NoBody {
		in.ReadCloser = r.Body
		r.Body = &stallReader{ReadCloser: in, rc: http.NewResponseController(w), d: p.limits.Stall}
	}
	out := &countingWriter{ResponseWriter: w}
	w = out
	st, rp := p.check(host, r)
	if p.cfg.Metrics != nil {
		defer func() {
			kind := "other"
			switch {
			case st != nil && st.entry.Kind != "":
				kind = st.entry.Kind
			case rp != nil && rp.kind != "":
				kind = rp.kind
			}
			p.cfg.Metrics.Bytes(kind, in.n, out.n)
		}()
	}
	if rp != nil {
		if r.ContentLength != 0 && r.Method != http.MethodGet && r.Method != http.MethodHead {
			rp.closeAfter = true
		}
		rp.write(w)
		return
	}
	ctx, cancel := context.WithCancelCause(r.Context())
	defer cancel(nil)
	st.cancel = cancel
	r = r.WithContext(context.WithValue(ctx, stateKey{}, st))
	p.upstream.ServeHTTP(&stallWriter{ResponseWriter: w, rc: http.NewResponseController(w), d: p.limits.Stall}, r)
}

// check brings r to its canonical form, classifies it and decides. A nil
// reply sends it upstream.
func (p *Proxy) check(host string, r *http.Request) (_ *state, rp *reply) {
	entry := auditEntry{Time: time.Now(), Client: r.RemoteAddr, Agent: r.UserAgent(), Method: r.Method, Host: host, Path: r.URL.Path}
	entry.Family, _ = recognise(entry.Agent)
	defer func() {
		if rp != nil {
			rp.kind = entry.Kind // for the bytes it answers with
		}
	}()
	if desk, why := desktop.UserAgent(r.UserAgent()); desk {
		entry.Desktop = why
		p.desktopOnce(r.RemoteAddr, why)
	}
	deny := func(status int, code, reason, msg string) (*state, *reply) {
		entry.Decision, entry.Reason = "denied", reason
		p.audit.write(entry)
		return nil, &reply{status: status, code: code, msg: msg}
	}
	if h, port := splitHost(r.Host); hub.CanonicalHost(h) != host || (port != "" && port != "443") {
		return deny(http.StatusForbidden, "DENIED", "host differs from the CONNECT host",
			fmt.Sprintf("oat-proxy refuses a request for %q inside a tunnel to %s: send it to the host the tunnel is for.", r.Host, host))
	}
	r.Method = strings.ToUpper(r.Method)
	entry.Method = r.Method
	var body []byte
	if registry.NeedsBody(host, r.Method, r.URL.Path) {
		b, err := io.ReadAll(io.LimitReader(r.Body, maxForm+1))
		switch {
		case err != nil:
			return deny(http.StatusRequestTimeout, "UNSUPPORTED", "body unreadable", "oat-proxy could not read the request's body: it stopped arriving")
		case len(b) > maxForm:
			return deny(http.StatusRequestEntityTooLarge, "UNSUPPORTED", "body too large", "oat-proxy reads token and login bodies of at most 64 KiB")
		}
		body = b
		r.Body = io.NopCloser(bytes.NewReader(b)) // read: the stall deadline is done with
	}
	req, err := registry.Classify(host, r, body)
	entry.Kind = req.Kind.String()
	if len(req.Access) > 0 {
		entry.Repo = req.Access[0].Repo
		entry.Action = strings.Join(req.Access[0].Actions, ",")
	}
	if req.Unread != "" {
		// Read or not, whoever sends it: a server that reads it another way
		// could find credentials the proxy never checked.
		return p.refuse(&state{entry: entry, kind: req.Kind}, Unread(req))
	}
	who := p.resolve(req, body)
	injected := false
	if p.cfg.Inject && req.Kind == registry.KindToken && who.holder.anon && err == nil {
		t, sent, refusal := p.inject(r, req, body, kindOf(entry.Agent) == showsRegistryBody)
		body = sent
		if refusal != nil {
			return p.refuse(&state{entry: entry, kind: req.Kind}, *refusal)
		}
		if t != nil {
			who = resolved{tok: t, holder: holder{ours: true, id: identityOf(*t)}}
			injected = true
		}
	}
	st := &state{entry: entry, holder: who.holder, kind: req.Kind, download: req.BlobDownload}
	switch {
	case who.unseen && p.cfg.Inject && req.Kind == registry.KindRegistry && err == nil:
		return p.reissue(r, req, st)
	case who.unseen:
		// Docker Hub answers a token it does not know with its challenge;
		// so does the proxy for one it did not see issued, and the client
		// fetches a new one through the checked path.
		st.entry.Decision, st.entry.Reason = "challenged", "a bearer or refresh token the proxy did not see issued"
		p.audit.write(st.entry)
		return nil, challenge(req)
	case who.tok == nil && err != nil:
		msg := redact.String(err.Error())
		entry.Decision, entry.Reason = "denied", msg
		p.audit.write(entry)
		return nil, &reply{status: http.StatusBadRequest, code: "NAME_INVALID", msg: msg}
	case who.tok == nil && req.Kind == registry.KindRegistry && len(req.Creds) == 0:
		// Docker Hub answers every registry request without a bearer
		// token with this challenge; answering it here keeps probes for
		// repositories a token may not touch from reaching the Hub.
		st.entry.Decision, st.entry.Reason = "challenged", "no bearer token: answered with the Hub's challenge"
		p.audit.write(st.entry)
		return nil, challenge(req)
	case who.tok == nil:
		st.entry.Decision, st.entry.Reason = "passed", who.why
		return st, nil
	}
	tok := *who.tok
	st.entry.Label, st.entry.Org = tok.Label, tok.Org
	if tok.Scopes.Unknown {
		p.noticeOnce(tok)
	}
	if why := tok.Unusable(time.Now()); why != "" && why != oat.NoSecret {
		// The Hub would refuse it too, with its own words: say which, and
		// the fix, before it hears of it.
		return p.refuse(st, Retired(tok, why))
	}
	d := Check(tok, req, err)
	if d.Allow && who.conflict {
		d = Conflicting(tok)
	}
	if req.Kind == registry.KindToken {
		st.client, st.asked, st.tok = kindOf(entry.Agent), req.Access, tok
		if !d.Allow && st.client == showsRegistryBody && !who.conflict && err == nil && req.Unknown == "" {
			if kept, ok := narrow(tok, req.Access); ok {
				if injected {
					d.Reason = "injected the token closest to covering it: " + d.Reason
				}
				return p.narrowed(st, r, body, kept, d)
			}
		}
		st.publicOnly = publicOnly(tok, req.Access)
	}
	if !d.Allow {
		return p.refuse(st, d)
	}
	if who.limit != nil && req.Kind == registry.KindRegistry {
		ld, again := checkLimit(tok, who.limit, req.Access)
		if again {
			st.entry.Decision, st.entry.Reason = "challenged", ld.Reason
			p.audit.write(st.entry)
			return nil, challenge(req)
		}
		if !ld.Allow {
			return p.refuse(st, ld)
		}
	}
	st.entry.Decision, st.entry.Reason = "allowed", d.Reason
	if injected {
		st.entry.Decision, st.entry.Reason = "injected", "the least-privileged token that covers it: "+d.Reason
	}
	return st, nil
}

// refuse answers a decision's refusal with the registry error a client
// prints.
func (p *Proxy) refuse(st *state, d Decision) (*state, *reply) {
	st.entry.Decision, st.entry.Reason = "denied", d.Reason
	if d.Repo != "" {
		st.entry.Repo = d.Repo
	}
	if d.Action != "" {
		st.entry.Action = d.Action
	}
	p.audit.write(st.entry)
	p.log.Info("refused: "+d.Message, "label", st.entry.Label, "org", st.entry.Org, "repository", d.Repo, "action", d.Action, "client", st.entry.Client, "client_family", st.entry.Family)
	p.refusals.add(d.Message)
	rp := &reply{status: http.StatusForbidden, code: "DENIED", msg: withDesktop(d.Message, st.entry.Desktop),
		detail: map[string]string{"token": st.entry.Label, "org": st.entry.Org, "repository": d.Repo, "action": d.Action}}
	// containerd prints a refusal's status line and nothing else.
	rp.phrase = kindOf(st.entry.Agent) == showsStatusLine
	return nil, rp
}

// narrowed sends a token request on asking only for kept, what the token
// has, for a client that does not show a refused token request: the
// bearer token is remembered as issued for kept only, and the first
// registry request needing what was cut is refused (d's sentence).
func (p *Proxy) narrowed(st *state, r *http.Request, body []byte, kept []registry.Access, d Decision) (*state, *reply) {
	rewriteScopes(r, body, kept)
	st.asked, st.publicOnly = kept, publicOnly(st.tok, kept)
	st.holder.limit = &limit{access: kept}
	asked := strings.Join(scopesOf(kept), " ")
	if asked == "" {
		asked = "no repository scope"
	}
	st.entry.Repo, st.entry.Action = d.Repo, d.Action
	st.entry.Decision = "narrowed"
	st.entry.Reason = fmt.Sprintf("%s: asked the Hub for %s only; the first registry request that needs %s on %s is refused (its client shows no refused token request)",
		d.Reason, asked, d.Action, d.Repo)
	return st, nil
}

// resolved is whose credentials a request carries.
type resolved struct {
	tok      *oat.Token // a token we hold, as its record is now
	holder   holder
	limit    *limit // what the bearer token sent was issued for, if less
	conflict bool   // a token we hold and other credentials besides
	unseen   bool   // a bearer or refresh token the proxy did not see issued
	why      string // for requests passed: why they are not ours to judge
}

// resolve finds the token a request's credentials belong to: by the
// secret sent, or by the bearer or refresh token the proxy saw issued.
// A hidden value or a body holding a credential of ours makes the request
// ours too.
func (p *Proxy) resolve(req registry.Request, body []byte) resolved {
	var (
		ours   []identity
		byID   = map[identity]oat.Token{}
		others int
		out    resolved
		recs   = p.tokens.records()
	)
	addOurs := func(t oat.Token) {
		id := identityOf(t)
		if _, seen := byID[id]; !seen {
			ours = append(ours, id)
			byID[id] = t
		}
	}
	for _, v := range req.Hidden {
		if t, ok := p.ours(recs, v); ok {
			addOurs(t)
		}
	}
	if len(body) > 0 {
		if t, ok := recs.secretIn(body); ok {
			addOurs(t)
		}
	}
	for _, c := range req.Creds {
		if c.Value == "" {
			continue
		}
		if c.Kind != registry.CredRefresh {
			if t, ok := recs.lookup(c.Value); ok {
				addOurs(t)
				continue
			}
		}
		if c.Kind == registry.CredRefresh || c.Kind == registry.CredBearer || c.Kind == registry.CredOther {
			if h, ok := p.tokens.issuedTo(c.Value); ok {
				if !h.ours {
					others++
					out.holder = h
					continue
				}
				if t, ok := recs.current(h.id); ok {
					addOurs(t)
					if h.limit != nil {
						out.limit = h.limit
					}
					continue
				}
				// The record was removed or changed its secret: the token
				// is tied to nothing the proxy can check against.
			}
			if c.Kind != registry.CredOther {
				out.unseen = true
				continue
			}
		}
		others++
		out.holder = holder{}
	}
	switch {
	case len(ours) > 0:
		t := byID[ours[0]]
		out.tok, out.holder = &t, holder{ours: true, id: ours[0]}
		out.conflict = len(ours) > 1 || others > 0 || out.unseen
		out.unseen = false
	case out.unseen:
	case others > 0:
		out.why = "credentials of no token in the store: not ours to judge"
	default:
		out.holder, out.why = holder{anon: true}, "no credentials"
	}
	return out
}

// ours returns the token of recs v is the secret of, or a bearer or
// refresh token issued to.
func (p *Proxy) ours(recs records, v string) (oat.Token, bool) {
	if v == "" {
		return oat.Token{}, false
	}
	if t, ok := recs.lookup(v); ok {
		return t, true
	}
	if h, ok := p.tokens.issuedTo(v); ok && h.ours {
		return recs.current(h.id)
	}
	return oat.Token{}, false
}

// modifyResponse writes the audit line of a request sent upstream and
// remembers the bearer and refresh tokens a token request or a login
// obtained, tied to who obtained them.
func (p *Proxy) modifyResponse(resp *http.Response) error {
	st, _ := resp.Request.Context().Value(stateKey{}).(*state)
	if st == nil {
		return nil
	}
	st.entry.Upstream = resp.StatusCode
	resp.Body = newUpstreamBody(resp.Body, p.limits.Stall, st.cancel)
	if target := redirectTarget(resp); st.download && target != "" {
		// The Location goes to the client untouched; only its host is
		// kept (and logged): its query is a signature.
		p.sent.note(clientOf(st.entry.Client), target, time.Now())
		st.entry.Redirect = target
	}
	if st.entry.Desktop != "" && (resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden) {
		if err := explainToDesktop(resp, st.entry.Desktop); err != nil {
			return err
		}
	}
	if (st.kind != registry.KindToken && st.kind != registry.KindLogin) || resp.StatusCode != http.StatusOK {
		p.audit.write(st.entry)
		return nil
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTokenResponse+1))
	resp.Body.Close()
	if err != nil {
		return err
	}
	if len(body) > maxTokenResponse {
		return errTokenTooLarge
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if len(st.publicOnly) > 0 {
		if denied, ok := grantedPull(body, st.publicOnly); ok && len(denied) > 0 {
			if st.client != showsRegistryBody {
				// The client shows this answer: the sentence, before it
				// asks the registry anything (upstreamError writes it).
				_, rp := p.refuse(st, notPublic(st.tok, denied[0]))
				return refusal{rp}
			}
			l := &limit{access: st.asked, private: denied}
			st.holder.limit = l
			st.entry.Reason += fmt.Sprintf("; the Hub granted no pull on %s: its registry requests are refused", strings.Join(denied, ", "))
		}
	}
	p.audit.write(st.entry)
	ttl := 5 * time.Minute
	if st.kind == registry.KindLogin {
		ttl = 24 * time.Hour // the Hub's JWTs say nothing of their lifetime
	}
	p.rememberIssued(body, st.holder, ttl)
	return nil
}

// maxTokenResponse bounds a token service's or a login's answer: a token
// cut short would be a token the proxy did not see issued.
const maxTokenResponse = 1 << 20

var errTokenTooLarge = errors.New("the token response is over 1 MiB")

// refusal is the proxy's answer in place of the Hub's, from
// modifyResponse: upstreamError writes it.
type refusal struct{ rp *reply }

func (refusal) Error() string { return "refused in place of the Hub's answer" }

// upstreamError answers a request the Hub did not answer: a registry
// error, 504 for a timeout, 502 otherwise, and an audit line.
func (p *Proxy) upstreamError(w http.ResponseWriter, r *http.Request, err error) {
	var refused refusal
	if errors.As(err, &refused) {
		refused.rp.write(w)
		return
	}
	st, _ := r.Context().Value(stateKey{}).(*state)
	var stalled stallError
	if cause := context.Cause(r.Context()); errors.As(cause, &stalled) {
		err = stalled
	}
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		if st != nil {
			st.entry.Reason += "; the client went away"
			p.audit.write(st.entry)
		}
		return
	}
	status, what := http.StatusBadGateway, upstreamCause(err)
	var timeout interface{ Timeout() bool }
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &timeout) && timeout.Timeout()) {
		status = http.StatusGatewayTimeout
	}
	msg := fmt.Sprintf("oat-proxy could not get an answer from %s: %s. Try again; if it persists, check the network and https://www.dockerstatus.com.", r.Host, what)
	if errors.Is(err, errTokenTooLarge) {
		msg = fmt.Sprintf("oat-proxy refuses %s's token response: it is over 1 MiB, more than any token the Hub issues.", r.Host)
	}
	if st != nil {
		st.entry.Upstream = status
		st.entry.Reason += "; upstream failed: " + what
		p.audit.write(st.entry)
	}
	p.log.Warn("upstream failed", "host", r.Host, "error", what)
	(&reply{status: status, code: "UNAVAILABLE", msg: msg}).write(w)
}

// upstreamCause is err without the URL a *url.Error adds (a query may
// hold what is nobody's business).
func upstreamCause(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}

// rememberIssued ties the tokens of a token response to h.
// An answer that does not say how long its token lasts gets ttl.
func (p *Proxy) rememberIssued(body []byte, h holder, ttl time.Duration) {
	var tr struct {
		Token        string `json:"token"`
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
		ExpiresIn    int    `json:"expires_in"`
	}
	if json.Unmarshal(body, &tr) != nil {
		return
	}
	if tr.ExpiresIn > 0 {
		ttl = time.Duration(tr.ExpiresIn) * time.Second
	}
	p.tokens.remember(tr.Token, h, ttl+time.Minute)
	p.tokens.remember(tr.AccessToken, h, ttl+time.Minute)
	p.tokens.remember(tr.RefreshToken, h, 90*24*time.Hour)
}
