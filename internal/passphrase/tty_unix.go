//go:build unix

package passphrase

import (
	"errors"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
	"golang.org/x/term"
)

type terminal struct{ *os.File }

func (t terminal) ReadPassword() ([]byte, error) { return term.ReadPassword(int(t.Fd())) }

// openTerminal opens the controlling terminal, unless the process runs in the
// background of it, where reading would stop the process instead of failing.
func openTerminal() (TTY, error) {
	f, err := os.OpenFile("/dev/tty", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, errors.New("no terminal")
	}
	pgrp, err := unix.IoctlGetInt(int(f.Fd()), unix.TIOCGPGRP)
	if err != nil || pgrp != syscall.Getpgrp() {
		f.Close()
		return nil, errors.New("not in the terminal's foreground")
	}
	return terminal{f}, nil
}

// openNonBlock keeps opening a FIFO from waiting for a writer.
const openNonBlock = syscall.O_NONBLOCK

// checkPerm: the group and world bits mean what they say here.
const checkPerm = true
