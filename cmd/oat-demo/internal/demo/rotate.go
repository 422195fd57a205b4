package demo

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/oatkit/oat/internal/hub"
	"github.com/oatkit/oat/internal/hubtest"
)

// The organization's owner, who manages its tokens in the Hub's API.
const (
	owner    = "alice"
	ownerPAT = "dckr_pat_DemoOwnerAliceNotASecret01"
)

// rotate rotates the token through the Hub's API, behind oat-proxy: the
// twin is made and kept first, docker and the proxy switch to it without a
// restart, and the old token is deleted at the Hub.
func (d *demo) rotate(ctx context.Context, hub *hubtest.Hub) error {
	d.step("Rotate the token through Docker Hub's API: the twin first, then the old one deleted; docker and oat-proxy switch without a restart")
	d.say("%s, an owner of %s, signs in to the Hub API (a personal access token; an OAT cannot manage tokens)", owner, org)
	if _, err := d.shIn(ctx, ownerPAT, `printf '%s' "$OWNER_PAT" | `, "docker-credential-oat", "hub", "login", "-u", owner, "--password-stdin"); err != nil {
		return err
	}
	if _, err := d.sh(ctx, "", "docker-credential-oat", "token", "sync"); err != nil {
		return err
	}
	if _, err := d.sh(ctx, "", "docker-credential-oat", "token", "rotate", label, "--delete"); err != nil {
		return err
	}
	if _, err := d.sh(ctx, "", "docker-credential-oat", "token", "ls"); err != nil {
		return err
	}
	before := len(hub.Requests())
	if _, err := d.sh(ctx, "", d.client.pull...); err != nil {
		return fmt.Errorf("the pull with the twin failed: %w", err)
	}
	old := hubtest.SecretHash(d.secret)
	used := false
	for _, r := range hub.Requests()[before:] {
		if r.SecretHash == old {
			return errors.New("the pull after the rotation still used the old token")
		}
		used = used || r.SecretHash != ""
	}
	if !used {
		return errors.New("the pull after the rotation sent the hub no token")
	}
	if accepted(hub, d.secret) {
		return errors.New("the hub still accepts the rotated-out token")
	}
	d.say("%s pulled with the twin through the same oat-proxy, which read the new record; the hub refuses the old token", image)
	return nil
}

// accepted reports whether the hub's token service accepts secret.
func accepted(h *hubtest.Hub, secret string) bool {
	req, _ := http.NewRequest("GET", "https://"+hub.AuthHost+"/token?service="+hub.Service+"&scope=repository:"+strings.Split(image, ":")[0]+":pull", nil)
	req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(org+":"+secret)))
	resp, err := (&http.Client{Transport: h.Transport()}).Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}
