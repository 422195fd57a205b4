// Package version reports the version of both binaries: the module version
// recorded by the Go toolchain, unless a release build overrides it with
//
//	-ldflags "-X github.com/oatkit/oat/internal/version.Tag=v1.2.3"
package version

import (
	"runtime"
	"runtime/debug"
	"sync"
)

// Tag, when set at link time, is the version reported.
var Tag string

var (
	once   sync.Once
	cached string
)

// Version returns the version string: Tag if set, else the main module's
// version from the build info, else "devel".
func Version() string {
	once.Do(func() { cached = compute(Tag, debug.ReadBuildInfo) })
	return cached
}

func compute(tag string, read func() (*debug.BuildInfo, bool)) string {
	if tag != "" {
		return tag
	}
	info, ok := read()
	if !ok || info.Main.Version == "" || info.Main.Version == "(devel)" {
		return "devel"
	}
	return info.Main.Version
}

// Module is the module both binaries are built from.
const Module = "github.com/oatkit/oat"

// Info is what `version --json` prints, the same for both binaries.
type Info struct {
	Program string `json:"program"`
	Version string `json:"version"`
	Module  string `json:"module"`
	Go      string `json:"go"` // the Go toolchain that built it
	OS      string `json:"os"`
	Arch    string `json:"arch"`
}

// Describe is program's Info.
func Describe(program string) Info {
	return Info{Program: program, Version: Version(), Module: Module, Go: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH}
}
