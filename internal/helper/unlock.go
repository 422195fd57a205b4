package helper

import (
	"errors"
	"fmt"
	"time"

	"github.com/oatkit/oat/internal/store"
	"github.com/oatkit/oat/internal/vault"
)

const unlockUsage = `Usage: docker-credential-oat unlock [--for DURATION]
       docker-credential-oat lock

unlock asks for the vault's passphrase once and keeps the derived key in
the kernel's user keyring for DURATION (8h by default): until then, or until
lock, every call opens the vault without running the KDF again. The key
never touches the disk, cannot be swapped out, and only your own processes
can read it. Set OAT_CACHE=8h to unlock automatically on the first
passphrase use, OAT_CACHE=off to never use the cache.
`

// vaultOf opens the store and returns its file vault.
func (c *cli) vaultOf() (*vault.Vault, error) {
	s, err := c.openStore()
	if err != nil {
		return nil, err
	}
	v, ok := s.Keyring().(*vault.Vault)
	if !ok {
		return nil, fmt.Errorf("the %s store has no passphrase to cache", s.Backend())
	}
	return v, nil
}

func (c *cli) unlock(args []string) int {
	fs := newFlags("unlock")
	ttl := fs.Duration("for", 8*time.Hour, "")
	rest, err := parseArgs(fs, args)
	if err == nil && len(rest) > 0 {
		err = fmt.Errorf("unexpected argument %q", rest[0])
	}
	if err == nil && *ttl <= 0 {
		err = errors.New("--for must be a positive duration, such as 8h")
	}
	if err != nil {
		return c.usageError(err, unlockUsage)
	}
	if c.Getenv(store.EnvCache) == "off" {
		c.fail(errors.New("the unlock cache is off (OAT_CACHE=off)"), "unset OAT_CACHE to use it")
		return 1
	}
	v, err := c.vaultOf()
	if err != nil {
		c.fail(err, "")
		return 1
	}
	if err := v.Unlock(*ttl); err != nil {
		c.fail(err, "")
		return 1
	}
	fmt.Fprintf(c.Stdout, "unlocked %s until %s\n", v.Path(), c.Now().Add(*ttl).Format("2006-01-02 15:04 MST"))
	return 0
}

func (c *cli) lock(args []string) int {
	if len(args) > 0 {
		return c.usageError(fmt.Errorf("unexpected argument %q", args[0]), unlockUsage)
	}
	v, err := c.vaultOf()
	if err != nil {
		c.fail(err, "")
		return 1
	}
	if err := v.Lock(); err != nil {
		c.fail(err, "")
		return 1
	}
	fmt.Fprintf(c.Stdout, "locked %s: the next call asks for the passphrase\n", v.Path())
	return 0
}
