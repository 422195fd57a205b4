package passphrase

import (
	"fmt"
	"unicode/utf8"
)

// FromFile returns a passphrase function that reads the file at path each
// time it is asked (a mounted Secret may change); name, the variable or
// flag that named the file, starts its errors. A new vault's passphrase
// must be MinLength characters or longer.
func FromFile(name, path string) func(create bool) ([]byte, error) {
	return func(create bool) ([]byte, error) {
		pass, err := readNamedFile(name, path, false)
		if err != nil {
			return nil, err
		}
		if create && utf8.RuneCount(pass) < MinLength {
			clear(pass)
			return nil, fmt.Errorf("%s: passphrase too short for a new vault: use at least %d characters", name, MinLength)
		}
		return pass, nil
	}
}
