//go:build race

package vault

// raceBuild is set when the tests run with the race detector.
const raceBuild = true
