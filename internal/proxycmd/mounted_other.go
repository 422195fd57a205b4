//go:build !unix

package proxycmd

import "os"

// readMounted reads a file of a mounted Secret; modes say nothing here.
func readMounted(path string) ([]byte, error) { return os.ReadFile(path) }
