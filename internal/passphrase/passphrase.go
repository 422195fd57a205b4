// Package passphrase finds the vault passphrase: the OAT_PASSPHRASE
// environment variable, the file named by OAT_PASSPHRASE_FILE, or a prompt on
// the terminal device. Never stdin or stdout: those belong to Docker.
package passphrase

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"unicode/utf8"
)

// Environment variables read by Source.
const (
	EnvValue = "OAT_PASSPHRASE"
	EnvFile  = "OAT_PASSPHRASE_FILE"
)

// MinLength is the shortest passphrase a new vault accepts.
const MinLength = 8

// ErrUnavailable is returned when there is no passphrase to be had: no
// variable set and no terminal to ask on.
var ErrUnavailable = errors.New("no passphrase for the vault: set " + EnvValue + ", or " + EnvFile +
	" to a file holding it, or run from a terminal to be asked")

// ErrMismatch is returned when the two entries of a new passphrase differ.
var ErrMismatch = errors.New("the passphrases entered do not match")

// TTY is a terminal to prompt on.
type TTY interface {
	io.Writer
	// ReadPassword reads a line without echoing it.
	ReadPassword() ([]byte, error)
	Close() error
}

// Source finds the passphrase.
type Source struct {
	// Getenv reads the environment (os.Getenv if nil).
	Getenv func(string) string
	// OpenTTY opens the terminal to prompt on (the controlling terminal if
	// nil). It fails when there is none, or when the process is not in the
	// terminal's foreground.
	OpenTTY func() (TTY, error)
	// Subject names what the passphrase is for in the prompt.
	Subject string
	// GroupReadable accepts a passphrase file its group may read too (a
	// Kubernetes Secret mounted for a pod's fsGroup is 0440), never one
	// others may read. Off, only the owner may read it.
	GroupReadable bool
}

func (s Source) getenv(k string) string {
	if s.Getenv != nil {
		return s.Getenv(k)
	}
	return os.Getenv(k)
}

// Interactive reports whether the passphrase would come from a prompt, where
// asking again after a typo makes sense.
func (s Source) Interactive() bool {
	return s.getenv(EnvValue) == "" && s.getenv(EnvFile) == ""
}

// Get returns the passphrase. With create set (a new vault) it is checked for
// length, and a prompt asks for it twice.
func (s Source) Get(create bool) ([]byte, error) {
	pass, err := s.get(create)
	if err != nil {
		return nil, err
	}
	if create && utf8.RuneCount(pass) < MinLength {
		clear(pass)
		return nil, fmt.Errorf("passphrase too short for a new vault: use at least %d characters", MinLength)
	}
	return pass, nil
}

func (s Source) get(create bool) ([]byte, error) {
	if v := s.getenv(EnvValue); v != "" {
		return []byte(v), nil
	}
	if path := s.getenv(EnvFile); path != "" {
		return readNamedFile(EnvFile, path, s.GroupReadable)
	}
	open := s.OpenTTY
	if open == nil {
		open = openTerminal
	}
	tty, err := open()
	if err != nil {
		return nil, fmt.Errorf("%w (%v)", ErrUnavailable, err)
	}
	defer tty.Close()
	subject := s.Subject
	if subject == "" {
		subject = "the vault"
	}
	if !create {
		return prompt(tty, fmt.Sprintf("Passphrase for %s: ", subject))
	}
	first, err := prompt(tty, fmt.Sprintf("New passphrase for %s: ", subject))
	if err != nil {
		return nil, err
	}
	again, err := prompt(tty, "Repeat the passphrase: ")
	if err != nil {
		clear(first)
		return nil, err
	}
	defer clear(again)
	if !bytes.Equal(first, again) {
		clear(first)
		return nil, ErrMismatch
	}
	return first, nil
}

func prompt(tty TTY, text string) ([]byte, error) {
	if _, err := io.WriteString(tty, text); err != nil {
		return nil, fmt.Errorf("prompt for passphrase: %w", err)
	}
	pass, err := tty.ReadPassword()
	_, _ = io.WriteString(tty, "\n")
	if err != nil {
		return nil, fmt.Errorf("read passphrase: %w", err)
	}
	if len(pass) == 0 {
		return nil, errors.New("empty passphrase")
	}
	return pass, nil
}

// maxFileSize bounds a passphrase file.
const maxFileSize = 4096

// readNamedFile reads a passphrase file; name (a variable or flag) starts
// its errors. It must be a regular file that only its owner (and, with
// group set, its group) can read: a FIFO or a device would block or never
// end (the contract is "never a hang"), and a file others can read is a
// secret already shared.
func readNamedFile(name, path string, group bool) ([]byte, error) {
	// Non-blocking, so that opening a FIFO with no writer returns at once and
	// the check below refuses it.
	f, err := os.OpenFile(path, os.O_RDONLY|openNonBlock, 0)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: %s is not a regular file (%s); it should be a file holding only the passphrase", name, path, fi.Mode().Type())
	}
	mask := fs.FileMode(0o077)
	if group {
		mask = 0o007
	}
	if perm := fi.Mode().Perm(); checkPerm && perm&mask != 0 {
		return nil, fmt.Errorf("%s: %s can be read by others (mode %04o); run: chmod 600 %s", name, path, perm, path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: read %s: %w", name, path, err)
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("%s: %s is larger than %d bytes; it should hold only the passphrase", name, path, maxFileSize)
	}
	pass := []byte(strings.TrimRight(string(data), "\r\n"))
	clear(data)
	if len(pass) == 0 {
		return nil, fmt.Errorf("%s: %s is empty", name, path)
	}
	return pass, nil
}

// Ask prompts once on the terminal (opened by open, or the controlling
// terminal if nil) and returns what was typed, unechoed; it may be empty.
func Ask(open func() (TTY, error), text string) ([]byte, error) {
	if open == nil {
		open = openTerminal
	}
	tty, err := open()
	if err != nil {
		return nil, err
	}
	defer tty.Close()
	if _, err := io.WriteString(tty, text); err != nil {
		return nil, err
	}
	b, err := tty.ReadPassword()
	_, _ = io.WriteString(tty, "\n")
	return b, err
}
