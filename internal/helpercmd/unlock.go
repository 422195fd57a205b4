package helpercmd

import (
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/oatkit/oat/internal/command"
	"github.com/oatkit/oat/internal/store"
)

func (c *cli) unlockCommand() *command.Command {
	return &command.Command{
		Name:  "unlock",
		Short: "keep the vault key in the kernel keyring for a while, so calls skip the KDF",
		Long: `unlock asks for the vault's passphrase once and keeps the derived key in
the kernel's user keyring for the duration given (8h by default): until
then, or until lock, every call opens the vault without running the KDF
again. The key never touches the disk, cannot be swapped out, and only your
own processes can read it. Set OAT_CACHE=8h to unlock automatically on the
first passphrase use, OAT_CACHE=off to never use the cache.`,
		Flags: func(fs *flag.FlagSet) command.Runner {
			ttl := fs.Duration("for", 8*time.Hour, "how long the key stays unlocked, as a `DURATION` such as 8h")
			return func(args []string) error {
				if err := command.NoArgs(args); err != nil {
					return err
				}
				if *ttl <= 0 {
					return command.Usagef("--for must be a positive duration, such as 8h")
				}
				return c.unlock(*ttl)
			}
		},
	}
}

func (c *cli) unlock(ttl time.Duration) error {
	if store.CacheDisabled(c.Getenv) {
		return command.WithHint(errors.New("the unlock cache is off ("+store.EnvCache+"="+store.CacheOff+")"), "unset "+store.EnvCache+" to use it")
	}
	s, err := c.openStore()
	if err != nil {
		return err
	}
	if err := s.Unlock(ttl); err != nil {
		return err
	}
	fmt.Fprintf(c.Stdout, "unlocked %s until %s\n", s.Location(), c.Now().Add(ttl).Format("2006-01-02 15:04 MST"))
	return nil
}

func (c *cli) lockCommand() *command.Command {
	return &command.Command{
		Name:  "lock",
		Short: "forget the vault key kept by unlock",
		Long:  "lock removes the vault key unlock put in the kernel keyring: the next call asks\nfor the passphrase again.",
		Flags: func(*flag.FlagSet) command.Runner {
			return func(args []string) error {
				if err := command.NoArgs(args); err != nil {
					return err
				}
				s, err := c.openStore()
				if err != nil {
					return err
				}
				if err := s.Lock(); err != nil {
					return err
				}
				fmt.Fprintf(c.Stdout, "locked %s: the next call asks for the passphrase\n", s.Location())
				return nil
			}
		},
	}
}
