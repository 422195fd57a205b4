//go:build windows

package passphrase

import (
	"errors"
	"os"

	"golang.org/x/term"
)

type console struct{ in, out *os.File }

func (c console) Write(p []byte) (int, error)   { return c.out.Write(p) }
func (c console) ReadPassword() ([]byte, error) { return term.ReadPassword(int(c.in.Fd())) }
func (c console) Close() error {
	c.out.Close()
	return c.in.Close()
}

// openTerminal opens the console, whatever stdin and stdout are.
func openTerminal() (TTY, error) {
	in, err := os.OpenFile("CONIN$", os.O_RDWR, 0)
	if err != nil {
		return nil, errors.New("no console")
	}
	out, err := os.OpenFile("CONOUT$", os.O_WRONLY, 0)
	if err != nil {
		in.Close()
		return nil, errors.New("no console")
	}
	return console{in, out}, nil
}

// openNonBlock: opening a file does not block on Windows.
const openNonBlock = 0

// checkPerm: Windows has ACLs, not mode bits; Go reports 0666 for every
// writable file, so the bits say nothing.
const checkPerm = false
