// Command keyringfile is a minimal Docker credential helper built on
// github.com/99designs/keyring's own file backend, for comparison in the
// benchmarks only: `store` and `get` as the protocol has them, one item per
// server, the passphrase from KEYRING_FILE_PASSWORD, the directory from
// KEYRING_FILE_DIR.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/99designs/keyring"
)

type credentials struct {
	ServerURL string
	Username  string
	Secret    string
}

func main() {
	if err := run(os.Args[1:], os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stdout, err)
		os.Exit(1)
	}
}

func run(args []string, stdin io.Reader, stdout io.Writer) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: keyringfile store|get")
	}
	kr, err := keyring.Open(keyring.Config{
		ServiceName:      "keyringfile-bench",
		AllowedBackends:  []keyring.BackendType{keyring.FileBackend},
		FileDir:          os.Getenv("KEYRING_FILE_DIR"),
		FilePasswordFunc: keyring.FixedStringPrompt(os.Getenv("KEYRING_FILE_PASSWORD")),
	})
	if err != nil {
		return err
	}
	switch args[0] {
	case "store":
		var c credentials
		if err := json.NewDecoder(stdin).Decode(&c); err != nil {
			return err
		}
		data, _ := json.Marshal(c)
		return kr.Set(keyring.Item{Key: key(c.ServerURL), Data: data})
	case "get":
		line, _ := bufio.NewReader(stdin).ReadString('\n')
		item, err := kr.Get(key(strings.TrimSpace(line)))
		if err != nil {
			return err
		}
		_, err = stdout.Write(append(item.Data, '\n'))
		return err
	}
	return fmt.Errorf("unknown action %q", args[0])
}

// key names an item by server; the file backend makes it the file name.
func key(server string) string {
	return strings.NewReplacer("/", "_", ":", "_").Replace(server)
}
