package store

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/99designs/keyring"

	"github.com/oatkit/oat/internal/oat"
)

const tokenPrefix = "token/"

// TokenKey is the key of an organization's token record.
func TokenKey(org, label string) string {
	return tokenPrefix + url.PathEscape(org) + "/" + url.PathEscape(label)
}

// Tokens returns every token record, sorted by organization and label.
func (s *Store) Tokens() ([]oat.Token, error) {
	items, err := s.items(tokenPrefix)
	if err != nil {
		return nil, err
	}
	return decodeTokens(items)
}

// Login returns the credential stored for server and every token record,
// in one read of the store where the backend can (the file vault): get's
// path for Docker Hub, which needs both.
func (s *Store) Login(server string) (Credential, []oat.Token, error) {
	bulk, ok := s.kr.(interface {
		Items(prefix string) ([]keyring.Item, error)
	})
	if !ok {
		c, err := s.Credential(server)
		if err != nil {
			return Credential{}, nil, err
		}
		tokens, err := s.Tokens()
		return c, tokens, err
	}
	all, err := bulk.Items("")
	if err != nil {
		return Credential{}, nil, err
	}
	key := CredentialKey(server)
	var (
		cred   *Credential
		tokens []keyring.Item
	)
	for _, item := range all {
		switch {
		case item.Key == key:
			c, err := decodeCredential(key, item)
			if err != nil {
				return Credential{}, nil, err
			}
			cred = &c
		case strings.HasPrefix(item.Key, tokenPrefix):
			tokens = append(tokens, item)
		}
	}
	if cred == nil {
		return Credential{}, nil, ErrNotFound
	}
	decoded, err := decodeTokens(tokens)
	return *cred, decoded, err
}

// decodeTokens parses token records, sorted by organization and label.
func decodeTokens(items []keyring.Item) ([]oat.Token, error) {
	out := make([]oat.Token, 0, len(items))
	for _, item := range items {
		t, err := decodeToken(item.Key, item)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	sortTokens(out)
	return out, nil
}

// sortTokens sorts by organization and label.
func sortTokens(tokens []oat.Token) {
	slices.SortFunc(tokens, func(a, b oat.Token) int {
		if c := strings.Compare(a.Org, b.Org); c != 0 {
			return c
		}
		return strings.Compare(a.Label, b.Label)
	})
}

func decodeToken(key string, item keyring.Item) (oat.Token, error) {
	var t oat.Token
	if err := json.Unmarshal(item.Data, &t); err != nil {
		return oat.Token{}, fmt.Errorf("store entry %q is damaged: %v", key, err)
	}
	if TokenKey(t.Org, t.Label) != key {
		return oat.Token{}, fmt.Errorf("store entry %q holds the record of %q; refusing to use it", key, TokenKey(t.Org, t.Label))
	}
	return t, nil
}
