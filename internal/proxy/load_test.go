package proxy

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/oatkit/oat/internal/hubtest"
)

// The load test's size: OAT_LOAD=full (make load) for 2,000 connections
// and 100,000 requests, a short run otherwise. OAT_SOAK=10m (make soak)
// runs TestSoak for that long.
const (
	envLoad = "OAT_LOAD"
	envSoak = "OAT_SOAK"
)

// loaded is a fixture for load: the push token's records, a connection
// cap above the load's, no audit log kept in memory.
func loaded(t *testing.T, conns int) *fixture {
	t.Helper()
	raiseFileLimit(t)
	return setupWith(t, options{
		hub:     []hubtest.Token{{Org: "acme", Label: "release", Secret: pushSecret, Pull: []string{"acme/*"}, Push: []string{"acme/*"}}},
		records: staticTokens{{Org: "acme", Label: "release", Secret: pushSecret, Active: true, Scopes: mustScopes(t, nil, []string{"acme/app"})}},
		limits:  Limits{MaxConns: conns + 64},
		audit:   io.Discard,
	})
}

// raiseFileLimit lifts the open-file limit to its hard maximum: every
// connection is a descriptor at each of its ends, the proxy's and the
// hub's included, all in this process.
func raiseFileLimit(t *testing.T) {
	t.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	lim.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
}

// skipUnderRace skips the load under the race detector, which makes it
// many times slower: make test runs it again without.
func skipUnderRace(t *testing.T) {
	t.Helper()
	if raceBuild {
		t.Skip("the load runs without the race detector (make test runs it so)")
	}
}

// rss is the process's resident set and its peak, in MiB, from
// /proc/self/status.
func rss() (now, peak float64) {
	b, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseFloat(f[1], 64)
		switch f[0] {
		case "VmRSS:":
			now = kb / 1024
		case "VmHWM:":
			peak = kb / 1024
		}
	}
	return now, peak
}

// load drives mixed registry traffic through a fixture's proxy from many
// clients, each on its own connections: token requests, manifest HEAD and
// GET, blob GET (answered with the CDN redirect, relayed), and uploads
// (POST, PATCH, PUT).
type load struct {
	f       *fixture
	left    atomic.Int64 // requests still to send
	endless bool         // no bound but the context
	pace    <-chan time.Time
	sent    atomic.Int64
	errs    atomic.Int64
	mu      sync.Mutex
	samples []string // the first errors
	blob    []byte
	digest  string
	layer   string // a blob the hub holds
}

func newLoad(t *testing.T, f *fixture, requests int64) *load {
	t.Helper()
	l := &load{f: f, blob: bytes.Repeat([]byte("oat-proxy load "), 64)}
	sum := sha256.Sum256(l.blob)
	l.digest = "sha256:" + hex.EncodeToString(sum[:])
	l.left.Store(requests)
	l.endless = requests < 0
	// A blob of the seeded image, for blob GETs.
	c := &http.Client{Transport: f.client}
	tok := l.token(c)
	req, _ := http.NewRequest("GET", "https://registry-1.docker.io/v2/acme/app/manifests/1.0", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Accept", "application/vnd.oci.image.manifest.v1+json,application/vnd.docker.distribution.manifest.v2+json")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m struct{ Layers []struct{ Digest string } }
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil || len(m.Layers) == 0 {
		t.Fatalf("manifest: %v %+v", err, m)
	}
	l.layer = m.Layers[0].Digest
	return l
}

// take reserves n requests; false when the run is over.
func (l *load) take(ctx context.Context, n int64) bool {
	if ctx.Err() != nil {
		return false
	}
	if l.pace != nil {
		select {
		case <-l.pace:
		case <-ctx.Done():
			return false
		}
	}
	if l.endless {
		return true
	}
	return l.left.Add(-n) >= 0
}

func (l *load) fail(format string, args ...any) {
	l.errs.Add(1)
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.samples) < 10 {
		l.samples = append(l.samples, fmt.Sprintf(format, args...))
	}
}

// do sends one request and checks its status; the Location of the answer
// for an upload.
func (l *load) do(c *http.Client, method, target, bearer string, body []byte, want int) (string, bool) {
	l.sent.Add(1)
	req, err := http.NewRequest(method, target, bytes.NewReader(body))
	if err != nil {
		l.fail("%s %s: %v", method, target, err)
		return "", false
	}
	if body == nil {
		req.Body, req.ContentLength = nil, 0
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	req.Header.Set("Accept", "application/vnd.oci.image.manifest.v1+json,application/vnd.docker.distribution.manifest.v2+json")
	if body != nil {
		req.Header.Set("Content-Type", "application/octet-stream")
	}
	resp, err := c.Do(req)
	if err != nil {
		l.fail("%s %s: %v", method, target, err)
		return "", false
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != want {
		l.fail("%s %s: %d %.200s %v", method, target, resp.StatusCode, b, err)
		return "", false
	}
	loc := resp.Header.Get("Location")
	if u, err := req.URL.Parse(loc); err == nil && loc != "" {
		loc = u.String()
	}
	return loc, true
}

func (l *load) token(c *http.Client) string {
	l.sent.Add(1)
	req, _ := http.NewRequest("GET", "https://auth.docker.io/token?service=registry.docker.io&scope="+url.QueryEscape("repository:acme/app:pull,push"), nil)
	req.SetBasicAuth("acme", pushSecret)
	resp, err := c.Do(req)
	if err != nil {
		l.fail("token: %v", err)
		return ""
	}
	defer resp.Body.Close()
	var tr struct{ Token string }
	if err := json.NewDecoder(resp.Body).Decode(&tr); err != nil || resp.StatusCode != http.StatusOK || tr.Token == "" {
		l.fail("token: %d %v", resp.StatusCode, err)
	}
	return tr.Token
}

// client is one client of the load: its own connections (one tunnel per
// host), its mix of requests, until the run is over.
func (l *load) client(ctx context.Context, id int) {
	tr := &http.Transport{Proxy: l.f.client.Proxy, TLSClientConfig: l.f.client.TLSClientConfig.Clone(),
		MaxConnsPerHost: 1, MaxIdleConnsPerHost: 1, IdleConnTimeout: time.Minute}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	const reg = "https://registry-1.docker.io/v2/acme/app/"
	bearer := ""
	for step := id; ; step++ {
		if bearer == "" || step%8 == 0 {
			if !l.take(ctx, 1) {
				return
			}
			bearer = l.token(c)
			continue
		}
		switch step % 8 {
		case 1, 5:
			if !l.take(ctx, 1) {
				return
			}
			l.do(c, "HEAD", reg+"manifests/1.0", bearer, nil, http.StatusOK)
		case 2, 6:
			if !l.take(ctx, 1) {
				return
			}
			l.do(c, "GET", reg+"manifests/1.0", bearer, nil, http.StatusOK)
		case 3:
			if !l.take(ctx, 1) {
				return
			}
			l.do(c, "GET", reg+"blobs/"+l.layer, bearer, nil, http.StatusTemporaryRedirect)
		case 4, 7:
			if !l.take(ctx, 3) {
				return
			}
			loc, ok := l.do(c, "POST", reg+"blobs/uploads/", bearer, nil, http.StatusAccepted)
			if !ok {
				continue
			}
			if loc, ok = l.do(c, "PATCH", loc, bearer, l.blob, http.StatusAccepted); !ok {
				continue
			}
			sep := "?"
			if strings.Contains(loc, "?") {
				sep = "&"
			}
			l.do(c, "PUT", loc+sep+"digest="+l.digest, bearer, nil, http.StatusCreated)
		}
	}
}

// run starts clients and waits for them; peak is the most client
// connections the proxy held at once.
func (l *load) run(ctx context.Context, clients int) (peak int) {
	capped := l.f.proxy.Listener.(*capListener)
	stop := make(chan struct{})
	var sampled sync.WaitGroup
	sampled.Add(1)
	go func() {
		defer sampled.Done()
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				peak = max(peak, len(capped.slots))
			}
		}
	}()
	var wg sync.WaitGroup
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l.client(ctx, i)
		}()
	}
	wg.Wait()
	close(stop)
	sampled.Wait()
	return peak
}

// settle closes what the run left idle and waits for the goroutines to
// come back to base.
func (l *load) settle(t *testing.T, base int) {
	t.Helper()
	l.f.client.CloseIdleConnections()
	l.f.p.tr.CloseIdleConnections()
	goroutinesSettle(t, base)
}

// Mixed requests from many clients at once through the proxy to the hub:
// every one answered as the hub answers it, the memory bounded, nothing
// left running after.
func TestLoad(t *testing.T) {
	skipUnderRace(t)
	conns, requests, rssBound := 200, int64(5000), 400.0
	if os.Getenv(envLoad) == "full" {
		conns, requests, rssBound = 2000, 100000, 1500.0
	}
	f := loaded(t, conns)
	l := newLoad(t, f, requests)
	base := runtime.NumGoroutine()
	start := time.Now()
	// Each client holds two tunnels, one to the token service and one to
	// the registry: conns connections in all.
	peak := l.run(context.Background(), conns/2)
	took := time.Since(start)
	now, hwm := rss()
	t.Logf("%d requests from %d clients (peak %d connections) in %s: %.0f requests/s, %d errors; RSS %.0f MiB, peak %.0f MiB (proxy and hub in one process)",
		l.sent.Load(), conns/2, peak, took.Round(time.Millisecond), float64(l.sent.Load())/took.Seconds(), l.errs.Load(), now, hwm)
	if n := l.errs.Load(); n > 0 {
		t.Errorf("%d requests failed:\n%s", n, strings.Join(l.samples, "\n"))
	}
	// An upload takes its three requests at once: the last two of the
	// budget may be left when only uploads were left to ask for them.
	if l.sent.Load() < requests-2 {
		t.Errorf("%d requests sent, want %d", l.sent.Load(), requests)
	}
	if peak < conns*9/10 {
		t.Errorf("at most %d connections at once, want %d", peak, conns)
	}
	if hwm > rssBound {
		t.Errorf("peak RSS %.0f MiB, over %.0f MiB", hwm, rssBound)
	}
	if r := f.p.Rejected(); r != 0 {
		t.Errorf("%d connections refused past the cap", r)
	}
	l.settle(t, base)
}

// The load for a long time (OAT_SOAK=10m, make soak) at a steady pace:
// the resident set and the goroutines, sampled each minute, stay flat —
// no sample more than 25% + 64 MiB over the second's RSS (the first is
// taken while the clients start), or 25% + 50 over its goroutines.
func TestSoak(t *testing.T) {
	skipUnderRace(t)
	// Without OAT_SOAK, a short run sampling five times.
	d, every := 5*time.Second, time.Second
	if v := os.Getenv(envSoak); v != "" {
		var err error
		if d, err = time.ParseDuration(v); err != nil {
			t.Fatalf("%s=%q: %v", envSoak, v, err)
		}
		every = min(time.Minute, d/4)
	}
	const clients = 100
	f := loaded(t, 2*clients)
	l := newLoad(t, f, -1)
	pace := time.NewTicker(time.Second / 200) // 200 requests/s
	defer pace.Stop()
	l.pace = pace.C
	base := runtime.NumGoroutine()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	done := make(chan struct{})
	go func() {
		l.run(ctx, clients)
		close(done)
	}()
	var firstRSS float64
	firstG := 0
	minute := time.NewTicker(every)
	defer minute.Stop()
	for i := 1; ; i++ {
		select {
		case <-done:
			if n := l.errs.Load(); n > 0 {
				t.Errorf("%d requests failed:\n%s", n, strings.Join(l.samples, "\n"))
			}
			l.settle(t, base)
			return
		case <-minute.C:
		}
		f.hub.ForgetRequests()
		runtime.GC()
		now, hwm := rss()
		g := runtime.NumGoroutine()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		fmt.Printf("soak sample %d (%s): %d requests, %d errors, RSS %.0f MiB (peak %.0f), heap %.0f MiB, %d goroutines\n",
			i, time.Duration(i)*every, l.sent.Load(), l.errs.Load(), now, hwm, float64(ms.HeapInuse)/(1<<20), g)
		if ctx.Err() != nil {
			continue // the clients are leaving
		}
		if i <= 2 { // the second sample, once every client is under way
			firstRSS, firstG = now, g
			continue
		}
		if now > firstRSS*1.25+64 {
			t.Errorf("sample %d: RSS %.0f MiB, the first %.0f MiB", i, now, firstRSS)
		}
		if float64(g) > float64(firstG)*1.25+50 {
			t.Errorf("sample %d: %d goroutines, the first %d", i, g, firstG)
		}
	}
}
