//go:build !unix

package proxycmd

import "os"

// forwarded are the signals run passes on to its command.
var forwarded = []os.Signal{os.Interrupt}
