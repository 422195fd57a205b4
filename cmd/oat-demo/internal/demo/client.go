package demo

import (
	"fmt"
	"os/exec"
)

// client is the registry client the story is told with, as a person
// would type its commands.
type client struct {
	name    string
	login   []string // reads the token on stdin
	pull    []string // in the token's scopes
	prepare []string // run once before the first push, if any
	push    []string // out of the token's scopes
}

var (
	// crane pulls and pushes the image itself: the whole protocol, the
	// layers redirected to the hub's CDN host included.
	crane = client{
		name:  "crane",
		login: []string{"crane", "auth", "login", "index.docker.io", "-u", org, "--password-stdin"},
		pull:  []string{"crane", "pull", image, "app.tar"},
		push:  []string{"crane", "push", "app.tar", pushed},
	}
	// docker, without a daemon: its client-side commands, which speak to
	// the registry themselves (a daemon's pulls would go through the
	// daemon's own proxy settings, not the demo's).
	docker = client{
		name:    "docker",
		login:   []string{"docker", "login", "-u", org, "--password-stdin"},
		pull:    []string{"docker", "manifest", "inspect", image},
		prepare: []string{"docker", "manifest", "create", pushed, image},
		push:    []string{"docker", "manifest", "push", pushed},
	}
)

// pickClient is the client named, or the docker CLI when it is installed
// and crane otherwise.
func pickClient(name string) (client, error) {
	switch name {
	case "docker", "crane":
		if _, err := exec.LookPath(name); err != nil {
			return client{}, fmt.Errorf("%s is not installed: %w", name, err)
		}
		if name == "docker" {
			return docker, nil
		}
		return crane, nil
	case "":
		if _, err := exec.LookPath("docker"); err == nil {
			return docker, nil
		}
		if _, err := exec.LookPath("crane"); err == nil {
			return crane, nil
		}
		return client{}, fmt.Errorf("neither the docker CLI nor crane is on PATH (make demo builds crane into .tools)")
	}
	return client{}, fmt.Errorf("unknown client %q: docker or crane", name)
}
