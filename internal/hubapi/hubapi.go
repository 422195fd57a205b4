// Package hubapi is a client of Docker Hub's organization access token
// API: an organization owner signs in (POST /v2/auth/token) and creates,
// lists, reads, changes and deletes the organization's access tokens
// (/v2/orgs/ORG/access-tokens). Rate limits are honoured (429 with
// Retry-After is waited out, within the context); no error it returns
// holds a secret.
package hubapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/oatkit/oat/internal/hub"
	"github.com/oatkit/oat/internal/oat"
)

// The vocabulary of an access token's resources.
const (
	TypeRepo    = "TYPE_REPO"
	TypeOrg     = "TYPE_ORG"
	ScopePull   = "scope-image-pull"
	ScopePush   = "scope-image-push" // includes pull
	ScopeDelete = "scope-image-delete"
	PublicRepos = "*/*/public" // "Read public repositories"
)

// Resource is what a token may do on a repository (TYPE_REPO: a
// repository, ORG/*, or PublicRepos) or in the organization (TYPE_ORG):
// the token model's own reading of the Hub's JSON.
type Resource = oat.APIResource

// Token is an organization access token as the Hub describes it. Secret
// is set only in the answer to its creation: the Hub never shows it again.
// Resources are not in a list's entries (nil there).
type Token struct {
	ID          string     `json:"id"`
	Label       string     `json:"label"`
	Description string     `json:"description,omitempty"`
	CreatedBy   string     `json:"created_by,omitempty"`
	IsActive    bool       `json:"is_active"`
	CreatedAt   time.Time  `json:"created_at"`
	ExpiresAt   *time.Time `json:"expires_at"`
	LastUsedAt  *time.Time `json:"last_used_at"`
	Resources   []Resource `json:"resources,omitempty"`
	Secret      string     `json:"token,omitempty"`
}

// API is t as the token model reads the Hub's JSON, for its records.
func (t Token) API() oat.APIToken {
	active, created := t.IsActive, t.CreatedAt
	return oat.APIToken{ID: t.ID, Label: t.Label, Description: t.Description, IsActive: &active, CreatedAt: &created, ExpiresAt: t.ExpiresAt, Resources: t.Resources}
}

// NewToken is what a token is created with. ExpiresAt nil: it never
// expires.
type NewToken struct {
	Label       string     `json:"label"`
	Description string     `json:"description,omitempty"`
	Resources   []Resource `json:"resources"`
	ExpiresAt   *time.Time `json:"expires_at,omitempty"`
}

// Change is what Update changes; nil fields are left as they are. The
// expiry cannot change.
type Change struct {
	Label       *string     `json:"label,omitempty"`
	Description *string     `json:"description,omitempty"`
	IsActive    *bool       `json:"is_active,omitempty"`
	Resources   *[]Resource `json:"resources,omitempty"`
}

// Errors by the Hub's status, for errors.Is.
var (
	ErrUnauthorized = errors.New("not signed in, or the sign-in expired")
	ErrForbidden    = errors.New("not allowed")
	ErrNotFound     = errors.New("not found")
	ErrRateLimited  = errors.New("rate limited")
)

// Error is a refusal of the Hub's: the status, what it said, and, when it
// was rate limited, when to try again.
type Error struct {
	Op         string // "create access token", …
	Status     int
	Detail     string
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("docker hub: %s: %d %s", e.Op, e.Status, http.StatusText(e.Status))
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	return msg
}

// Is matches the sentinel of e's status.
func (e *Error) Is(target error) bool {
	switch e.Status {
	case http.StatusUnauthorized:
		return target == ErrUnauthorized
	case http.StatusForbidden:
		return target == ErrForbidden
	case http.StatusNotFound:
		return target == ErrNotFound
	case http.StatusTooManyRequests:
		return target == ErrRateLimited
	}
	return false
}

// Client speaks to the Hub API. JWT is the owner's sign-in (Login sets
// it).
type Client struct {
	HTTP *http.Client // http.DefaultClient if nil
	JWT  string
	// MaxWait bounds how long a rate-limited request waits in all (one
	// minute if 0); past it the 429 is returned.
	MaxWait time.Duration

	pageSize int // 100 if 0
}

// Login signs in user (an organization owner) with a personal access token
// or password, and keeps the JWT the Hub answers with.
func (c *Client) Login(ctx context.Context, user, secret string) error {
	var out struct {
		AccessToken string `json:"access_token"`
	}
	body := map[string]string{"identifier": user, "secret": secret}
	if err := c.do(ctx, "sign in", http.MethodPost, "/v2/auth/token", body, &out, false); err != nil {
		return err
	}
	if out.AccessToken == "" {
		return fmt.Errorf("docker hub: sign in: the answer holds no access token")
	}
	c.JWT = out.AccessToken
	return nil
}

func tokensPath(org string) string { return "/v2/orgs/" + url.PathEscape(org) + "/access-tokens" }

// Create creates a token in org; the answer holds its secret.
func (c *Client) Create(ctx context.Context, org string, t NewToken) (Token, error) {
	var out Token
	err := c.do(ctx, "create access token", http.MethodPost, tokensPath(org), t, &out, true)
	return out, err
}

// List lists every token of org, page after page (without resources).
func (c *Client) List(ctx context.Context, org string) ([]Token, error) {
	var all []Token
	for page := 1; ; page++ {
		var out struct {
			Total   int     `json:"total"`
			Next    *string `json:"next"`
			Results []Token `json:"results"`
		}
		size := c.pageSize
		if size == 0 {
			size = 100
		}
		path := fmt.Sprintf("%s?page=%d&page_size=%d", tokensPath(org), page, size)
		if err := c.do(ctx, "list access tokens", http.MethodGet, path, nil, &out, true); err != nil {
			return nil, err
		}
		all = append(all, out.Results...)
		if out.Next == nil || len(out.Results) == 0 || len(all) >= out.Total {
			return all, nil
		}
	}
}

// Get reads one token, with its resources.
func (c *Client) Get(ctx context.Context, org, id string) (Token, error) {
	var out Token
	err := c.do(ctx, "read access token", http.MethodGet, tokensPath(org)+"/"+url.PathEscape(id), nil, &out, true)
	return out, err
}

// Update changes a token and returns it as it is now.
func (c *Client) Update(ctx context.Context, org, id string, ch Change) (Token, error) {
	var out Token
	err := c.do(ctx, "change access token", http.MethodPatch, tokensPath(org)+"/"+url.PathEscape(id), ch, &out, true)
	return out, err
}

// Delete deletes a token.
func (c *Client) Delete(ctx context.Context, org, id string) error {
	return c.do(ctx, "delete access token", http.MethodDelete, tokensPath(org)+"/"+url.PathEscape(id), nil, nil, true)
}

// do sends one request, waiting out 429s within MaxWait and ctx, and
// decodes a 2xx answer into out.
func (c *Client) do(ctx context.Context, op, method, path string, in, out any, signedIn bool) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return err
		}
	}
	base := "https://" + hub.APIHost
	maxWait := c.MaxWait
	if maxWait == 0 {
		maxWait = time.Minute
	}
	deadline := time.Now().Add(maxWait)
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	for {
		req, err := http.NewRequestWithContext(ctx, method, base+path, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Accept", "application/json")
		if in != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		if signedIn {
			if c.JWT == "" {
				return &Error{Op: op, Status: http.StatusUnauthorized, Detail: "not signed in"}
			}
			req.Header.Set("Authorization", "Bearer "+c.JWT)
		}
		resp, err := hc.Do(req)
		if err != nil {
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err
			}
			return fmt.Errorf("docker hub: %s: %w", op, err)
		}
		data, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
		resp.Body.Close()
		if err != nil {
			return fmt.Errorf("docker hub: %s: %w", op, err)
		}
		if resp.StatusCode/100 == 2 {
			if out == nil || resp.StatusCode == http.StatusNoContent {
				return nil
			}
			if err := json.Unmarshal(data, out); err != nil {
				return fmt.Errorf("docker hub: %s: the answer is not the JSON expected: %w", op, err)
			}
			return nil
		}
		e := &Error{Op: op, Status: resp.StatusCode, Detail: detail(data)}
		if resp.StatusCode == http.StatusTooManyRequests {
			e.RetryAfter = retryAfter(resp.Header.Get("Retry-After"))
			if time.Now().Add(e.RetryAfter).Before(deadline) {
				select {
				case <-time.After(e.RetryAfter):
					continue
				case <-ctx.Done():
					return fmt.Errorf("docker hub: %s: %w", op, ctx.Err())
				}
			}
		}
		return e
	}
}

// detail is what a refusal's body says: its detail or message, cut to one
// line of at most 300 characters.
func detail(data []byte) string {
	var b struct {
		Detail  string `json:"detail"`
		Message string `json:"message"`
	}
	_ = json.Unmarshal(data, &b)
	s := b.Detail
	if s == "" {
		s = b.Message
	}
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// retryAfter reads a Retry-After in seconds (at least one second, at most
// a minute; one second when absent or an HTTP date).
func retryAfter(v string) time.Duration {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 1 {
		n = 1
	}
	return time.Duration(min(n, 60)) * time.Second
}
