//go:build darwin && !cgo

package store

// The macOS Keychain backend of 99designs/keyring needs cgo: without it the
// library drops the backend without a word. Build for macOS on macOS with
// CGO_ENABLED=1 (make build-darwin); this undefined name stops any other
// build, so a binary without the Keychain is never made by accident.
var _ = keychainNeedsCgoBuildOnMacOSWithCGO_ENABLED1
