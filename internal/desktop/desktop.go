// Package desktop tells whether Docker commands on this machine go to Docker
// Desktop, and whether the machine is under an organization's Docker Desktop
// policy (sign-in enforcement, Settings Management), where Image Access
// Management and Registry Access Management apply. Organization access
// tokens work in neither case.
//
// Detect and Policy read files only (no daemon request) and are cheap
// enough for every get; EngineOS asks the engine and is for doctor.
package desktop

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/oatkit/oat/internal/dockerconfig"
)

// Docs is the point of Docker's documentation the messages quote.
const Docs = "Organization access tokens (OATs) are incompatible with Docker Desktop, Image Access Management (IAM), and Registry Access Management (RAM). If you use Docker Desktop, IAM, or RAM, you must use personal access tokens instead."

// Env is where to look; every field has a default from the process.
type Env struct {
	Getenv    func(string) string
	Home      string // the user's home
	ConfigDir string // $DOCKER_CONFIG, default ~/.docker
	GOOS      string
	// Root prefixes system paths (policy files, /var/run/docker.sock), for
	// tests; "" is the real root.
	Root string
}

// FromEnv is Env for the environment getenv reads: the home $HOME names,
// and the docker configuration directory as dockerconfig.Dir finds it.
// root prefixes system paths ("" is the real root; tests).
func FromEnv(getenv func(string) string, root string) Env {
	env := Env{Getenv: getenv, Home: getenv("HOME"), Root: root}
	if dir, err := dockerconfig.Dir(getenv); err == nil {
		env.ConfigDir = dir
	}
	return env
}

func (e Env) withDefaults() Env {
	if e.Getenv == nil {
		e.Getenv = os.Getenv
	}
	if e.GOOS == "" {
		e.GOOS = runtime.GOOS
	}
	if e.Home == "" {
		e.Home, _ = os.UserHomeDir()
	}
	if e.ConfigDir == "" {
		e.ConfigDir = e.Getenv(dockerconfig.EnvDir)
	}
	if e.ConfigDir == "" {
		e.ConfigDir = filepath.Join(e.Home, dockerconfig.DirName)
	}
	return e
}

func (e Env) sys(path string) string {
	if e.Root == "" {
		return path
	}
	return filepath.Join(e.Root, path)
}

// Endpoint is the Docker engine the docker CLI would talk to.
type Endpoint struct {
	Context string `json:"context"` // the context name ("default" when none)
	Host    string `json:"host"`    // unix:///…, npipe://…, tcp://…, ssh://…
	Source  string `json:"source"`  // what chose it: DOCKER_HOST, DOCKER_CONTEXT, config.json, default
}

// Result is what Detect found.
type Result struct {
	Endpoint Endpoint `json:"endpoint"`
	Desktop  bool     `json:"desktop"`
	Signals  []string `json:"signals,omitempty"`  // why it is thought to be Desktop
	Problems []string `json:"problems,omitempty"` // files that could not be read
}

// Detect resolves the current endpoint the way the docker CLI does and
// looks for every file-based sign of Docker Desktop.
func Detect(env Env) Result {
	env = env.withDefaults()
	var problems []string
	cfg, err := readConfig(env.ConfigDir)
	if err != nil {
		problems = append(problems, err.Error())
	}
	ep, err := resolve(env, cfg)
	if err != nil {
		problems = append(problems, err.Error())
	}
	r := Judge(env, ep, cfg.CredsStore)
	r.Problems = append(problems, r.Problems...)
	return r
}

// Judge looks for every file-based sign of Docker Desktop, given the
// endpoint the CLI talks to and config.json's credsStore.
func Judge(env Env, ep Endpoint, credsStore string) Result {
	env = env.withDefaults()
	r := Result{Endpoint: ep}
	if name := r.Endpoint.Context; name == "desktop-linux" || name == "desktop-windows" {
		r.add("the current docker context is " + name + ", Docker Desktop's")
	}
	if why := desktopHost(env, r.Endpoint.Host); why != "" {
		r.add("the docker endpoint " + r.Endpoint.Host + " " + why)
	}
	if s := strings.TrimSuffix(credsStore, ".exe"); s == "desktop" {
		r.add(`config.json has credsStore "desktop", Docker Desktop's credential store`)
	}
	return r
}

func (r *Result) add(signal string) {
	r.Desktop = true
	r.Signals = append(r.Signals, signal)
}

type configFile struct {
	CredsStore     string `json:"credsStore"`
	CurrentContext string `json:"currentContext"`
}

func readConfig(dir string) (configFile, error) {
	var c configFile
	b, err := os.ReadFile(filepath.Join(dir, dockerconfig.File))
	if os.IsNotExist(err) {
		return c, nil
	}
	if err != nil {
		return c, err
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return configFile{}, &os.PathError{Op: "parse", Path: filepath.Join(dir, dockerconfig.File), Err: err}
	}
	return c, nil
}

// resolve follows the docker CLI: DOCKER_HOST (unless DOCKER_CONTEXT is
// set), then DOCKER_CONTEXT, then config.json's currentContext, then the
// default context.
func resolve(env Env, cfg configFile) (Endpoint, error) {
	host, ctx := env.Getenv("DOCKER_HOST"), env.Getenv("DOCKER_CONTEXT")
	if host != "" && ctx == "" {
		return Endpoint{Context: "default", Host: host, Source: "DOCKER_HOST"}, nil
	}
	source := "DOCKER_CONTEXT"
	if ctx == "" {
		ctx, source = cfg.CurrentContext, "config.json currentContext"
	}
	if ctx == "" || ctx == "default" {
		if ctx == "" {
			source = "default"
		}
		if host != "" {
			return Endpoint{Context: "default", Host: host, Source: "DOCKER_HOST"}, nil
		}
		return Endpoint{Context: "default", Host: DefaultHost(env.GOOS), Source: source}, nil
	}
	h, err := contextHost(env.ConfigDir, ctx)
	return Endpoint{Context: ctx, Host: h, Source: source}, err
}

// DefaultHost is the engine's address without a context on goos.
func DefaultHost(goos string) string {
	if goos == "windows" {
		return "npipe:////./pipe/docker_engine"
	}
	return "unix:///var/run/docker.sock"
}

// contextHost reads a context's docker endpoint from its metadata,
// contexts/meta/<sha256(name)>/meta.json.
func contextHost(configDir, name string) (string, error) {
	sum := sha256.Sum256([]byte(name))
	path := filepath.Join(configDir, "contexts", "meta", hex.EncodeToString(sum[:]), "meta.json")
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	var meta struct {
		Endpoints map[string]struct {
			Host string `json:"Host"`
		} `json:"Endpoints"`
	}
	if err := json.Unmarshal(b, &meta); err != nil {
		return "", &os.PathError{Op: "parse", Path: path, Err: err}
	}
	return meta.Endpoints["docker"].Host, nil
}

// desktopHost says why host is Docker Desktop's, or "".
func desktopHost(env Env, host string) string {
	lower := strings.ToLower(host)
	for _, pipe := range []string{"dockerdesktoplinuxengine", "dockerdesktopwindowsengine"} {
		if strings.Contains(lower, pipe) {
			return "is Docker Desktop's named pipe"
		}
	}
	path, ok := strings.CutPrefix(host, "unix://")
	if !ok {
		return ""
	}
	if isDesktopSocket(path) {
		return "is Docker Desktop's socket"
	}
	// macOS: /var/run/docker.sock is a link to ~/.docker/run/docker.sock.
	if target, err := filepath.EvalSymlinks(env.sys(path)); err == nil && isDesktopSocket(target) {
		return "links to Docker Desktop's socket " + target
	}
	return ""
}

func isDesktopSocket(path string) bool {
	path = filepath.ToSlash(path)
	return strings.HasSuffix(path, "/.docker/desktop/docker.sock") ||
		strings.HasSuffix(path, "/.docker/run/docker.sock") ||
		strings.HasSuffix(path, "/Library/Containers/com.docker.docker/Data/docker.raw.sock")
}
