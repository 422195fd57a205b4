package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/99designs/keyring"
)

// ownerKey is where the Hub API owner's credential is kept: apart from
// the registry credentials and the token records, so that nothing hands
// it to Docker (get, list) or to the proxy.
const ownerKey = "hub-owner"

// Owner is the credential of an organization owner (or a role allowed to
// manage organization access tokens) that signs in to the Hub API: a user
// and a personal access token or password.
type Owner struct {
	User    string    `json:"user"`
	Secret  string    `json:"secret"`
	Updated time.Time `json:"updated"`
}

// PutOwner keeps the owner's credential, replacing any before.
func (s *Store) PutOwner(o Owner) error {
	o.Updated = time.Now().UTC().Truncate(time.Second)
	data, err := json.Marshal(o)
	if err != nil {
		return err
	}
	return s.kr.Set(keyring.Item{Key: ownerKey, Data: data, Label: "Docker Hub API sign-in of " + o.User, Description: "docker-credential-oat"})
}

// Owner returns the owner's credential, or ErrNotFound.
func (s *Store) Owner() (Owner, error) {
	item, err := s.kr.Get(ownerKey)
	if errors.Is(err, keyring.ErrKeyNotFound) {
		return Owner{}, ErrNotFound
	}
	if err != nil {
		return Owner{}, err
	}
	var o Owner
	if err := json.Unmarshal(item.Data, &o); err != nil || o.User == "" {
		return Owner{}, fmt.Errorf("store entry %q is damaged", ownerKey)
	}
	return o, nil
}

// DeleteOwner forgets the owner's credential; there being none is not an
// error.
func (s *Store) DeleteOwner() error {
	if err := s.kr.Remove(ownerKey); err != nil && !errors.Is(err, keyring.ErrKeyNotFound) {
		return err
	}
	return nil
}
