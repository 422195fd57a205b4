package helper

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// EnvQuiet silences warnings.
const EnvQuiet = "OAT_QUIET"

// notifier writes warnings to stderr: short, one line each, some at most
// once a day (remembered in a small state file of hashed keys and dates).
type notifier struct {
	w     io.Writer
	quiet bool
	state string // the state file; "" remembers nothing
	now   func() time.Time
}

func (n *notifier) say(msg string) {
	if n.quiet {
		return
	}
	fmt.Fprintf(n.w, "%s: warning: %s\n", Program, msg)
}

// daily says msg unless key was warned about today.
func (n *notifier) daily(key, msg string) {
	if n.quiet {
		return
	}
	if n.state == "" || n.now == nil {
		n.say(msg)
		return
	}
	today := n.now().UTC().Format("2006-01-02")
	sum := sha256.Sum256([]byte(key))
	id := hex.EncodeToString(sum[:8])
	seen := map[string]string{}
	if b, err := os.ReadFile(n.state); err == nil {
		_ = json.Unmarshal(b, &seen)
	}
	if seen[id] == today {
		return
	}
	n.say(msg)
	for k, day := range seen {
		if day != today {
			delete(seen, k)
		}
	}
	seen[id] = today
	if b, err := json.Marshal(seen); err == nil {
		_ = writeState(n.state, b)
	}
}

func writeState(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".warned-*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
