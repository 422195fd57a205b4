package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/distribution/distribution/v3/registry/api/errcode"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/oatkit/oat/internal/classify"
	"github.com/oatkit/oat/internal/desktop"
	"github.com/oatkit/oat/internal/hub"
	"github.com/oatkit/oat/internal/oat"
	"github.com/oatkit/oat/internal/policy"
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
	// For a token request sent on: its verdict, what it asks of the Hub,
	// and what its client shows of a refusal (the Hub's answer may still
	// refuse a pull by public read: policy.Granted).
	verdict policy.Verdict
	asked   []registry.Access
	client  policy.Client
	cancel  context.CancelCauseFunc
}

type stateKey struct{}

// stateCtx is a request's context carrying its state, under stateKey.
type stateCtx struct {
	context.Context
	st *state
}

func (c *stateCtx) Value(key any) any {
	if key == (stateKey{}) {
		return c.st
	}
	return c.Context.Value(key)
}

// exchange is what the proxy keeps of one request, allocated at once: its
// state, the counters of its bodies and their stall deadlines.
type exchange struct {
	st    state
	in    countingReader
	stall stallReader
	out   countingWriter
	sw    stallWriter
	rc    http.ResponseController
	ctx   stateCtx
}

// serveHub serves one request inside a tunnel to host, an intercepted
// host in canonical form: it is checked, then refused or sent upstream.
func (p *Proxy) serveHub(host string, w http.ResponseWriter, r *http.Request) {
	x := &exchange{}
	x.rc = *http.NewResponseController(w)
	in := &x.in
	in.ReadCloser = http.NoBody
	if r.Body != nil && r.Body != http.NoBody {
		in.ReadCloser = r.Body
		x.stall = stallReader{ReadCloser: in, rc: &x.rc, d: p.limits.Stall}
		r.Body = &x.stall
	}
	out := &x.out
	out.ResponseWriter = w
	w = out
	st := &x.st
	rp := p.check(st, host, r)
	if p.cfg.Metrics != nil {
		defer func() {
			kind := st.entry.Kind
			if kind == "" {
				kind = "other"
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
	x.ctx = stateCtx{Context: ctx, st: st}
	x.sw = stallWriter{ResponseWriter: w, rc: &x.rc, d: p.limits.Stall}
	p.upstream.ServeHTTP(&x.sw, r.WithContext(&x.ctx))
}

// check brings r to its canonical form, classifies it, asks the policy
// and acts on its verdict, all noted in st. A nil reply sends it
// upstream.
func (p *Proxy) check(st *state, host string, r *http.Request) *reply {
	st.entry = auditEntry{Time: time.Now(), Client: r.RemoteAddr, Agent: r.UserAgent(), Method: r.Method, Host: host, Path: r.URL.Path}
	st.entry.Family, st.client = policy.Recognise(st.entry.Agent)
	if desk, why := desktop.UserAgent(r.UserAgent()); desk {
		st.entry.Desktop = why
		p.desktopOnce(r.RemoteAddr, why)
	}
	if h, port := splitHost(r.Host); hub.CanonicalHost(h) != host || (port != "" && port != "443") {
		return p.answer(st, policy.Of(policy.HostMismatch,
			fmt.Sprintf("oat-proxy refuses a request for %q inside a tunnel to %s: send it to the host the tunnel is for.", r.Host, host)), nil)
	}
	r.Method = strings.ToUpper(r.Method)
	st.entry.Method = r.Method
	var body []byte
	if classify.NeedsBody(host, r.Method, r.URL.Path) {
		b, err := io.ReadAll(io.LimitReader(r.Body, maxForm+1))
		switch {
		case err != nil:
			return p.answer(st, policy.Of(policy.BodyUnreadable, "oat-proxy could not read the request's body: it stopped arriving"), nil)
		case len(b) > maxForm:
			return p.answer(st, policy.Of(policy.BodyTooLarge, fmt.Sprintf("oat-proxy reads token and login bodies of at most %d KiB", maxForm>>10)), nil)
		}
		body = b
		r.Body = io.NopCloser(bytes.NewReader(b)) // read: the stall deadline is done with
	}
	req, err := classify.Request(host, r, body)
	st.kind, st.download = req.Kind, req.BlobDownload
	st.entry.Kind = req.Kind.String()
	if len(req.Access) > 0 {
		st.entry.Repo = req.Access[0].Repo
		st.entry.Action = strings.Join(req.Access[0].Actions, ",")
	}
	in := policy.Request{Request: req, Client: st.client, Inject: p.cfg.Inject, Now: st.entry.Time}
	if err != nil {
		in.Invalid = err.Error()
	}
	if req.Unread == "" {
		in.Creds, st.holder = p.resolve(req, body)
	}
	// The records to choose from, only where the policy may choose: an
	// anonymous token request, or a bearer the proxy did not see issued.
	if c := in.Creds; in.Inject && c.Token == nil && ((req.Kind == registry.KindToken && !c.Unseen && !c.Others) || (req.Kind == registry.KindRegistry && c.Unseen)) {
		in.Tokens = p.tokens.all()
	}
	v := policy.Decide(in)
	if v.Token != nil && v.Token.Scopes.Unknown {
		p.noticeOnce(*v.Token)
	}
	if v.Outcome == policy.Denied || v.Outcome == policy.Challenged {
		return p.answer(st, v, req.Scopes())
	}
	st.asked = req.Access
	if v.Attach {
		tok := *v.Token
		if v.Cause == policy.Reissued {
			bearer, err := p.ownBearer(r.Context(), tok, req.Scopes(), st.entry.Client)
			if err != nil {
				return p.answer(st, policy.NoOwnToken(v, hub.AuthHost, err), nil)
			}
			r.Header.Set("Authorization", "Bearer "+bearer)
		} else {
			body = attach(r, body, tok)
		}
		st.holder = holder{ours: true, id: identityOf(tok)}
	}
	if v.Outcome == policy.Narrowed {
		rewriteScopes(r, body, v.Kept)
		st.asked, st.holder.limit = v.Kept, v.Bearer()
	}
	st.verdict = v
	st.entry.judge(v)
	return nil
}

// answer is the proxy's own answer to a request the policy refused or
// challenged: the audit line, and the registry error the client prints.
// scopes are the request's, for a challenge.
func (p *Proxy) answer(st *state, v policy.Verdict, scopes []string) *reply {
	st.entry.judge(v)
	p.audit.write(st.entry)
	if v.Outcome == policy.Challenged {
		return challenge(scopes)
	}
	p.log.Info("refused: "+v.Message, "label", st.entry.Label, "org", st.entry.Org, "repository", v.Repo, "action", v.Action,
		"cause", v.Cause.String(), "client", st.entry.Client, "client_family", st.entry.Family)
	p.refusals.add(v.Message)
	return refusalOf(v, st)
}

// refusalOf is the registry error of a refusal: its status and code are
// the cause's, its message the sentence.
func refusalOf(v policy.Verdict, st *state) *reply {
	rp := &reply{status: http.StatusForbidden, err: errcode.ErrorCodeDenied.WithMessage(withDesktop(v.Message, st.entry.Desktop))}
	switch v.Cause {
	case policy.BodyUnreadable:
		rp.status, rp.err.Code = http.StatusRequestTimeout, errcode.ErrorCodeUnsupported
	case policy.BodyTooLarge:
		rp.status, rp.err.Code = http.StatusRequestEntityTooLarge, errcode.ErrorCodeUnsupported
	case policy.InvalidName:
		rp.status, rp.err.Code = http.StatusBadRequest, errcode.ErrorCodeNameInvalid
	case policy.OwnTokenFailed:
		rp.status, rp.err.Code = http.StatusBadGateway, errcode.ErrorCodeUnavailable
	}
	if v.Token != nil || v.Repo != "" {
		rp.err = rp.err.WithDetail(map[string]string{"token": st.entry.Label, "org": st.entry.Org, "repository": v.Repo, "action": v.Action})
	}
	// containerd prints a refusal's status line and nothing else.
	rp.phrase = st.client == policy.ShowsStatusLine
	return rp
}

// resolve finds the token a request's credentials belong to: by the
// secret sent, or by the bearer or refresh token the proxy saw issued.
// A hidden value or a body holding a credential of ours makes the request
// ours too. h is who a token the request obtains is issued to.
func (p *Proxy) resolve(req registry.Request, body []byte) (out policy.Credentials, h holder) {
	var (
		held   [2]identity // room for the usual one or two, on the stack
		ours   = held[:0]
		first  oat.Token // the token of ours[0]
		others int
		recs   = p.tokens.records()
	)
	// addOurs adds t, whose identity id is: its secret's hash is known
	// where t was found, and not computed again.
	addOurs := func(t oat.Token, id identity) {
		if !slices.Contains(ours, id) {
			if len(ours) == 0 {
				first = t
			}
			ours = append(ours, id)
		}
	}
	for _, v := range req.Hidden {
		if t, id, ok := p.ours(recs, v); ok {
			addOurs(t, id)
		}
	}
	if len(body) > 0 {
		if t, ok := recs.secretIn(body); ok {
			addOurs(t, identityOf(t))
		}
	}
	for _, c := range req.Creds {
		if c.Value == "" {
			continue
		}
		k := hashOf(c.Value)
		if c.Kind != registry.CredRefresh {
			if t, ok := recs.lookupKey(k); ok {
				addOurs(t, identityAt(t, k))
				continue
			}
		}
		if c.Kind == registry.CredRefresh || c.Kind == registry.CredBearer || c.Kind == registry.CredOther {
			if issued, ok := p.tokens.issuedToKey(k); ok {
				if !issued.ours {
					others++
					h = issued
					continue
				}
				if t, ok := recs.current(issued.id); ok {
					addOurs(t, issued.id)
					if issued.limit != nil {
						out.Limit = issued.limit
					}
					continue
				}
				// The record was removed or changed its secret: the token
				// is tied to nothing the proxy can check against.
			}
			if c.Kind != registry.CredOther {
				out.Unseen = true
				continue
			}
		}
		others++
		h = holder{}
	}
	switch {
	case len(ours) > 0:
		out.Token, h = &first, holder{ours: true, id: ours[0]}
		out.Conflict = len(ours) > 1 || others > 0 || out.Unseen
		out.Unseen = false
	case out.Unseen:
	case others > 0:
		out.Others = true
	default:
		h = holder{anon: true}
	}
	return out, h
}

// ours returns the token of recs v is the secret of, or a bearer or
// refresh token issued to, and its identity.
func (p *Proxy) ours(recs records, v string) (oat.Token, identity, bool) {
	if v == "" {
		return oat.Token{}, identity{}, false
	}
	k := hashOf(v)
	if t, ok := recs.lookupKey(k); ok {
		return t, identityAt(t, k), true
	}
	if h, ok := p.tokens.issuedToKey(k); ok && h.ours {
		t, ok := recs.current(h.id)
		return t, h.id, ok
	}
	return oat.Token{}, identity{}, false
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
	if resp.Body != http.NoBody { // a HEAD's, a 204's, a 304's: nothing to stall
		resp.Body = newUpstreamBody(resp.Body, p.limits.Stall, st.cancel)
	}
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
	if refused, l := policy.Granted(st.verdict, st.client, st.asked, body); refused != nil {
		// The client shows this answer: the sentence, before it asks the
		// registry anything (upstreamError writes it).
		rp := p.answer(st, *refused, nil)
		return refusal{rp}
	} else if l != nil {
		st.holder.limit = l
		st.entry.Reason += fmt.Sprintf("; the Hub granted no pull on %s: its registry requests are refused", strings.Join(l.Private, ", "))
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
	(&reply{status: status, err: errcode.ErrorCodeUnavailable.WithMessage(msg)}).write(w)
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
