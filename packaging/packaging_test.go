// Package packaging checks the packaging files that no tool on a Linux
// machine judges: the GitLab CI job, the launchd plist, the goreleaser and
// nfpm configurations.
package packaging

import (
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func decodeYAML(t *testing.T, file string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return doc
}

// gitlabGlobal are GitLab CI's top-level keywords; every other top-level
// key is a job (a hidden one when it starts with a dot).
var gitlabGlobal = []string{"default", "include", "stages", "variables", "workflow", "spec"}

// gitlabJob are the keywords a job may use.
var gitlabJob = []string{
	"after_script", "allow_failure", "artifacts", "before_script", "cache", "coverage",
	"dast_configuration", "dependencies", "environment", "extends", "hooks", "id_tokens",
	"identity", "image", "inherit", "interruptible", "manual_confirmation", "needs", "pages",
	"parallel", "release", "resource_group", "retry", "rules", "run", "script", "secrets",
	"services", "stage", "tags", "timeout", "trigger", "variables", "when",
}

func TestGitLabJob(t *testing.T) {
	t.Parallel()
	doc := decodeYAML(t, "ci/gitlab-ci.yml")
	stages := []string{"test"} // GitLab's default stages
	if s, ok := doc["stages"].([]any); ok {
		stages = nil
		for _, v := range s {
			stages = append(stages, v.(string))
		}
	}
	jobs := map[string]map[string]any{}
	for key, v := range doc {
		if slices.Contains(gitlabGlobal, key) {
			continue
		}
		job, ok := v.(map[string]any)
		if !ok {
			t.Errorf("%s: a job must be a mapping, is %T", key, v)
			continue
		}
		jobs[key] = job
		for k := range job {
			if !slices.Contains(gitlabJob, k) {
				t.Errorf("%s: %q is not a GitLab CI job keyword", key, k)
			}
		}
		for _, k := range []string{"script", "before_script", "after_script"} {
			if s, ok := job[k]; ok {
				list, ok := s.([]any)
				if !ok || len(list) == 0 {
					t.Errorf("%s.%s: want a list of commands, have %T", key, k, s)
				}
				for _, c := range list {
					if _, ok := c.(string); !ok {
						t.Errorf("%s.%s: %v is not a string (quote it)", key, k, c)
					}
				}
			}
		}
		if st, ok := job["stage"].(string); ok && !slices.Contains(stages, st) {
			t.Errorf("%s: stage %q is not in stages %v", key, st, stages)
		}
	}
	var script func(name string) []string
	script = func(name string) []string {
		job := jobs[name]
		var out []string
		if base, ok := job["extends"].(string); ok {
			if _, ok := jobs[base]; !ok {
				t.Errorf("%s extends %q, which is not defined", name, base)
			}
			out = append(out, script(base)...)
		}
		for _, k := range []string{"before_script", "script"} {
			if list, ok := job[k].([]any); ok {
				for _, c := range list {
					s, _ := c.(string)
					out = append(out, s)
				}
			}
		}
		return out
	}
	for name, want := range map[string]string{
		"helper-only":    "docker login -u \"$DOCKERHUB_ORG\" --password-stdin",
		"proxy-injected": "oat-proxy serve --inject",
	} {
		if _, ok := jobs[name]; !ok {
			t.Errorf("no job %q", name)
			continue
		}
		if _, ok := jobs[name]["script"]; !ok {
			t.Errorf("%s: no script", name)
		}
		if all := strings.Join(script(name), "\n"); !strings.Contains(all, want) {
			t.Errorf("%s: its commands do not include %q:\n%s", name, want, all)
		}
	}
}

func TestLaunchdPlist(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("launchd/io.github.oatkit.oat-proxy.plist")
	if err != nil {
		t.Fatal(err)
	}
	var plist struct {
		Dict struct {
			Items []struct {
				XMLName xml.Name
				Value   string   `xml:",chardata"`
				Strings []string `xml:"string"`
			} `xml:",any"`
		} `xml:"dict"`
	}
	if err := xml.Unmarshal(b, &plist); err != nil {
		t.Fatal(err)
	}
	values := map[string]int{}
	var key string
	var args []string
	for i, it := range plist.Dict.Items {
		if it.XMLName.Local == "key" {
			key = it.Value
			values[key] = i
			continue
		}
		if key == "Label" && it.Value != "io.github.oatkit.oat-proxy" {
			t.Errorf("Label = %q, want the file's name", it.Value)
		}
		if key == "ProgramArguments" {
			args = it.Strings
		}
	}
	for _, k := range []string{"Label", "ProgramArguments", "RunAtLoad", "KeepAlive"} {
		if _, ok := values[k]; !ok {
			t.Errorf("no %s", k)
		}
	}
	if len(args) < 2 || !strings.HasSuffix(args[0], "/oat-proxy") || args[1] != "serve" {
		t.Errorf("ProgramArguments = %q, want oat-proxy serve …", args)
	}
}

func TestGoreleaserAndNfpm(t *testing.T) {
	t.Parallel()
	rel := decodeYAML(t, "../.goreleaser.yaml")
	if rel["version"] != 2 {
		t.Errorf(".goreleaser.yaml: version = %v, want 2", rel["version"])
	}
	for _, k := range []string{"builds", "archives", "nfpms", "brews"} {
		if _, ok := rel[k].([]any); !ok {
			t.Errorf(".goreleaser.yaml: no %s list", k)
		}
	}
	nfpm := decodeYAML(t, "nfpm.yaml")
	contents, _ := nfpm["contents"].([]any)
	var dsts []string
	for _, c := range contents {
		m := c.(map[string]any)
		dsts = append(dsts, m["dst"].(string))
		src := m["src"].(string)
		if !strings.Contains(src, "${") {
			if _, err := os.Stat("../" + src); err != nil {
				t.Errorf("nfpm.yaml: %v", err)
			}
		}
	}
	for _, want := range []string{
		"/usr/bin/docker-credential-oat", "/usr/bin/oat-proxy",
		"/usr/share/man/man1/docker-credential-oat.1.gz", "/usr/share/man/man1/oat-proxy.1.gz",
		"/usr/lib/systemd/user/oat-proxy.service", "/usr/lib/systemd/system/oat-proxy.service",
		"/usr/share/doc/docker-credential-oat/copyright",
	} {
		if !slices.Contains(dsts, want) {
			t.Errorf("nfpm.yaml does not install %s", want)
		}
	}
}

// TestLicense checks that LICENSE, the Debian copyright file and every
// package declaration say the same: MIT, by the oat authors.
func TestLicense(t *testing.T) {
	t.Parallel()
	lic, err := os.ReadFile("../LICENSE")
	if err != nil {
		t.Fatal(err)
	}
	text := string(lic)
	if !strings.HasPrefix(text, "MIT License\n\nCopyright (c) 2026 The oat authors\n\n") {
		t.Errorf("LICENSE does not open with the MIT title and the copyright line:\n%.120s", text)
	}
	deb, err := os.ReadFile("deb/copyright")
	if err != nil {
		t.Fatal(err)
	}
	// The Debian file's stand-alone License paragraph: one space of
	// indent, " ." for an empty line.
	_, body, ok := strings.Cut(string(deb), "\nLicense: MIT\n ")
	if !ok {
		t.Fatal("deb/copyright has no stand-alone License: MIT paragraph")
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimRight(" "+body, "\n"), "\n") {
		l = strings.TrimPrefix(l, " ")
		if l == "." {
			l = ""
		}
		lines = append(lines, l)
	}
	if want := strings.Join(lines, "\n") + "\n"; !strings.HasSuffix(text, "\n\n"+want) {
		t.Errorf("LICENSE's permission text is not deb/copyright's:\n%s", want)
	}
	if !strings.Contains(string(deb), "Copyright: 2026 The oat authors") {
		t.Error("deb/copyright does not name 2026 The oat authors")
	}
	for file, decl := range map[string]string{
		"nfpm.yaml":                         "license: MIT",
		"homebrew/docker-credential-oat.rb": `license "MIT"`,
		"../.goreleaser.yaml":               "license: MIT",
	} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), decl) {
			t.Errorf("%s does not declare %s", file, decl)
		}
	}
	rel := decodeYAML(t, "../.goreleaser.yaml")
	archives, _ := rel["archives"].([]any)
	for _, a := range archives {
		files, _ := a.(map[string]any)["files"].([]any)
		if !slices.Contains(files, any("LICENSE")) {
			t.Errorf(".goreleaser.yaml: archive %v does not ship LICENSE", a.(map[string]any)["id"])
		}
	}
}

// readmeLink is a link of README.md to a file of the repository.
var readmeLink = regexp.MustCompile(`\]\(([^)#:]+)(#[^)]*)?\)`)

// TestArchivesShipWhatREADMELinks checks that every file README.md links
// to is in every release archive, so that its links work where it is
// unpacked.
func TestArchivesShipWhatREADMELinks(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var links []string
	for _, m := range readmeLink.FindAllStringSubmatch(string(readme), -1) {
		if !slices.Contains(links, m[1]) {
			links = append(links, m[1])
		}
	}
	if !slices.Contains(links, "docs/proxy.md") {
		t.Fatalf("read no links to docs/ from README.md: %q", links)
	}
	rel := decodeYAML(t, "../.goreleaser.yaml")
	archives, _ := rel["archives"].([]any)
	if len(archives) == 0 {
		t.Fatal(".goreleaser.yaml has no archives")
	}
	for _, a := range archives {
		files, _ := a.(map[string]any)["files"].([]any)
		for _, l := range links {
			if _, err := os.Stat(filepath.Join("..", l)); err != nil {
				t.Errorf("README.md links to %s: %v", l, err)
			}
			if !slices.ContainsFunc(files, func(f any) bool { ok, _ := filepath.Match(fmt.Sprint(f), l); return ok }) {
				t.Errorf(".goreleaser.yaml: archive %v does not ship %s, which README.md links to", a.(map[string]any)["id"], l)
			}
		}
	}
}
