package dockerconfig

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const richConfig = `{
	"auths": {
		"registry.example.com": {
			"auth": "dXNlcjpwYXNz"
		}
	},
	"psFormat": "table {{.ID}}\t{{.Names}}",
	"proxies": {"default": {"httpProxy": "http://proxy:3128"}},
	"credHelpers": {"gcr.io": "gcloud", "docker.io": "desktop"},
	"x-unknown-plugin-key": {"nested": [1, 2.50, "\u00e9", null, true]},
	"currentContext": "prod"
}`

func decode(t *testing.T, data []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("result is not valid JSON: %v\n%s", err, data)
	}
	return m
}

func TestWireCredHelpersKeepsEverythingElse(t *testing.T) {
	t.Parallel()
	out, changes, err := Wire([]byte(richConfig), CredHelpers)
	if err != nil {
		t.Fatal(err)
	}
	before, after := decode(t, []byte(richConfig)), decode(t, out)
	wantHelpers := map[string]any{
		"gcr.io": "gcloud", "docker.io": "oat", "https://index.docker.io/v1/": "oat",
		"index.docker.io": "oat", "registry-1.docker.io": "oat",
	}
	if diff := cmp.Diff(wantHelpers, after["credHelpers"]); diff != "" {
		t.Errorf("credHelpers mismatch (-want +got):\n%s", diff)
	}
	delete(before, "credHelpers")
	delete(after, "credHelpers")
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("other keys changed (-before +after):\n%s", diff)
	}
	// Key order and exact values survive.
	for _, s := range []string{`"x-unknown-plugin-key"`, `2.50`, `\u00e9`, `"table {{.ID}}\t{{.Names}}"`} {
		if !strings.Contains(string(out), s) {
			t.Errorf("output lost %s:\n%s", s, out)
		}
	}
	if strings.Index(string(out), `"auths"`) > strings.Index(string(out), `"currentContext"`) {
		t.Errorf("key order changed:\n%s", out)
	}
	wantChanges := []string{
		`credHelpers["https://index.docker.io/v1/"]: set to "oat"`,
		`credHelpers["index.docker.io"]: set to "oat"`,
		`credHelpers["docker.io"]: "desktop" → "oat"`,
		`credHelpers["registry-1.docker.io"]: set to "oat"`,
	}
	var got []string
	for _, c := range changes {
		got = append(got, c.String())
	}
	if diff := cmp.Diff(wantChanges, got); diff != "" {
		t.Errorf("changes mismatch (-want +got):\n%s", diff)
	}

	again, changes, err := Wire(out, CredHelpers)
	if err != nil || len(changes) != 0 || string(again) != string(out) {
		t.Errorf("second Wire changed something: %v, %v", changes, err)
	}
}

func TestWireCredsStore(t *testing.T) {
	t.Parallel()
	out, changes, err := Wire([]byte(`{"credsStore": "desktop", "auths": {}}`), CredsStore)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]any{"credsStore": "oat", "auths": map[string]any{}}, decode(t, out)); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
	if len(changes) != 1 || changes[0].String() != `credsStore: "desktop" → "oat"` {
		t.Errorf("changes = %v", changes)
	}
}

func TestWireFromNothing(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"", "  \n", "{}"} {
		out, _, err := Wire([]byte(in), CredsStore)
		if err != nil {
			t.Fatalf("Wire(%q): %v", in, err)
		}
		if string(out) != "{\n\t\"credsStore\": \"oat\"\n}\n" {
			t.Errorf("Wire(%q) = %q", in, out)
		}
	}
}

func TestWireBadInput(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in, want string }{
		{"syntax", "{\n\t\"auths\": {,\n}", "invalid JSON on line 2"},
		{"truncated", `{"auths": {`, "invalid JSON"},
		{"array", `[1,2]`, "not a JSON object"},
		{"trailing", `{} {}`, "unexpected data after the JSON object"},
		{"duplicate", `{"a":1,"a":2}`, `key "a" appears twice`},
		{"credHelpers not an object", `{"credHelpers": "oat"}`, `"credHelpers": not a JSON object`},
		{"helper not a string", `{"credHelpers": {"docker.io": 1}}`, `credHelpers: "docker.io" is not a string`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := Wire([]byte(tt.in), CredHelpers)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Wire(%q) error = %v, want %q", tt.in, err, tt.want)
			}
		})
	}
	if _, _, err := Wire([]byte(`{"credsStore": 5}`), CredsStore); err == nil || !strings.Contains(err.Error(), `"credsStore" is not a string`) {
		t.Errorf("credsStore number: %v", err)
	}
}

// decodeNumbers decodes JSON keeping numbers as written, so that values can
// be compared exactly.
func decodeNumbers(data []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var m map[string]any
	err := dec.Decode(&m)
	return m, err
}

// FuzzWire: setup never loses a key. Every original top-level key and value
// survives except the one setup sets, and inside credHelpers every entry but
// Docker Hub's; wiring again changes nothing.
func FuzzWire(f *testing.F) {
	f.Add([]byte(richConfig), false)
	f.Add([]byte(richConfig), true)
	f.Add([]byte(`{"credHelpers":null}`), false)
	f.Add([]byte(`{"credsStore":"desktop","credHelpers":{"docker.io":"oat","ghcr.io":"gh"},"auths":{}}`), true)
	f.Add([]byte(`{"a":1e400,"b":-0,"c":"\ud800","credHelpers":{}}`), false)
	f.Add([]byte(``), false)
	f.Fuzz(func(t *testing.T, data []byte, credsStore bool) {
		mode, setKey := CredHelpers, "credHelpers"
		if credsStore {
			mode, setKey = CredsStore, "credsStore"
		}
		out, changes, err := Wire(data, mode)
		if err != nil {
			return
		}
		got, err := decodeNumbers(out)
		if err != nil && len(bytes.TrimSpace(out)) > 0 {
			t.Fatalf("Wire produced invalid JSON from %q: %v\n%s", data, err, out)
		}
		orig, _ := decodeNumbers(data)
		if len(changes) == 0 && !bytes.Equal(out, data) {
			t.Fatalf("no changes, but the file changed:\n%s\n→\n%s", data, out)
		}
		for k, v := range orig {
			if k == setKey {
				continue
			}
			if diff := cmp.Diff(v, got[k]); diff != "" {
				t.Fatalf("top-level %q changed (-before +after):\n%s", k, diff)
			}
		}
		if len(changes) > 0 {
			want := len(orig)
			if _, ok := orig[setKey]; !ok {
				want++ // the one key setup adds
			}
			if len(got) != want {
				t.Fatalf("keys %v became %v", keys(orig), keys(got))
			}
			if mode == CredsStore && got["credsStore"] != HelperName {
				t.Fatalf("credsStore = %v", got["credsStore"])
			}
			if mode == CredHelpers {
				before, _ := orig["credHelpers"].(map[string]any)
				after, _ := got["credHelpers"].(map[string]any)
				for k, v := range before {
					if !slices.Contains(HubKeys, k) && !cmp.Equal(v, after[k]) {
						t.Fatalf("credHelpers[%q] changed: %v → %v", k, v, after[k])
					}
				}
				for _, k := range HubKeys {
					if after[k] != HelperName {
						t.Fatalf("credHelpers[%q] = %v", k, after[k])
					}
				}
			}
		}
		again, changes, err := Wire(out, mode)
		if err != nil || len(changes) != 0 || !bytes.Equal(again, out) {
			t.Fatalf("wiring twice: %v, changes %v", err, changes)
		}
	})
}

func keys(m map[string]any) []string { return slices.Sorted(maps.Keys(m)) }
