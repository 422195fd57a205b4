package proxycmd

import (
	"log/slog"
	"strings"

	"github.com/oatkit/oat/internal/desktop"
	"github.com/oatkit/oat/internal/dockerconfig"
)

// desktopChecks runs the helper's file-based Docker Desktop and sign-in
// enforcement checks and logs what they found: the proxy refuses nothing
// because of them, but a person reading its log learns why the Hub may.
func (c *cli) desktopChecks(log *slog.Logger) {
	env := desktop.Env{Getenv: c.Getenv, Home: c.Getenv("HOME"), Root: c.SystemRoot}
	if dir, err := dockerconfig.Dir(c.Getenv); err == nil {
		env.ConfigDir = dir
	}
	if r := desktop.Detect(env); r.Desktop {
		log.Warn("docker on this machine talks to Docker Desktop: "+desktop.Advice, "signals", strings.Join(r.Signals, "; "))
	}
	if p := desktop.ReadPolicy(env); p.Enforced() {
		log.Warn("this machine is under a Docker Desktop sign-in enforcement or Settings Management policy, where Image Access Management and Registry Access Management apply: "+desktop.Advice,
			"files", strings.Join(p.Files, ", "), "allowed_orgs", strings.Join(p.AllowedOrgs, ","))
	}
}
