//go:build !race

package vault

const raceBuild = false
