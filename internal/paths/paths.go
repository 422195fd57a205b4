// Package paths says where the tools keep their files: XDG directories on
// Linux and other Unix systems, the platform's conventions on macOS and
// Windows, and OAT_HOME over all of them.
package paths

import (
	"errors"
	"path/filepath"
	"runtime"
)

// EnvHome overrides every other location when set.
const EnvHome = "OAT_HOME"

// App is the directory name used under the platform's locations.
const App = "docker-credential-oat"

// oat-proxy's CA in the configuration directory: the certificate clients
// trust (and doctor looks for), and its key.
const (
	ProxyCACert = "oat-proxy-ca.pem"
	ProxyCAKey  = "oat-proxy-ca-key.pem"
)

// Dirs are the directories of one installation.
type Dirs struct {
	Data   string // secrets at rest (the vault)
	Config string // settings, the proxy's CA
}

// Resolve returns the directories for the environment getenv reads.
func Resolve(getenv func(string) string) (Dirs, error) {
	return resolve(runtime.GOOS, getenv)
}

func resolve(goos string, getenv func(string) string) (Dirs, error) {
	if h := getenv(EnvHome); h != "" {
		if !filepath.IsAbs(h) {
			return Dirs{}, errors.New(EnvHome + " must be an absolute path")
		}
		return Dirs{Data: h, Config: h}, nil
	}
	switch goos {
	case "windows":
		local, roaming := getenv("LocalAppData"), getenv("AppData")
		if local == "" || roaming == "" {
			return Dirs{}, errors.New("%LocalAppData% or %AppData% is not set")
		}
		return Dirs{Data: filepath.Join(local, App), Config: filepath.Join(roaming, App)}, nil
	case "darwin", "ios":
		home := getenv("HOME")
		if home == "" {
			return Dirs{}, errors.New("$HOME is not set")
		}
		d := filepath.Join(home, "Library", "Application Support", App)
		return Dirs{Data: d, Config: d}, nil
	default:
		home := getenv("HOME")
		data := xdg(getenv, "XDG_DATA_HOME", home, ".local/share")
		config := xdg(getenv, "XDG_CONFIG_HOME", home, ".config")
		if data == "" || config == "" {
			return Dirs{}, errors.New("neither $XDG_DATA_HOME/$XDG_CONFIG_HOME nor $HOME is set; set " + EnvHome)
		}
		return Dirs{Data: filepath.Join(data, App), Config: filepath.Join(config, App)}, nil
	}
}

// xdg returns an XDG base directory: the variable if it is absolute (the
// specification says to ignore relative ones), else home/fallback.
func xdg(getenv func(string) string, name, home, fallback string) string {
	if v := getenv(name); filepath.IsAbs(v) {
		return v
	}
	if home == "" {
		return ""
	}
	return filepath.Join(home, fallback)
}
