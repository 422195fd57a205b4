package helpercmd

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/oatkit/oat/internal/command"
	"github.com/oatkit/oat/internal/filelock"
	"github.com/oatkit/oat/internal/hubapi"
	"github.com/oatkit/oat/internal/oat"
	"github.com/oatkit/oat/internal/paths"
	"github.com/oatkit/oat/internal/store"
)

func (c *cli) tokenRotateCommand() *command.Command {
	return &command.Command{
		Name: "rotate", Args: "LABEL",
		Short: "replace a token with a twin at Docker Hub, and retire the old one",
		Long: `Rotates a token through Docker Hub's API, with the kept Hub API sign-in:
a twin with the same resources and the same expiry policy (as many days
from now as the old one was given, or never) is created at the Hub and kept
under LABEL before anything else changes; docker's credential and the proxy
switch to it (the old record is kept as LABEL~ID until it is retired). The
old token is deactivated at once, or after --grace (run rotate again after
then), and deleted with --delete. A failure or a crash at any step loses
nothing: running rotate again finishes the job. The organization's limit is
met before anything changes (the Hub refuses the twin).`,
		Flags: func(fs *flag.FlagSet) command.Runner {
			org := addOrgFlag(fs)
			grace := fs.Duration("grace", 0, "keep the old token active for `DURATION` (10m, 24h) before it is deactivated")
			del := fs.Bool("delete", false, "delete the old token at the Hub once it is retired")
			return func(args []string) error {
				arg, err := oneToken(org, args)
				if err != nil {
					return err
				}
				if *grace < 0 {
					return command.Usagef("--grace %v: give a duration of zero or more", *grace)
				}
				return c.tokenRotate(arg, *grace, *del)
			}
		},
	}
}

// rotationLockWait is how long a rotation waits for another to finish.
const rotationLockWait = 2 * time.Minute

// rotationLock takes the lock file of rotations, beside the store's.
func (c *cli) rotationLock() (func(), error) {
	dirs, err := paths.Resolve(c.Getenv)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dirs.Data, 0o700); err != nil {
		return nil, err
	}
	unlock, err := filelock.Lock(filepath.Join(dirs.Data, "rotate.lock"), rotationLockWait)
	if errors.Is(err, filelock.ErrTimeout) {
		return nil, fmt.Errorf("another token rotate is running: %w", err)
	}
	return unlock, err
}

// rotationMark is the description a twin is created with: how a rerun
// finds a twin whose creation the Hub finished but this machine did not
// keep.
func rotationMark(oldID string) string { return "rotation of " + oldID + " (docker-credential-oat)" }

func (c *cli) tokenRotate(arg tokenArg, grace time.Duration, del bool) error {
	// One rotation at a time on this machine: a run deletes the twins an
	// earlier run made and did not keep, which another run's twin, made
	// and not yet kept, would look like.
	unlock, err := c.rotationLock()
	if err != nil {
		return err
	}
	defer unlock()
	api, cur, all, err := c.atHub(arg, false)
	if err != nil {
		return err
	}
	// A rotation begun and not finished is finished: its old token still
	// active, or to be deleted, or named itself. Otherwise cur is rotated.
	old, twin, started := rotationOf(all, cur)
	if started && !old.Active && !del && cur.HubID != old.HubID {
		started = false
	}
	if !started {
		if cur.HubID == "" || cur.Gone {
			return command.WithHint(fmt.Errorf("the record of %q (%s) does not know a token at Docker Hub", cur.Label, cur.Org),
				"run '"+Program+" token sync --org "+cur.Org+"' first, or create the token with 'token create'")
		}
		if old, twin, err = c.startRotation(api, cur, grace); err != nil {
			return err
		}
		fmt.Fprintf(c.Stdout, "created token %q (%s) at Docker Hub, id %s, in place of id %s: docker and the proxy use it now\n", twin.Label, twin.Org, twin.HubID, old.HubID)
	}
	return c.retire(api, old, del)
}

// rotationOf finds a rotation begun on cur: cur the twin (or the old
// record, LABEL~ID) and the other record of the pair.
func rotationOf(all []oat.Token, cur oat.Token) (old, twin oat.Token, ok bool) {
	for _, t := range oat.ForOrg(all, cur.Org) {
		switch {
		case cur.RotatedFrom != "" && t.HubID == cur.RotatedFrom && t.RotatedTo == cur.HubID:
			return t, cur, true
		case cur.RotatedTo != "" && t.HubID == cur.RotatedTo && t.RotatedFrom == cur.HubID:
			return cur, t, true
		}
	}
	return oat.Token{}, oat.Token{}, false
}

// startRotation creates the twin and keeps it in the old record's place.
func (c *cli) startRotation(api *hubapi.Client, old oat.Token, grace time.Duration) (oat.Token, oat.Token, error) {
	now := c.Now()
	at, err := api.Get(c.ctx, old.Org, old.HubID)
	if err != nil {
		return old, oat.Token{}, hubHint(err)
	}
	// A twin an earlier run created but did not keep: its secret is lost,
	// so it goes before another is made.
	list, err := api.List(c.ctx, old.Org)
	if err != nil {
		return old, oat.Token{}, hubHint(err)
	}
	for _, t := range list {
		if t.Description == rotationMark(old.HubID) {
			if err := api.Delete(c.ctx, old.Org, t.ID); err != nil {
				return old, oat.Token{}, hubHint(err)
			}
		}
	}
	want := hubapi.NewToken{Label: at.Label, Description: rotationMark(old.HubID), Resources: at.Resources}
	if at.ExpiresAt != nil {
		life := at.ExpiresAt.Sub(at.CreatedAt).Round(24 * time.Hour)
		e := now.Add(min(life, 365*24*time.Hour)).UTC()
		want.ExpiresAt = &e
	}
	got, err := api.Create(c.ctx, old.Org, want)
	if err != nil {
		return old, oat.Token{}, hubHint(err)
	}
	twin, err := got.API().Record(old.Org, now)
	if err != nil {
		return old, oat.Token{}, err
	}
	twin.Label, twin.Secret, twin.HubID, twin.Source, twin.RotatedFrom = old.Label, got.Secret, got.ID, "rotate", old.HubID
	twin.Description = old.Description
	retired := old
	retired.Label = old.Label + "~" + old.HubID[:min(8, len(old.HubID))]
	retired.RotatedTo, retired.Default = got.ID, false
	if grace > 0 {
		retired.RetireAfter = now.Add(grace).UTC()
	}
	err = c.update(func(r *store.Records) error {
		// Another rotation may have kept its twin since old was read.
		if cur, err := findByHubID(r.Tokens, old); err != nil || cur.Label != old.Label || cur.RotatedTo != "" {
			return fmt.Errorf("%q (%s) was rotated by another run meanwhile", old.Label, old.Org)
		}
		r.RemoveToken(old)
		if err := r.PutToken(retired); err != nil {
			return err
		}
		if !old.Default {
			return r.PutToken(twin)
		}
		if err := r.SetDefault(twin); err != nil {
			return err
		}
		_, err := r.LoginAs(twin.Org)
		return err
	})
	if err != nil {
		if derr := api.Delete(c.ctx, old.Org, got.ID); derr != nil {
			return old, oat.Token{}, fmt.Errorf("created the twin of %q (%s) at Docker Hub, could not keep it (%w), and could not delete it there (%v): run rotate again", old.Label, old.Org, err, derr)
		}
		return old, oat.Token{}, fmt.Errorf("could not keep the twin of %q (%s), so it was deleted at Docker Hub again; nothing changed: %w", old.Label, old.Org, err)
	}
	twin.Default = old.Default
	return retired, twin, nil
}

// retire deactivates the old token once its grace is over, and deletes it
// with del.
func (c *cli) retire(api *hubapi.Client, old oat.Token, del bool) error {
	now := c.Now()
	if now.Before(old.RetireAfter) {
		fmt.Fprintf(c.Stdout, "the old token (%q, id %s) stays active until %s: run '%s token rotate %s' again after then to retire it\n",
			old.Label, old.HubID, old.RetireAfter.Format(time.RFC3339), Program, old.ID())
		return nil
	}
	if old.Active {
		off := false
		if _, err := api.Update(c.ctx, old.Org, old.HubID, hubapi.Change{IsActive: &off}); err != nil && !isGone(err) {
			return hubHint(err)
		}
		old.Active = false
		if err := c.update(func(r *store.Records) error {
			cur, err := findByHubID(r.Tokens, old)
			if err != nil {
				return err
			}
			cur.Active = false
			return r.PutToken(cur)
		}); err != nil {
			return err
		}
		fmt.Fprintf(c.Stdout, "deactivated the old token (%q, id %s) at Docker Hub\n", old.Label, old.HubID)
	}
	if !del {
		if !old.Active {
			fmt.Fprintf(c.Stdout, "the old token (%q, id %s) is retired; --delete deletes it\n", old.Label, old.HubID)
		}
		return nil
	}
	if err := api.Delete(c.ctx, old.Org, old.HubID); err != nil && !isGone(err) {
		return hubHint(err)
	}
	if err := c.update(func(r *store.Records) error {
		cur, err := findByHubID(r.Tokens, old)
		if err == nil {
			r.RemoveToken(cur)
		}
		return err
	}); err != nil {
		return err
	}
	fmt.Fprintf(c.Stdout, "deleted the old token (id %s) at Docker Hub, and its record\n", old.HubID)
	return nil
}
