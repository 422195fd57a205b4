// Package dockerconfig edits the docker CLI's config.json to use this
// credential helper. It edits the file as JSON, keeping every other key, its
// value and the keys' order: docker/cli's ConfigFile.Save drops keys it does
// not know, so it is not used for writing.
package dockerconfig

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/oatkit/oat/internal/hub"
)

// HelperName is the helper's name in config.json ("docker-credential-" + it
// is the program Docker runs).
const HelperName = "oat"

// HubKeys are the keys docker and other clients look Docker Hub's
// credentials up under.
var HubKeys = []string{hub.IndexServer, hub.IndexHost, "docker.io", hub.RegistryHost}

// Mode chooses how the helper is wired.
type Mode int

const (
	// CredHelpers routes the Docker Hub keys to the helper.
	CredHelpers Mode = iota
	// CredsStore makes the helper the store for every registry.
	CredsStore
)

// The docker CLI's configuration: the variable that names its directory,
// the directory's name in the home otherwise, and the file in it.
const (
	EnvDir  = "DOCKER_CONFIG"
	DirName = ".docker"
	File    = "config.json"
)

// Dir returns the docker configuration directory: $DOCKER_CONFIG, else
// ~/.docker.
func Dir(getenv func(string) string) (string, error) {
	if d := getenv(EnvDir); d != "" {
		return d, nil
	}
	home := getenv("HOME")
	if home == "" {
		home = getenv("USERPROFILE")
	}
	if home == "" {
		return "", errors.New("cannot find the docker configuration: neither $" + EnvDir + " nor $HOME is set")
	}
	return filepath.Join(home, DirName), nil
}

// Change is one edit made to config.json.
type Change struct {
	Path string // e.g. `credHelpers["docker.io"]`
	Old  string // "" when the key was absent
	New  string
}

func (c Change) String() string {
	if c.Old == "" {
		return fmt.Sprintf("%s: set to %q", c.Path, c.New)
	}
	return fmt.Sprintf("%s: %q → %q", c.Path, c.Old, c.New)
}

// Wire returns config (the contents of config.json, possibly empty) edited
// for mode, and the changes made. An unchanged config comes back as it was.
func Wire(config []byte, mode Mode) ([]byte, []Change, error) {
	obj, err := parseObject(config)
	if err != nil {
		return nil, nil, err
	}
	var changes []Change
	switch mode {
	case CredsStore:
		old, err := obj.stringValue("credsStore")
		if err != nil {
			return nil, nil, err
		}
		if old != HelperName {
			obj.set("credsStore", mustJSON(HelperName))
			changes = append(changes, Change{Path: "credsStore", Old: old, New: HelperName})
		}
	default:
		helpers, err := obj.object("credHelpers")
		if err != nil {
			return nil, nil, err
		}
		for _, k := range HubKeys {
			old, err := helpers.stringValue(k)
			if err != nil {
				return nil, nil, fmt.Errorf("credHelpers: %w", err)
			}
			if old != HelperName {
				helpers.set(k, mustJSON(HelperName))
				changes = append(changes, Change{Path: fmt.Sprintf("credHelpers[%q]", k), Old: old, New: HelperName})
			}
		}
		if len(changes) > 0 {
			obj.set("credHelpers", helpers.encode(1))
		}
	}
	if len(changes) == 0 {
		return config, nil, nil
	}
	return append(obj.encode(0), '\n'), changes, nil
}

// field is one member of a JSON object, in file order.
type field struct {
	key   string
	value json.RawMessage
}

type object []field

// parseObject reads a JSON object keeping its members' order and values.
func parseObject(data []byte) (object, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return object{}, nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return nil, syntaxError(data, err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errors.New("not a JSON object")
	}
	var obj object
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, syntaxError(data, err)
		}
		key := tok.(string) // object keys are strings
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, syntaxError(data, err)
		}
		if seen[key] {
			return nil, fmt.Errorf("key %q appears twice", key)
		}
		seen[key] = true
		obj = append(obj, field{key, raw})
	}
	if _, err := dec.Token(); err != nil {
		return nil, syntaxError(data, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("unexpected data after the JSON object")
	}
	return obj, nil
}

func syntaxError(data []byte, err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		line := 1 + bytes.Count(data[:min(int(se.Offset), len(data))], []byte("\n"))
		return fmt.Errorf("invalid JSON on line %d: %v", line, se)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return errors.New("invalid JSON: the file ends too early")
	}
	return fmt.Errorf("invalid JSON: %v", err)
}

func (o object) get(key string) (json.RawMessage, bool) {
	for _, f := range o {
		if f.key == key {
			return f.value, true
		}
	}
	return nil, false
}

func (o *object) set(key string, value json.RawMessage) {
	for i, f := range *o {
		if f.key == key {
			(*o)[i].value = value
			return
		}
	}
	*o = append(*o, field{key, value})
}

// stringValue returns the string under key ("" if absent or null).
func (o object) stringValue(key string) (string, error) {
	raw, ok := o.get(key)
	if !ok || string(raw) == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf("%q is not a string", key)
	}
	return s, nil
}

// object returns the object under key (empty if absent or null).
func (o object) object(key string) (object, error) {
	raw, ok := o.get(key)
	if !ok || string(raw) == "null" {
		return object{}, nil
	}
	inner, err := parseObject(raw)
	if err != nil {
		return nil, fmt.Errorf("%q: %w", key, err)
	}
	return inner, nil
}

// encode writes o indented with tabs, as the docker CLI writes config.json;
// depth is the nesting level o sits at.
func (o object) encode(depth int) json.RawMessage {
	if len(o) == 0 {
		return json.RawMessage("{}")
	}
	indent := strings.Repeat("\t", depth)
	var b bytes.Buffer
	b.WriteString("{\n")
	for i, f := range o {
		var v bytes.Buffer
		if err := json.Indent(&v, f.value, indent+"\t", "\t"); err != nil {
			v.Reset()
			v.Write(f.value)
		}
		fmt.Fprintf(&b, "%s\t%s: %s", indent, mustJSON(f.key), v.Bytes())
		if i < len(o)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString(indent + "}")
	return b.Bytes()
}

func mustJSON(s string) json.RawMessage {
	b, _ := json.Marshal(s) // a string always marshals
	return b
}

// ReadFile reads config.json, following a symbolic link to the real file;
// a missing file reads as empty. It returns the path to write back to.
func ReadFile(path string) (data []byte, target string, mode os.FileMode, err error) {
	target = path
	if resolved, err := filepath.EvalSymlinks(path); err == nil {
		target = resolved
	}
	mode = 0o600
	if fi, err := os.Stat(target); err == nil {
		mode = fi.Mode().Perm()
	}
	data, err = os.ReadFile(target)
	if errors.Is(err, os.ErrNotExist) {
		return nil, target, mode, nil
	}
	return data, target, mode, err
}

// WriteFile replaces path with data atomically, keeping mode.
func WriteFile(path string, data []byte, mode os.FileMode) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".config.json-*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err = f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	if err = f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
