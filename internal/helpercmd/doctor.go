package helpercmd

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/docker/docker-credential-helpers/credentials"

	"github.com/oatkit/oat/internal/command"
	"github.com/oatkit/oat/internal/desktop"
	"github.com/oatkit/oat/internal/dockercli"
	"github.com/oatkit/oat/internal/dockerconfig"
	"github.com/oatkit/oat/internal/helper"
	"github.com/oatkit/oat/internal/hub"
	"github.com/oatkit/oat/internal/oat"
	"github.com/oatkit/oat/internal/paths"
	"github.com/oatkit/oat/internal/redact"
	"github.com/oatkit/oat/internal/store"
)

// Finding statuses.
const (
	statusOK   = "ok"
	statusInfo = "info"
	statusWarn = "warn"
	statusFail = "fail"
)

// finding is one line of doctor's report.
type finding struct {
	Check   string `json:"check"`
	Status  string `json:"status"`
	Message string `json:"message"`
	Fix     string `json:"fix,omitempty"`
}

type doctorReport struct {
	OK       bool      `json:"ok"`
	Findings []finding `json:"findings"`
}

func (r *doctorReport) add(check, status, msg, fix string) {
	r.Findings = append(r.Findings, finding{Check: check, Status: status, Message: msg, Fix: fix})
}

func (c *cli) doctorCommand() *command.Command {
	return &command.Command{
		Name:  "doctor",
		Short: "what works here and what will not, with fixes",
		Long: `Checks what organization access tokens need on this machine and says what
will not work, with the fix: the store and whether it unlocks, config.json's
wiring, plaintext Docker Hub credentials in config.json, every token's expiry
and scopes, the Docker endpoint (Docker Desktop?), Docker Desktop policy
files (sign-in enforcement, Settings Management: IAM and RAM apply), and
oat-proxy's CA and HTTPS_PROXY.

Exit status 0 when nothing blocks OAT use, 1 otherwise.`,
		Flags: func(fs *flag.FlagSet) command.Runner {
			asJSON := fs.Bool("json", false, "print the findings as JSON")
			fix := fs.Bool("fix", false, "move plaintext Docker Hub credentials from config.json into the store")
			return func(args []string) error {
				if err := command.NoArgs(args); err != nil {
					return err
				}
				return c.doctor(*asJSON, *fix)
			}
		},
	}
}

func (c *cli) doctor(asJSON, fix bool) error {
	var r doctorReport
	s := c.checkStore(&r)
	c.checkConfig(&r, s, fix)
	if s != nil {
		c.checkTokens(&r, s)
	}
	c.checkEndpoint(&r)
	c.checkPolicy(&r)
	c.checkProxy(&r)

	r.OK = true
	for _, f := range r.Findings {
		if f.Status == statusFail {
			r.OK = false
		}
	}
	if asJSON {
		if err := c.printJSON(r); err != nil {
			return err
		}
	} else {
		p := c.paint()
		paint := map[string]func(string) string{statusOK: p.Green, statusInfo: p.Plain, statusWarn: p.Yellow, statusFail: p.Red}
		for _, f := range r.Findings {
			fmt.Fprintf(c.Stdout, "%s %-9s %s\n", paint[f.Status](fmt.Sprintf("%-5s", strings.ToUpper(f.Status))), f.Check, f.Message)
			if f.Fix != "" {
				fmt.Fprintf(c.Stdout, "%-15s fix: %s\n", "", f.Fix)
			}
		}
	}
	if !r.OK {
		return command.ExitCode(1)
	}
	return nil
}

// checkStore opens the store and tries to unlock it; it returns the store
// when it is usable.
func (c *cli) checkStore(r *doctorReport) *store.Store {
	s, err := c.openStore()
	if err != nil {
		msg, hint := explain(err)
		r.add("store", statusFail, msg, hint)
		return nil
	}
	d := s.Describe()
	where := d.Where
	for _, n := range s.Notes() {
		r.add("store", statusInfo, "store choice: "+n, "")
	}
	if d.Vault && !d.Exists {
		r.add("store", statusInfo, where+" does not exist yet; the first docker login or token add creates it", "")
		return s
	}
	if d.KDF != "" {
		where += " (" + d.KDF + ")"
	}
	if err := s.Verify(); err != nil {
		msg, hint := explain(err)
		if !d.Vault {
			msg = "a test write and read failed: " + msg
		}
		r.add("store", statusFail, where+": "+msg, hint)
		return nil
	}
	r.add("store", statusOK, where+" unlocks", "")
	if d.Vault {
		switch {
		case store.CacheDisabled(c.Getenv):
			r.add("store", statusInfo, "unlock cache off ("+store.EnvCache+"="+store.CacheOff+"): every call runs the KDF", "")
		case s.Describe().Unlocked:
			r.add("store", statusOK, "unlocked: the vault key is in the kernel keyring until it expires or '"+Program+" lock'", "")
		default:
			r.add("store", statusInfo, "locked: every call runs the KDF", Program+" unlock --for 8h makes calls fast")
		}
	}
	return s
}

// checkConfig looks at config.json's wiring and plaintext credentials.
func (c *cli) checkConfig(r *doctorReport, s *store.Store, fix bool) {
	dir, err := dockerconfig.Dir(c.Getenv)
	if err != nil {
		r.add("config", statusFail, err.Error(), "")
		return
	}
	path := filepath.Join(dir, dockerconfig.File)
	data, target, perm, err := dockerconfig.ReadFile(path)
	if err != nil {
		r.add("config", statusFail, fmt.Sprintf("read %s: %v", path, err), "")
		return
	}
	// What docker makes of the file, through docker/cli itself.
	wiring, plain, err := dockercli.Config(dir)
	if err != nil {
		r.add("config", statusFail, err.Error(), "fix the file by hand; docker cannot read it either")
		return
	}
	switch h := wiring.HubHelper(); h {
	case dockerconfig.HelperName:
		how := "credHelpers"
		if _, ok := wiring.CredHelpers[hub.IndexServer]; !ok {
			how = "credsStore"
		}
		r.add("config", statusOK, fmt.Sprintf("%s sends Docker Hub credentials to %s (%s)", path, Program, how), "")
	case "":
		r.add("config", statusFail, path+" does not use "+Program+": docker keeps Docker Hub credentials in "+dockerconfig.File+" itself", Program+" setup")
	default:
		r.add("config", statusFail, fmt.Sprintf("%s sends Docker Hub credentials to docker-credential-%s, not to %s", path, h, Program), Program+" setup")
	}
	if len(plain) == 0 {
		return
	}
	var keys []string
	for _, p := range plain {
		keys = append(keys, p.Key)
	}
	if !fix {
		r.add("config", statusFail, fmt.Sprintf("%s holds Docker Hub credentials in plaintext (auths: %s)", path, strings.Join(keys, ", ")),
			Program+" doctor --fix moves them into the store and removes them from config.json")
		return
	}
	if s == nil {
		r.add("config", statusFail, "cannot move the plaintext credentials: the store does not unlock", "")
		return
	}
	if err := c.movePlaintext(s, plain, data, target, perm); err != nil {
		r.add("config", statusFail, "moving the plaintext credentials: "+err.Error(), "")
		return
	}
	r.add("config", statusOK, fmt.Sprintf("moved the plaintext Docker Hub credentials of %s into the store and removed them from %s", strings.Join(keys, ", "), path), "")
}

// movePlaintext stores each plaintext credential through the helper, then
// clears it from config.json; config.json is only rewritten once all are
// stored.
func (c *cli) movePlaintext(s *store.Store, plain []dockerconfig.PlainAuth, data []byte, target string, perm os.FileMode) error {
	h := helper.New(helper.Config{Store: s, Now: c.Now})
	for _, p := range plain {
		if err := h.Add(&credentials.Credentials{ServerURL: p.Key, Username: p.Username, Secret: p.Secret}); err != nil {
			return err
		}
	}
	var keys []string
	for _, p := range plain {
		keys = append(keys, p.Key)
	}
	updated, err := dockerconfig.ClearAuths(data, keys)
	if err != nil {
		return err
	}
	return dockerconfig.WriteFile(target, updated, perm)
}

func (c *cli) checkTokens(r *doctorReport, s *store.Store) {
	all, err := s.Tokens()
	if err != nil {
		r.add("tokens", statusFail, err.Error(), "")
		return
	}
	if len(all) == 0 {
		r.add("tokens", statusInfo, "no organization access tokens stored", "docker login -u ORG, or "+Program+" token add")
		return
	}
	now := c.Now()
	byOrg := map[string][]int{}
	for i, t := range all {
		byOrg[t.Org] = append(byOrg[t.Org], i)
	}
	for _, t := range all {
		id := fmt.Sprintf("%q (%s)", t.Label, t.Org)
		switch {
		case t.Expired(now):
			status := statusWarn
			if !anyUsable(all, t.Org, now) {
				status = statusFail
			}
			r.add("tokens", status, fmt.Sprintf("token %s expired on %s", id, t.Expires.Format(time.DateOnly)),
				"create a new one in the Admin Console, add it, then: "+Program+" token rm "+t.ID())
		case t.Gone:
			r.add("tokens", statusWarn, "token "+id+" is gone from Docker Hub (deleted there, as the last token sync found)", Program+" token rm "+t.ID())
		case !t.Active:
			hint := ""
			if t.HubID != "" {
				hint = Program + " token activate " + t.ID() + ", or token delete it"
			}
			r.add("tokens", statusWarn, "token "+id+" is inactive", hint)
		case t.ExpiresSoon(now):
			r.add("tokens", statusWarn, fmt.Sprintf("token %s expires %s (%s)", id, t.ExpiryText(now), t.Expires.Format(time.DateOnly)), "replace it before then")
		default:
			r.add("tokens", statusOK, fmt.Sprintf("token %s: %s, expires %s%s", id, t.Scopes.Summary(), t.ExpiryText(now), defaultMark(t)), "")
		}
		if unused := now.Sub(t.LastUsed); !t.LastUsed.IsZero() && unused > oat.UnusedFor && t.Active {
			r.add("tokens", statusWarn, fmt.Sprintf("token %s has not been used for %d days (last on %s, as the last token sync found)", id, int(unused.Hours()/24), t.LastUsed.Format(time.DateOnly)),
				"if nothing needs it, deactivate it: "+Program+" token deactivate "+t.ID())
		}
		if t.Scopes.Unknown {
			r.add("tokens", statusInfo, "token "+id+" came in through docker login: its scopes are unknown, so nothing can warn before a request is refused",
				Program+" token edit "+t.ID()+" --pull … --push …, or token import the Admin Console's JSON")
		}
	}
	for org, idx := range byOrg {
		atHub := 0
		for _, i := range idx {
			if all[i].HubID != "" && !all[i].Gone {
				atHub++
			}
		}
		if atHub >= oat.TeamTokenLimit {
			r.add("tokens", statusWarn, fmt.Sprintf("%s holds at least %d access tokens at Docker Hub: a Team plan's limit is %d, a Business plan's %d, expired and inactive ones included", org, atHub, oat.TeamTokenLimit, oat.BusinessTokenLimit),
				"delete the tokens no longer used: "+Program+" token delete LABEL")
		}
	}
}

func anyUsable(all []oat.Token, org string, now time.Time) bool {
	for _, t := range all {
		if t.Org == org && t.Usable(now) {
			return true
		}
	}
	return false
}

func (c *cli) checkEndpoint(r *doctorReport) {
	env := c.desktopEnv()
	// The endpoint as the docker CLI resolves it, through docker/cli.
	ep, credsStore, err := dockercli.Endpoint(env.ConfigDir, c.Getenv, desktop.DefaultHost(runtime.GOOS))
	if err != nil {
		r.add("endpoint", statusWarn, err.Error(), "")
	}
	d := desktop.Judge(env, ep, credsStore)
	where := fmt.Sprintf("docker endpoint %s (context %s, from %s)", ep.Host, ep.Context, ep.Source)
	if d.Desktop {
		r.add("endpoint", statusFail, where+" is Docker Desktop: "+strings.Join(d.Signals, "; ")+". "+desktop.Docs,
			"use a personal access token with Docker Desktop, or point docker at a Docker Engine (docker context use, DOCKER_HOST)")
		return
	}
	osName, err := desktop.EngineOS(context.Background(), ep.Host)
	switch {
	case err != nil:
		r.add("endpoint", statusOK, where+" is not Docker Desktop by its files (the engine was not asked: "+shortErr(err)+")", "")
	case strings.HasPrefix(osName, "Docker Desktop"):
		r.add("endpoint", statusFail, fmt.Sprintf("%s reports %q: it is Docker Desktop. %s", where, osName, desktop.Docs), "use a personal access token with Docker Desktop")
	default:
		r.add("endpoint", statusOK, fmt.Sprintf("%s is %s, not Docker Desktop", where, osName), "")
	}
}

func shortErr(err error) string {
	var op interface{ Unwrap() error }
	for errors.As(err, &op) && op.Unwrap() != nil && len(err.Error()) > 80 {
		err = op.Unwrap()
	}
	return err.Error()
}

func (c *cli) checkPolicy(r *doctorReport) {
	p := desktop.ReadPolicy(c.desktopEnv())
	for _, msg := range p.Problems {
		r.add("policy", statusWarn, msg, "")
	}
	if !p.Enforced() {
		r.add("policy", statusOK, "no Docker Desktop sign-in enforcement or Settings Management files", "")
		return
	}
	msg := "this machine is under an organization's Docker Desktop policy (" + strings.Join(p.Files, ", ") + ")"
	if len(p.AllowedOrgs) > 0 {
		msg += "; allowedOrgs: " + strings.Join(p.AllowedOrgs, ", ")
	}
	r.add("policy", statusFail, msg+". Image Access Management and Registry Access Management apply here. "+desktop.Docs,
		"use a personal access token of a member of "+orgList(p.AllowedOrgs)+" on this machine")
}

func orgList(orgs []string) string {
	if len(orgs) == 0 {
		return "the organization"
	}
	return strings.Join(orgs, " or ")
}

// checkProxy looks at oat-proxy, when it is set up: whether clients trust
// its CA and whether the proxy in HTTPS_PROXY answers.
func (c *cli) checkProxy(r *doctorReport) {
	dirs, err := paths.Resolve(c.Getenv)
	if err != nil {
		return
	}
	caPath := filepath.Join(dirs.Config, paths.ProxyCACert)
	pemData, err := os.ReadFile(caPath)
	if err != nil {
		r.add("proxy", statusInfo, "oat-proxy is not set up here (no CA): requests are not checked before they reach Docker Hub", "oat-proxy ca, then oat-proxy serve")
		return
	}
	block, _ := pem.Decode(pemData)
	var ca *x509.Certificate
	if block != nil {
		ca, err = x509.ParseCertificate(block.Bytes)
	}
	if block == nil || err != nil {
		r.add("proxy", statusFail, caPath+" is not a certificate", "remove it and run oat-proxy ca again")
		return
	}
	roots, err := x509.SystemCertPool()
	if err == nil {
		_, err = ca.Verify(x509.VerifyOptions{Roots: roots})
	}
	if err != nil {
		r.add("proxy", statusWarn, "clients do not trust oat-proxy's CA "+caPath+" (it is neither in the system store nor in SSL_CERT_FILE)",
			"add it to the trust store of the clients that use the proxy (Docker Engine, containerd, the OS)")
	} else {
		r.add("proxy", statusOK, "oat-proxy's CA is trusted here", "")
	}
	proxyURL := c.Getenv("HTTPS_PROXY")
	if proxyURL == "" {
		proxyURL = c.Getenv("https_proxy")
	}
	if proxyURL == "" {
		r.add("proxy", statusInfo, "HTTPS_PROXY is not set: clients started from here do not use oat-proxy", `eval "$(oat-proxy env)"`)
		return
	}
	u, err := url.Parse(proxyURL)
	if err != nil || u.Host == "" {
		r.add("proxy", statusFail, fmt.Sprintf("HTTPS_PROXY=%q is not a URL", redact.String(proxyURL)), "")
		return
	}
	conn, err := net.DialTimeout("tcp", u.Host, time.Second)
	if err != nil {
		r.add("proxy", statusFail, "the proxy at "+u.Host+" does not answer: "+err.Error(), "start it: oat-proxy serve")
		return
	}
	conn.Close()
	r.add("proxy", statusOK, "the proxy at "+u.Host+" answers", "")
}
