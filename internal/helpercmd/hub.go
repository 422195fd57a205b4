package helpercmd

import (
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/oatkit/oat/internal/command"
	"github.com/oatkit/oat/internal/hubapi"
	"github.com/oatkit/oat/internal/oat"
	"github.com/oatkit/oat/internal/store"
)

func (c *cli) hubCommand() *command.Command {
	return &command.Command{
		Name:  "hub",
		Short: "the Docker Hub API sign-in that manages organization access tokens",
		Long: `An organization owner's sign-in (or a role's allowed to manage organization
access tokens) for Docker Hub's API: token create, sync, rotate, activate,
deactivate and delete use it. It is kept encrypted apart from the tokens:
never handed to Docker, never listed. An organization access token cannot
manage tokens.`,
		Sub: []*command.Command{c.hubLoginCommand(), c.hubLogoutCommand()},
	}
}

func (c *cli) hubLoginCommand() *command.Command {
	return &command.Command{
		Name:  "login",
		Short: "sign in to the Hub API as an organization owner, and keep the sign-in",
		Long: `Signs in to Docker Hub's API with the user and a personal access token (or
password), read from stdin (--password-stdin) or a file (--password-file),
like docker login; never from an argument. The sign-in is checked with the
Hub before it is kept.`,
		Flags: func(fs *flag.FlagSet) command.Runner {
			user := fs.String("u", "", "the Docker Hub `USER` (an organization owner)")
			fs.StringVar(user, "username", "", "the same as -u")
			stdin := fs.Bool("password-stdin", false, "read the personal access token or password from stdin")
			file := fs.String("password-file", "", "read the personal access token or password from `FILE`")
			return func(args []string) error {
				if err := command.NoArgs(args); err != nil {
					return err
				}
				switch {
				case *user == "":
					return command.Usagef("give the user with -u USER")
				case *stdin == (*file != ""):
					return command.Usagef("give one of --password-stdin and --password-file FILE")
				}
				return c.hubLogin(*user, *file)
			}
		},
	}
}

func (c *cli) hubLogin(user, file string) error {
	var secret string
	var err error
	if file != "" {
		secret, err = c.readSecretFile(file)
	} else {
		secret, err = c.readSecret(fmt.Sprintf("Personal access token of %s: ", user))
	}
	if err != nil {
		return err
	}
	if strings.HasPrefix(secret, oat.OATPrefix) {
		return command.WithHint(errors.New("an organization access token cannot manage organization access tokens"),
			"sign in with an organization owner's personal access token ("+Program+" hub login -u USER --password-stdin)")
	}
	api := c.hubAPI()
	if err := api.Login(c.ctx, user, secret); err != nil {
		return hubHint(err)
	}
	s, err := c.openStore()
	if err != nil {
		return err
	}
	if err := s.PutOwner(store.Owner{User: user, Secret: secret}); err != nil {
		return err
	}
	fmt.Fprintf(c.Stdout, "signed in to the Docker Hub API as %s; the sign-in is kept in the %s store\n", user, s.Backend())
	return nil
}

func (c *cli) hubLogoutCommand() *command.Command {
	return &command.Command{
		Name:  "logout",
		Short: "forget the Hub API sign-in",
		Long:  "Forgets the kept Docker Hub API sign-in. The tokens are not touched.",
		Flags: func(fs *flag.FlagSet) command.Runner {
			return func(args []string) error {
				if err := command.NoArgs(args); err != nil {
					return err
				}
				s, err := c.openStore()
				if err != nil {
					return err
				}
				if err := s.DeleteOwner(); err != nil {
					return err
				}
				fmt.Fprintln(c.Stdout, "forgot the Docker Hub API sign-in")
				return nil
			}
		},
	}
}

// hubAPI is a client of the Hub API, not signed in.
func (c *cli) hubAPI() *hubapi.Client { return &hubapi.Client{HTTP: c.HubHTTP} }

// signedIn is a client of the Hub API signed in with the kept owner
// sign-in.
func (c *cli) signedIn(s *store.Store) (*hubapi.Client, error) {
	o, err := s.Owner()
	if errors.Is(err, store.ErrNotFound) {
		return nil, command.WithHint(errors.New("no Docker Hub API sign-in is kept"), "sign in as an organization owner: "+Program+" hub login -u USER --password-stdin")
	}
	if err != nil {
		return nil, err
	}
	api := c.hubAPI()
	if err := api.Login(c.ctx, o.User, o.Secret); err != nil {
		return nil, hubHint(err)
	}
	return api, nil
}

// hubHint adds what to do to a Hub API refusal.
func hubHint(err error) error {
	switch {
	case errors.Is(err, hubapi.ErrUnauthorized):
		return command.WithHint(err, "check the user and the personal access token, then "+Program+" hub login again")
	case errors.Is(err, hubapi.ErrForbidden):
		return command.WithHint(err, "an organization owner's sign-in is needed (or a role allowed to manage organization access tokens)")
	case errors.Is(err, hubapi.ErrRateLimited):
		return command.WithHint(err, "Docker Hub is rate limiting: try again in a minute")
	}
	return err
}
