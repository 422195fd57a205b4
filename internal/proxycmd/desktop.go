package proxycmd

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/oatkit/oat/internal/desktop"
)

// desktopChecks runs the helper's file-based Docker Desktop and sign-in
// enforcement checks and logs what they found: the proxy refuses nothing
// because of them, but a person reading its log learns why the Hub may.
func (c *cli) desktopChecks(log *slog.Logger) {
	env := c.desktopEnv()
	if r := desktop.Detect(env); r.Desktop {
		log.Warn("docker on this machine talks to Docker Desktop: "+desktop.Advice, "signals", strings.Join(r.Signals, "; "))
	}
	if p := desktop.ReadPolicy(env); p.Enforced() {
		log.Warn("this machine is under a Docker Desktop sign-in enforcement or Settings Management policy, where Image Access Management and Registry Access Management apply: "+desktop.Advice,
			"files", strings.Join(p.Files, ", "), "allowed_orgs", strings.Join(p.AllowedOrgs, ","))
	}
}

// daemonWithoutProxy says, for a docker command that run --inject starts,
// when the engine it talks to uses no proxy: what the engine pulls and
// pushes itself then reaches Docker Hub without the injected token, and
// fails there with the Hub's own words. "" when the command is not docker,
// the engine uses a proxy, or it cannot be asked.
func (c *cli) daemonWithoutProxy(ctx context.Context, cmd string) string {
	if filepath.Base(cmd) != "docker" {
		return ""
	}
	host := desktop.Detect(c.desktopEnv()).Endpoint.Host
	info, err := desktop.EngineInfo(ctx, host)
	if err != nil || info.HTTPSProxy != "" {
		return ""
	}
	return "the Docker daemon at " + host + " uses no proxy: what it pulls and pushes itself (docker build's FROM, docker push, buildx's docker driver) reaches Docker Hub without the injected token, and is refused there as anonymous. " +
		"Put the daemon behind oat-proxy serve --inject (oat-proxy trust prints its settings), or hand the build the token through the helper (docker login)"
}

// desktopEnv is where the Desktop checks and the engine's address are read.
func (c *cli) desktopEnv() desktop.Env { return desktop.FromEnv(c.Getenv, c.SystemRoot) }
