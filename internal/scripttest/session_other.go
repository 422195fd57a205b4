//go:build !linux

package scripttest

func isolateKeyrings() {}
