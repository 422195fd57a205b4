//go:build !race

package proxy

// raceBuild is whether the race detector is on.
const raceBuild = false
