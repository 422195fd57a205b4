// Command proxy measures oat-proxy against a yardstick, HAProxy and
// mitmproxy, in one run, on loopback: the stand-in hub (a real
// distribution registry behind TLS with its token service and CDN
// redirect) in this process; oat-proxy (policy checks on, audit log to a
// file, its default limits), the yardstick (bare.go: a proxy built as
// oat-proxy is, with the same CA code, net/http and
// httputil.ReverseProxy, but none of oat-proxy's own work), Debian's
// haproxy (mode tcp, splicing) and mitmdump as processes; and HTTP
// clients in this process.
//
// The targets are ratios of CPU per unit of work (per HEAD, per new
// connection, per GiB) and of peak RSS within the run, each process's CPU
// read from its own clock: oat-proxy against the yardstick on the same
// requests, against HAProxy on the same tunnelled pull, mitmproxy against
// oat-proxy on the same intercepted pull; and the policy decision's time
// and allocations from go test -bench. The routes are measured
// interleaved, round after round; each ratio is of the medians of the
// rounds' figures. Throughput and added latency are printed as
// information: client, hub and proxy share this machine's cores, so they
// measure the machine as much as the proxy. It prints a table of figures,
// targets and PASS/MISS, and exits 1 on a miss.
//
// OAT_BENCH_SCALE=N divides the sizes and counts by N for a quick run.
package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/oatkit/oat/internal/hubtest"
)

const secret = "dckr_oat_BenchBenchBenchBenchBenchBe"

func main() {
	if len(os.Args) > 1 && os.Args[1] == bareArg {
		if err := runBare(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, bareArg+":", err)
			os.Exit(1)
		}
		return
	}
	bin := flag.String("bin", "bin", "directory holding oat-proxy and docker-credential-oat")
	rounds := flag.Int("rounds", 3, "rounds of each measurement (at least 3: the targets are medians)")
	only := flag.String("only", "", "run only the figures whose names match this regexp")
	flag.Parse()
	if *rounds < 3 {
		fmt.Fprintln(os.Stderr, "--rounds: give at least 3")
		os.Exit(2)
	}
	scale := int64(1)
	if s := os.Getenv("OAT_BENCH_SCALE"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 1 {
			fmt.Fprintln(os.Stderr, "OAT_BENCH_SCALE: give a whole number ≥ 1")
			os.Exit(2)
		}
		scale = n
	}
	b := &bench{bin: *bin, rounds: *rounds, scale: scale, out: os.Stdout}
	if *only != "" {
		b.only = regexp.MustCompile(*only)
	}
	err := b.run()
	b.table()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench/proxy:", err)
		os.Exit(1)
	}
	if b.missed {
		os.Exit(1)
	}
}

type bench struct {
	bin    string
	rounds int
	scale  int64
	only   *regexp.Regexp
	out    io.Writer
	dir    string

	rows   []row
	whys   []string // the reasons information rows give, numbered from 1 in the table
	missed bool
}

type row struct {
	figure, measured, target string
	pass                     bool
	info                     bool // no target: a figure for the record
}

// Why some figures are information here and not targets.
const (
	whyCores = "client, hub and proxy share this machine's cores: a proxy costing p s of CPU per GiB on top of the d s the client and the hub cost reaches at most d/(d+p) of direct, however it moves the bytes, and the yardstick reaches the same ratios (the ceilings are printed with figure 1). This measures the machine, not the proxy; the proxy is judged by its CPU per GiB against the yardstick and HAProxy"
	whyWait  = "time a proxy adds on these shared cores is mostly its CPU waiting for a core the client and the hub are using (with 8 clients, about clients × CPU per HEAD / cores, printed with figure 4), so it moves with the machine and its load, and the yardstick adds about the same. The proxy is judged by its CPU per HEAD and per new connection against the yardstick"
	whyRSS   = "an absolute peak is what Go's runtime, net/http and crypto/tls hold for that many streams on this machine as much as what oat-proxy holds; the yardstick holds the same streams, and the target is the ratio to it"
)

func (b *bench) add(figure, measured, target string, pass bool) {
	b.rows = append(b.rows, row{figure: figure, measured: measured, target: target, pass: pass})
	if !pass {
		b.missed = true
	}
	fmt.Fprintf(b.out, "  %s: %s (target %s) %s\n", figure, measured, target, passMiss(pass))
}

// ratio adds a target row: x / y against limit, ≤ it or (atLeast) ≥ it,
// with both figures shown.
func (b *bench) ratio(figure, xName string, x float64, xs, yName string, y float64, ys string, atLeast bool, limit float64) {
	r := x / y
	op := "≤"
	pass := r <= limit
	if atLeast {
		op, pass = "≥", r >= limit
	}
	measured := fmt.Sprintf("%.2f (%s %s, %s %s)", r, xName, xs, yName, ys)
	if !(x > 0 && y > 0) || math.IsInf(r, 0) || math.IsNaN(r) {
		measured, pass = fmt.Sprintf("no ratio (%s %s, %s %s)", xName, xs, yName, ys), false
	}
	b.add(figure, measured, fmt.Sprintf("%s %.2f", op, limit), pass)
}

func (b *bench) note(figure, measured string) {
	b.rows = append(b.rows, row{figure: figure, measured: measured, info: true, target: "—"})
	fmt.Fprintf(b.out, "  %s: %s\n", figure, measured)
}

// info adds a figure that was a target elsewhere (was) and is not here,
// for the reason why, printed once under the table.
func (b *bench) info(figure, measured, was, why string) {
	n := slices.Index(b.whys, why)
	if n < 0 {
		b.whys = append(b.whys, why)
		n = len(b.whys) - 1
	}
	target := fmt.Sprintf("none here (was %s) [%d]", was, n+1)
	b.rows = append(b.rows, row{figure: figure, measured: measured, info: true, target: target})
	fmt.Fprintf(b.out, "  %s: %s (information: %s)\n", figure, measured, target)
}

func passMiss(ok bool) string {
	if ok {
		return "PASS"
	}
	return "MISS"
}

func (b *bench) table() {
	fmt.Fprintln(b.out)
	fmt.Fprintln(b.out, "| figure | measured | target | |")
	fmt.Fprintln(b.out, "|---|---|---|---|")
	for _, r := range b.rows {
		verdict := passMiss(r.pass)
		if r.info {
			verdict = ""
		}
		fmt.Fprintf(b.out, "| %s | %s | %s | %s |\n", r.figure, r.measured, r.target, verdict)
	}
	if len(b.whys) > 0 {
		fmt.Fprintln(b.out)
		fmt.Fprintln(b.out, "Not targets here:")
		fmt.Fprintln(b.out)
		for i, w := range b.whys {
			fmt.Fprintf(b.out, "[%d] %s.\n", i+1, w)
		}
	}
}

func (b *bench) want(name string) bool { return b.only == nil || b.only.MatchString(name) }

// The sizes of the issue, divided by the scale.
func (b *bench) mib(n int64) int64 { return max(1, n/b.scale) << 20 }

// count is n divided by the scale, at least least.
func (b *bench) count(n, least int) int { return max(least, n/int(b.scale)) }

func (b *bench) run() error {
	var err error
	if b.dir, err = os.MkdirTemp("", "oat-bench-proxy-"); err != nil {
		return err
	}
	defer os.RemoveAll(b.dir)
	fmt.Fprintf(b.out, "oat-proxy benchmark: %s/%s, %d CPUs, %s, %d rounds each, interleaved; medians\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version(), b.rounds)
	fmt.Fprintln(b.out, "the yardstick: a bare Go proxy (bare.go) with oat-proxy's CA code, net/http and ReverseProxy, none of oat-proxy's own work")
	if b.scale > 1 {
		fmt.Fprintf(b.out, "QUICK RUN: sizes and counts divided by %d (OAT_BENCH_SCALE); the figures are not the issue's\n", b.scale)
	}
	if b.want("policy") || b.want("growth") {
		b.policy()
	}
	figures := []figure{
		{"large pull", b.largePull},
		{"parallel pulls", b.parallelPulls},
		{"push", b.push},
		{"small requests", b.smallRequests},
		{"memory", b.memory},
	}
	if slices.ContainsFunc(figures, func(f figure) bool { return b.want(f.name) }) {
		e, err := b.setup()
		if err != nil {
			return err
		}
		defer e.close()
		for _, f := range figures {
			if !b.want(f.name) {
				continue
			}
			fmt.Fprintf(b.out, "## %s\n", f.name)
			if err := f.run(e); err != nil {
				return fmt.Errorf("%s: %w", f.name, err)
			}
		}
	}
	if b.want("growth") {
		return b.growthRSS()
	}
	return nil
}

// figure is a part of the run, by the name --only matches.
type figure struct {
	name string
	run  func(*env) error
}

// env is what the figures share: two hubs (one redirecting blobs to its
// CDN host as Docker Hub does, one serving them itself so that they come
// through the proxy's MITM path), an oat-proxy and a yardstick for each,
// a HAProxy in front of the redirecting one and a mitmdump for the
// serving one.
type env struct {
	redirect, served   *hubtest.Hub
	proxyR, proxyS     *proxyProc
	bareR, bareS       *bareProc
	haproxy            *haproxyProc
	mitm               *mitmProc
	direct, viaR       route  // the redirecting hub straight, and through its proxy
	directS, viaS      route  // the serving hub straight, and through its proxy
	viaBareR, viaBareS route  // the two hubs through their yardsticks
	viaHAProxy         route  // the redirecting hub through HAProxy
	viaMitm            route  // the serving hub through mitmproxy
	big                string // the large layer's digest, in both hubs
	bigSize            int64
	par                []string // the parallel pulls' layers, in the redirecting hub
	parSize            int64
	small              string // a small blob, in the serving hub, for the memory figure
	smallSize          int64
	closers            []func()
}

func (e *env) close() {
	for _, c := range slices.Backward(e.closers) {
		c()
	}
}

// seed pushes an image of random uncompressed layers of the sizes given
// to repo:1 in each hub and returns the layers' digests.
func seed(ctx context.Context, hubs []*hubtest.Hub, repo string, sizes ...int64) ([]string, error) {
	img := empty.Image
	var digests []string
	for _, size := range sizes {
		data := make([]byte, size)
		if _, err := rand.Read(data); err != nil {
			return nil, err
		}
		l := static.NewLayer(data, types.OCIUncompressedLayer)
		d, err := l.Digest()
		if err != nil {
			return nil, err
		}
		digests = append(digests, d.String())
		if img, err = mutate.AppendLayers(img, l); err != nil {
			return nil, err
		}
	}
	for _, h := range hubs {
		if _, err := h.SeedImage(ctx, repo, "1", img); err != nil {
			return nil, err
		}
	}
	return digests, nil
}

func (b *bench) setup() (*env, error) {
	ctx := context.Background()
	e := &env{bigSize: b.mib(1024), parSize: b.mib(64), smallSize: b.mib(4)}
	ok := false
	defer func() {
		if !ok {
			e.close()
		}
	}()
	tokens := []hubtest.Token{{Org: "acme", Label: "bench", Secret: secret, Pull: []string{"acme/*"}, Push: []string{"acme/push"}}}
	start := func(direct bool, name string) (*hubtest.Hub, string, error) {
		h, err := hubtest.Start(ctx, hubtest.Options{DirectBlobs: direct, Tokens: tokens, StorageDir: filepath.Join(b.dir, name)})
		if err != nil {
			return nil, "", err
		}
		e.closers = append(e.closers, func() { h.Close() })
		ca, err := h.CertFile(mkdir(filepath.Join(b.dir, name+"-ca")))
		return h, ca, err
	}
	var caR, caS string
	var err error
	if e.redirect, caR, err = start(false, "hub-redirect"); err != nil {
		return nil, err
	}
	if e.served, caS, err = start(true, "hub-served"); err != nil {
		return nil, err
	}
	fmt.Fprintf(b.out, "seeding: a %d MiB layer in both hubs, 16 × %d MiB and a %d MiB layer\n", e.bigSize>>20, e.parSize>>20, e.smallSize>>20)
	d, err := seed(ctx, []*hubtest.Hub{e.redirect, e.served}, "acme/big", e.bigSize)
	if err != nil {
		return nil, err
	}
	e.big = d[0]
	sizes := make([]int64, 16)
	for i := range sizes {
		sizes[i] = e.parSize
	}
	if e.par, err = seed(ctx, []*hubtest.Hub{e.redirect}, "acme/par", sizes...); err != nil {
		return nil, err
	}
	if d, err = seed(ctx, []*hubtest.Hub{e.redirect, e.served}, "acme/small", e.smallSize); err != nil {
		return nil, err
	}
	e.small = d[0]
	runtime.GC()

	venv, err := vault(b.bin, mkdir(filepath.Join(b.dir, "client")), []vaultToken{{label: "bench", secret: secret, flags: []string{"--pull", "acme/*", "--push", "acme/push"}}})
	if err != nil {
		return nil, err
	}
	if e.proxyR, err = startProxy(b.bin, mkdir(filepath.Join(b.dir, "proxy-redirect")), venv, e.redirect, caR, "--deny-other-hosts"); err != nil {
		return nil, err
	}
	e.closers = append(e.closers, e.proxyR.stop)
	if e.proxyS, err = startProxy(b.bin, mkdir(filepath.Join(b.dir, "proxy-served")), venv, e.served, caS, "--deny-other-hosts"); err != nil {
		return nil, err
	}
	e.closers = append(e.closers, e.proxyS.stop)
	if e.bareR, err = startBare(mkdir(filepath.Join(b.dir, "bare-redirect")), e.redirect, caR); err != nil {
		return nil, err
	}
	e.closers = append(e.closers, e.bareR.stop)
	if e.bareS, err = startBare(mkdir(filepath.Join(b.dir, "bare-served")), e.served, caS); err != nil {
		return nil, err
	}
	e.closers = append(e.closers, e.bareS.stop)
	if e.haproxy, err = startHAProxy(mkdir(filepath.Join(b.dir, "haproxy")), e.redirect); err != nil {
		return nil, err
	}
	e.closers = append(e.closers, e.haproxy.stop)
	if e.mitm, err = startMitmdump(mkdir(filepath.Join(b.dir, "mitm")), e.served, caS); err != nil {
		return nil, err
	}
	e.closers = append(e.closers, e.mitm.stop)

	for _, r := range []struct {
		dst         *route
		name        string
		proxy, dial string
		h           *hubtest.Hub
		files       []string
	}{
		{&e.direct, "direct", "", "", e.redirect, []string{caR}},
		{&e.viaR, "oat-proxy", e.proxyR.addr, "", e.redirect, []string{e.proxyR.roots}},
		{&e.directS, "direct", "", "", e.served, []string{caS}},
		{&e.viaS, "oat-proxy", e.proxyS.addr, "", e.served, []string{e.proxyS.roots}},
		{&e.viaBareR, "yardstick", e.bareR.addr, "", e.redirect, []string{e.bareR.roots}},
		{&e.viaBareS, "yardstick", e.bareS.addr, "", e.served, []string{e.bareS.roots}},
		{&e.viaHAProxy, "HAProxy", "", e.haproxy.addr, e.redirect, []string{caR}},
		{&e.viaMitm, "mitmproxy", e.mitm.addr, "", e.served, []string{e.mitm.roots}},
	} {
		p, err := pool(r.files...)
		if err != nil {
			return nil, err
		}
		*r.dst = route{name: r.name, proxy: r.proxy, dial: r.dial, roots: p, hub: r.h}
	}
	ok = true
	return e, nil
}

func mkdir(p string) string {
	if err := os.MkdirAll(p, 0o700); err != nil {
		panic(err)
	}
	return p
}

// client is a client on a route with a token for scope.
func client(r route, scope string) (*http.Client, *http.Transport, string, error) {
	tr := r.transport()
	c := &http.Client{Transport: tr}
	tok, err := token(c, secret, scope)
	return c, tr, tok, err
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

func mibps(size int64, d time.Duration) float64 { return float64(size) / (1 << 20) / d.Seconds() }

// timed runs each route's measurement once per round, interleaved, and
// returns the durations per route.
func (b *bench) timed(routes []route, once func(route) (time.Duration, error)) ([][]time.Duration, error) {
	out := make([][]time.Duration, len(routes))
	for range b.rounds {
		for i, r := range routes {
			d, err := once(r)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", r.name, err)
			}
			out[i] = append(out[i], d)
		}
	}
	return out, nil
}

// sample is one turn of a route: the wall time and the CPU the route's
// process spent, by its own clock.
type sample struct{ wall, cpu time.Duration }

// charge runs f and returns what it cost: its wall time, and the CPU
// process pid spent meanwhile.
func charge(pid int, f func() error) (sample, error) {
	before, start := cpuTime(pid), time.Now()
	err := f()
	return sample{wall: time.Since(start), cpu: cpuTime(pid) - before}, err
}

// charged runs f(i) for each route i, n times, the routes taking turns,
// and returns each route's samples, charged to its process in pids.
func charged(n int, routes []route, pids []int, f func(i int) error) ([][]sample, error) {
	out := make([][]sample, len(routes))
	for range n {
		for i := range routes {
			s, err := charge(pids[i], func() error { return f(i) })
			if err != nil {
				return nil, fmt.Errorf("%s: %w", routes[i].name, err)
			}
			out[i] = append(out[i], s)
		}
	}
	return out, nil
}

// medianCPU is the median of the samples' CPU, divided by per (the units
// of work in each sample).
func medianCPU(s []sample, per float64) time.Duration {
	d := make([]time.Duration, len(s))
	for i, x := range s {
		d[i] = time.Duration(float64(x.cpu) / per)
	}
	return median(d)
}

// medianWall is the median of the samples' wall times.
func medianWall(s []sample) time.Duration {
	d := make([]time.Duration, len(s))
	for i, x := range s {
		d[i] = x.wall
	}
	return median(d)
}

func us(d time.Duration) string  { return fmt.Sprintf("%.0f µs", float64(d)/1e3) }
func ms(d time.Duration) string  { return fmt.Sprintf("%.3f ms", float64(d)/1e6) }
func sec(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

// largePull: one large layer on every route, a round at a time. What
// each proxy's process spends per GiB is the figure: oat-proxy against
// the yardstick on the MITM path (the blob from the registry), against
// HAProxy through a tunnel (the CDN redirect: oat-proxy tunnels the CDN
// host, HAProxy passes every connection), mitmproxy against oat-proxy on
// the MITM path.
func (b *bench) largePull(e *env) error {
	const (
		direct = iota // the redirecting hub
		tunnel        // oat-proxy, the CDN host tunnelled
		haproxy
		directS // the serving hub
		mitmPath
		yard
		mitm
	)
	self := os.Getpid()
	routes := []struct {
		r   route
		pid int // whose CPU the route costs; direct, this process's: the client and the hub
	}{
		direct:   {e.direct, self},
		tunnel:   {e.viaR, e.proxyR.pid()},
		haproxy:  {e.viaHAProxy, e.haproxy.pid()},
		directS:  {e.directS, self},
		mitmPath: {e.viaS, e.proxyS.pid()},
		yard:     {e.viaBareS, e.bareS.pid()},
		mitm:     {e.viaMitm, e.mitm.pid()},
	}
	s := make([][]sample, len(routes))
	for range b.rounds {
		for i, rt := range routes {
			c, tr, tok, err := client(rt.r, "repository:acme/big:pull")
			if err != nil {
				return fmt.Errorf("%s: %w", rt.r.name, err)
			}
			x, err := charge(rt.pid, func() error { return pullBlob(c, tok, "acme/big", e.big, e.bigSize) })
			tr.CloseIdleConnections()
			if err != nil {
				return fmt.Errorf("%s: %w", rt.r.name, err)
			}
			s[i] = append(s[i], x)
		}
	}
	gib := float64(e.bigSize) / (1 << 30)
	perGiB := func(i int) time.Duration { return medianCPU(s[i], gib) }
	cpu := func(i int) float64 { return perGiB(i).Seconds() }
	size := fmt.Sprintf("%d MiB", e.bigSize>>20)
	rounds := fmt.Sprintf("medians of %d rounds", b.rounds)
	b.ratio("1. CPU per GiB on the MITM path (blob from the registry), oat-proxy / yardstick, "+rounds,
		"oat-proxy", cpu(mitmPath), sec(perGiB(mitmPath)), "yardstick", cpu(yard), sec(perGiB(yard)), false, 1.05)
	b.ratio("1. CPU per GiB through a tunnel (CDN redirect), oat-proxy / HAProxy (mode tcp, splice on), "+rounds,
		"oat-proxy", cpu(tunnel), sec(perGiB(tunnel)), "HAProxy", cpu(haproxy), sec(perGiB(haproxy)), false, 1.10)
	b.ratio("1. CPU per GiB on the MITM path, mitmproxy / oat-proxy, "+rounds,
		"mitmproxy", cpu(mitm), sec(perGiB(mitm)), "oat-proxy", cpu(mitmPath), sec(perGiB(mitmPath)), true, 2.5)
	b.note("1. CPU per GiB, direct: the client and the hub (CDN redirect; MITM path)", sec(perGiB(direct))+"; "+sec(perGiB(directS)))
	// When the direct pull keeps every core busy, a proxy that costs p
	// seconds per GiB on top of the d the client and hub cost can reach at
	// most d/(d+p) of it on this machine, however it moves the bytes.
	ceiling := func(d, p int) string { return fmt.Sprintf("%.2f", cpu(d)/(cpu(d)+cpu(p))) }
	b.note("1. cores busy during the direct pull; so at most, of direct, on these cores: oat-proxy, HAProxy (tunnel); oat-proxy, yardstick (MITM path)",
		fmt.Sprintf("%.1f of %d; %s, %s; %s, %s", float64(medianCPU(s[direct], 1))/float64(medianWall(s[direct])), runtime.NumCPU(),
			ceiling(direct, tunnel), ceiling(direct, haproxy), ceiling(directS, mitmPath), ceiling(directS, yard)))
	m := make([]float64, len(s))
	for i := range s {
		m[i] = mibps(e.bigSize, medianWall(s[i]))
	}
	b.note("1. "+size+" pull, direct (CDN redirect; MITM path)", fmt.Sprintf("%.0f MiB/s; %.0f MiB/s", m[direct], m[directS]))
	b.info("1. "+size+" pull, oat-proxy / direct (CDN redirect: a tunnel)", fmt.Sprintf("%.2f (%.0f MiB/s; HAProxy %.2f)", m[tunnel]/m[direct], m[tunnel], m[haproxy]/m[direct]), "≥ 0.95", whyCores)
	b.info("1. "+size+" pull, oat-proxy / direct (blob from the registry: MITM path)", fmt.Sprintf("%.2f (%.0f MiB/s; yardstick %.2f)", m[mitmPath]/m[directS], m[mitmPath], m[yard]/m[directS]), "≥ 0.95", whyCores)
	b.info("1. "+size+" pull, oat-proxy / mitmproxy (MITM path)", fmt.Sprintf("%.1f (mitmproxy %.0f MiB/s)", m[mitmPath]/m[mitm], m[mitm]), "≥ 5", whyCores)
	return nil
}

// parallelPulls: 16 layers at once, aggregate throughput.
func (b *bench) parallelPulls(e *env) error {
	pull := func(r route) (time.Duration, error) {
		c, tr, tok, err := client(r, "repository:acme/par:pull")
		if err != nil {
			return 0, err
		}
		defer tr.CloseIdleConnections()
		var wg sync.WaitGroup
		errs := make(chan error, len(e.par))
		start := time.Now()
		for _, d := range e.par {
			wg.Go(func() { errs <- pullBlob(c, tok, "acme/par", d, e.parSize) })
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				return 0, err
			}
		}
		return time.Since(start), nil
	}
	d, err := b.timed([]route{e.direct, e.viaR}, pull)
	if err != nil {
		return err
	}
	total := int64(len(e.par)) * e.parSize
	dm, pm := mibps(total, median(d[0])), mibps(total, median(d[1]))
	b.info(fmt.Sprintf("2. 16 × %d MiB in parallel, oat-proxy / direct", e.parSize>>20), fmt.Sprintf("%.2f (%.0f vs %.0f MiB/s)", pm/dm, pm, dm), "≥ 0.90", whyCores)
	return nil
}

// push: one large layer upload, a new blob each time.
func (b *bench) push(e *env) error {
	size := b.mib(512)
	data := make([]byte, size)
	if _, err := rand.Read(data); err != nil {
		return err
	}
	n := 0
	upload := func(r route) (time.Duration, error) {
		n++
		copy(data, fmt.Sprintf("push %08d", n)) // a blob the hub has not seen
		sum := sha256.Sum256(data)
		c, tr, tok, err := client(r, "repository:acme/push:pull,push")
		if err != nil {
			return 0, err
		}
		defer tr.CloseIdleConnections()
		start := time.Now()
		err = pushBlob(c, tok, "acme/push", data, "sha256:"+hex.EncodeToString(sum[:]))
		return time.Since(start), err
	}
	d, err := b.timed([]route{e.directS, e.viaS, e.viaBareS}, upload)
	if err != nil {
		return err
	}
	dm, pm, bm := mibps(size, median(d[0])), mibps(size, median(d[1])), mibps(size, median(d[2]))
	b.info(fmt.Sprintf("3. %d MiB push, oat-proxy / direct", size>>20), fmt.Sprintf("%.2f (%.0f vs %.0f MiB/s; yardstick %.2f)", pm/dm, pm, dm, bm/dm), "≥ 0.90", whyCores)
	return nil
}

// smallRequests: manifest HEADs over keep-alive, by 8 clients at once and
// by one, and the first request on a new connection; the CPU oat-proxy
// spends on each against what the yardstick spends on the same.
func (b *bench) smallRequests(e *env) error {
	const clients = 8
	total := b.count(10000, clients*10)
	routes := []route{e.direct, e.viaR, e.viaBareR}
	// The CPU of each route's work: on the direct route this process's
	// (the clients and the hub), through a proxy the proxy's.
	pids := []int{os.Getpid(), e.proxyR.pid(), e.bareR.pid()}
	const direct, oat, bare = 0, 1, 2
	type setup struct {
		c   *http.Client
		tok string
	}
	cs := make([]setup, len(routes))
	for i, r := range routes {
		c, tr, tok, err := client(r, "repository:acme/big:pull")
		if err != nil {
			return err
		}
		defer tr.CloseIdleConnections()
		cs[i] = setup{c, tok}
		for range clients { // warm: one connection per client
			if err := head(c, tok, "acme/big", "1"); err != nil {
				return err
			}
		}
	}
	pct := func(d []time.Duration, p float64) time.Duration {
		s := slices.Clone(d)
		slices.Sort(s)
		return s[int(math.Ceil(p*float64(len(s))))-1]
	}
	ratio := func(figure string, x, y time.Duration, limit float64) {
		b.ratio(figure, "oat-proxy", float64(x), us(x), "yardstick", float64(y), us(y), false, limit)
	}

	// 8 clients: short rounds, many of them, so that a busy moment falls
	// on every route alike; the median of the rounds' CPU per HEAD.
	const headRounds = 20
	per := max(1, total/headRounds/clients)
	lat := make([][]time.Duration, len(routes))
	rounds, err := charged(headRounds, routes, pids, func(i int) error {
		var mu sync.Mutex
		var firstErr error
		var wg sync.WaitGroup
		for range clients {
			wg.Go(func() {
				mine := make([]time.Duration, 0, per)
				for range per {
					start := time.Now()
					err := head(cs[i].c, cs[i].tok, "acme/big", "1")
					mine = append(mine, time.Since(start))
					if err != nil {
						mu.Lock()
						firstErr = err
						mu.Unlock()
						return
					}
				}
				mu.Lock()
				lat[i] = append(lat[i], mine...)
				mu.Unlock()
			})
		}
		wg.Wait()
		return firstErr
	})
	if err != nil {
		return err
	}
	n := len(lat[direct])
	perHEAD := func(i int) time.Duration { return medianCPU(rounds[i], float64(per*clients)) }
	ratio(fmt.Sprintf("4. CPU per HEAD, 8 clients, keep-alive, oat-proxy / yardstick, median of %d rounds of %d HEADs", headRounds, per*clients), perHEAD(oat), perHEAD(bare), 1.15)
	added := func(i int, p float64) time.Duration { return pct(lat[i], p) - pct(lat[direct], p) }
	p50, p99 := added(oat, 0.5), added(oat, 0.99)
	b.info(fmt.Sprintf("4. %d HEADs, 8 clients, keep-alive: added p50", n), fmt.Sprintf("%s (%s vs %s; yardstick %s)", ms(p50), ms(pct(lat[oat], 0.5)), ms(pct(lat[direct], 0.5)), ms(added(bare, 0.5))), "≤ 0.3 ms", whyWait)
	b.info(fmt.Sprintf("4. %d HEADs, 8 clients, keep-alive: added p99", n), fmt.Sprintf("%s (%s vs %s; yardstick %s)", ms(p99), ms(pct(lat[oat], 0.99)), ms(pct(lat[direct], 0.99)), ms(added(bare, 0.99))), "≤ 2 ms", whyWait)
	// With every core busy, a HEAD waits behind the other clients' work:
	// a proxy costing c per HEAD adds about clients × c / cores to each.
	cores := float64(runtime.NumCPU())
	adds := func(i int) time.Duration { return time.Duration(float64(perHEAD(i)) * clients / cores) }
	busy := float64(medianCPU(rounds[direct], 1)) / float64(medianWall(rounds[direct]))
	b.note("4. 8 clients: cores busy on the direct route; what the CPU per HEAD adds to each on these cores: oat-proxy, yardstick",
		fmt.Sprintf("%.1f of %.0f; %s, %s", busy, cores, ms(adds(oat)), ms(adds(bare))))

	// One client, one HEAD at a time, the routes taking turns a group of
	// HEADs each: what a proxy costs when nothing waits for a core.
	const group = 50
	groups := b.count(20, 3)
	one := make([][]time.Duration, len(routes))
	oneCPU, err := charged(groups, routes, pids, func(i int) error {
		for range group {
			start := time.Now()
			if err := head(cs[i].c, cs[i].tok, "acme/big", "1"); err != nil {
				return err
			}
			one[i] = append(one[i], time.Since(start))
		}
		return nil
	})
	if err != nil {
		return err
	}
	ratio(fmt.Sprintf("4. CPU per HEAD, one client, oat-proxy / yardstick, median of %d groups of %d HEADs", groups, group), medianCPU(oneCPU[oat], group), medianCPU(oneCPU[bare], group), 1.15)
	oneAdded := func(i int) string {
		return ms(pct(one[i], 0.5)-pct(one[direct], 0.5)) + " / " + ms(pct(one[i], 0.99)-pct(one[direct], 0.99))
	}
	b.note("4. one client, one HEAD at a time: added p50 / p99: oat-proxy; yardstick (direct p50 "+ms(pct(one[direct], 0.5))+")",
		oneAdded(oat)+"; "+oneAdded(bare))

	// A new connection to a host seen before: TCP, (CONNECT,) TLS, the
	// first HEAD, the close; one at a time, the routes taking turns.
	conns := b.count(30, 10)
	first := make([][]time.Duration, len(routes))
	connCPU, err := charged(conns, routes, pids, func(i int) error {
		tr := routes[i].transport()
		start := time.Now()
		err := head(&http.Client{Transport: tr}, cs[i].tok, "acme/big", "1")
		first[i] = append(first[i], time.Since(start))
		tr.CloseIdleConnections()
		// The close is the connection's too: let the far end see it.
		time.Sleep(5 * time.Millisecond)
		return err
	})
	if err != nil {
		return err
	}
	ratio(fmt.Sprintf("4. CPU per new connection (CONNECT, TLS handshake, first HEAD), oat-proxy / yardstick, median of %d", conns), medianCPU(connCPU[oat], 1), medianCPU(connCPU[bare], 1), 1.10)
	fAdded := func(i int) time.Duration { return median(first[i]) - median(first[direct]) }
	b.info("4. first HEAD on a new CONNECT to a host seen before: added", fmt.Sprintf("%s (%s vs %s; yardstick %s)", ms(fAdded(oat)), ms(median(first[oat])), ms(median(first[direct])), ms(fAdded(bare))), "≤ 1 ms", whyWait)
	return nil
}

// memory: many connections streaming blobs through the proxy at once,
// through tunnels to the CDN host as Docker Hub's redirects send them,
// and through the MITM path from a registry that serves blobs itself;
// on the MITM path, run after run, the yardstick taking turns with
// oat-proxy: what Go's HTTP and TLS hold for the same streams without
// oat-proxy's own work.
func (b *bench) memory(e *env) error {
	streams := func(r memoryUse) string {
		return fmt.Sprintf("%d connections streaming %d MiB blobs", r.conns, e.smallSize>>20)
	}
	// The worst of the runs, by RSS after against the baseline.
	worstRSS := func(rs []memoryUse) memoryUse {
		rss := rs[0]
		for _, r := range rs[1:] {
			if float64(r.after)/float64(r.base) > float64(rss.after)/float64(rss.base) {
				rss = r
			}
		}
		return rss
	}
	after := func(r memoryUse) string {
		return fmt.Sprintf("%.2f (%s)", float64(r.after)/float64(r.base), kib(r.after))
	}
	leaks := func(path string, rs []memoryUse) {
		rss, g := worstRSS(rs), rs[0]
		for _, r := range rs[1:] {
			if r.afterG-r.baseG > g.afterG-g.baseG {
				g = r
			}
		}
		of := ""
		if len(rs) > 1 {
			of = fmt.Sprintf(", the worst of %d runs", len(rs))
		}
		b.add("6. RSS after they finish / baseline ("+path+of+")", after(rss), "≤ 1.20", float64(rss.after) <= 1.2*float64(rss.base))
		b.add("6. goroutines after they finish ("+path+of+")", fmt.Sprintf("%d (baseline %d)", g.afterG, g.baseG), fmt.Sprintf("≤ %d", g.baseG), g.afterG <= g.baseG)
	}
	held := func(r memoryUse) string {
		return fmt.Sprintf("%s (baseline %s; %s with every response started)", kib(r.peak), kib(r.base), kib(r.held))
	}

	r, err := b.memoryOf(e, e.proxyR, e.viaR, true)
	if err != nil {
		return err
	}
	b.info("6. peak RSS, "+streams(r)+" (tunnels to the CDN host)", held(r), "≤ 64 MiB", whyRSS)
	leaks("tunnels to the CDN host", []memoryUse{r})

	var oat, bare []memoryUse
	for range b.rounds {
		r, err := b.memoryOf(e, e.proxyS, e.viaS, false)
		if err != nil {
			return err
		}
		oat = append(oat, r)
		if r, err = b.memoryOf(e, e.bareS, e.viaBareS, false); err != nil {
			return fmt.Errorf("yardstick: %w", err)
		}
		bare = append(bare, r)
	}
	peak := func(rs []memoryUse) int64 {
		p := make([]int64, len(rs))
		for i, r := range rs {
			p[i] = r.peak
		}
		slices.Sort(p)
		return p[len(p)/2]
	}
	po, pb := peak(oat), peak(bare)
	b.ratio(fmt.Sprintf("6. peak RSS, %s (MITM path), oat-proxy / yardstick, medians of %d runs", streams(oat[0]), len(oat)),
		"oat-proxy", float64(po), kib(po), "yardstick", float64(pb), kib(pb), false, 1.05)
	b.info("6. peak RSS, "+streams(oat[0])+" (MITM path), oat-proxy, median", fmt.Sprintf("%s (first run: %s)", kib(po), held(oat[0])), "≤ 64 MiB", whyRSS)
	b.note("6. the yardstick, the same streams: peak RSS, median (first run)", fmt.Sprintf("%s (%s)", kib(pb), held(bare[0])))
	leaks("MITM path", oat)
	b.note(fmt.Sprintf("6. the yardstick, the same streams: RSS after they finish / baseline, the worst of %d runs", len(bare)), after(worstRSS(bare)))
	return nil
}

// proc is a proxy process the bench measures.
type proc interface {
	pid() int
	goroutines() (int, error)
}

func kib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/1024) }

// memoryUse is what memoryOf measured: RSS in KiB at the start, with every
// response started, at the peak and after; goroutines at the start and
// after.
type memoryUse struct {
	conns                   int
	base, held, peak, after int64
	baseG, afterG           int
}

func (b *bench) memoryOf(e *env, p proc, rt route, redirect bool) (memoryUse, error) {
	// At least a burst as oat-proxy counts one (burstConns in
	// internal/proxy): after fewer connections it keeps its idle upstream
	// connections for their idle timeout, as Go's transport does, and the
	// goroutines-after figure would count that pool, not a leak.
	conns := max(64, 512/int(b.scale))
	c, tr, tok, err := client(rt, "repository:acme/small:pull")
	if err != nil {
		return memoryUse{}, err
	}
	if err := pullBlob(c, tok, "acme/small", e.small, e.smallSize); err != nil { // warm
		return memoryUse{}, err
	}
	tr.CloseIdleConnections()
	time.Sleep(time.Second)
	baseRSS := status(p.pid(), "VmRSS")
	baseG, err := p.goroutines()
	if err != nil {
		return memoryUse{}, err
	}
	if err := resetPeak(p.pid()); err != nil {
		return memoryUse{}, err
	}
	blob := registryURL("/v2/acme/small/blobs/" + e.small)
	urls := make([]string, conns)
	for i := range urls {
		urls[i] = blob
	}
	if redirect {
		// The registry's redirects first, over a few connections, as a
		// client's pool would: then conns tunnels at once.
		tr := rt.transport()
		tr.MaxConnsPerHost = 8
		nc := &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		for i := range urls {
			resp, err := do(nc, http.MethodGet, blob, tok, nil, 0)
			if err != nil {
				return memoryUse{}, err
			}
			resp.Body.Close()
			if urls[i] = resp.Header.Get("Location"); resp.StatusCode != http.StatusTemporaryRedirect || urls[i] == "" {
				return memoryUse{}, fmt.Errorf("GET blob: %s, not a redirect", resp.Status)
			}
		}
		tr.CloseIdleConnections()
		time.Sleep(200 * time.Millisecond)
	}
	tr = rt.transport()
	c = &http.Client{Transport: tr}
	// Every client holds its response until all have one: conns
	// connections streaming at once.
	var ready, wg sync.WaitGroup
	ready.Add(conns)
	gate := make(chan struct{})
	errs := make(chan error, conns)
	for _, u := range urls {
		wg.Go(func() {
			resp, err := do(c, http.MethodGet, u, tok, nil, 0)
			ready.Done()
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			<-gate
			if resp.StatusCode != http.StatusOK {
				errs <- fmt.Errorf("GET blob: %s", resp.Status)
				return
			}
			if n, err := drain(resp.Body); err != nil || n != e.smallSize {
				errs <- fmt.Errorf("GET blob: %d bytes, %v", n, err)
			}
		})
	}
	ready.Wait()
	held := status(p.pid(), "VmRSS")
	close(gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return memoryUse{}, err
		}
	}
	peak := status(p.pid(), "VmHWM")
	tr.CloseIdleConnections()
	// Wait for the proxy to let go.
	var afterRSS int64
	var afterG int
	deadline := time.Now().Add(15 * time.Second)
	for {
		time.Sleep(500 * time.Millisecond)
		afterRSS = status(p.pid(), "VmRSS")
		if afterG, err = p.goroutines(); err != nil {
			return memoryUse{}, err
		}
		if (afterG <= baseG && float64(afterRSS) <= 1.2*float64(baseRSS)) || time.Now().After(deadline) {
			break
		}
	}
	return memoryUse{conns: conns, base: baseRSS, held: held, peak: peak, after: afterRSS, baseG: baseG, afterG: afterG}, nil
}

var benchLine = regexp.MustCompile(`^Benchmark(\S+?)-\d+\s+\d+\s+([\d.]+) ns/op\s+(\d+) B/op\s+(\d+) allocs/op`)

// benchRuns is what goBench read: each benchmark's ns/op run by run, their
// median, and its allocs/op, the most of any run.
type benchRuns struct {
	runs   map[string][]float64
	ns     map[string]float64
	allocs map[string]int
}

// goBench runs go test's benchmarks matching pattern in pkg, five times
// each, and reads their lines. When go test fails, its output goes to
// stderr and the error says which benchmark failed first.
func (b *bench) goBench(pkg, pattern string) (benchRuns, error) {
	fmt.Fprintf(b.out, "## go test -run '^$' -bench '%s' -benchmem -count 5 %s (medians)\n", pattern, pkg)
	cmd := exec.Command("go", "test", "-run", "^$", "-bench", pattern, "-benchmem", "-count", "5", pkg)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		os.Stderr.Write(out) //nolint:errcheck
		first := ""
		for l := range strings.Lines(string(out)) {
			if strings.HasPrefix(l, "--- FAIL: ") {
				first = ", " + strings.TrimSpace(strings.TrimPrefix(l, "--- FAIL: ")) + " failed"
				break
			}
		}
		return benchRuns{}, fmt.Errorf("go test -bench %s: %w%s", pkg, err, first)
	}
	r := benchRuns{runs: map[string][]float64{}, ns: map[string]float64{}, allocs: map[string]int{}}
	for l := range strings.Lines(string(out)) {
		if m := benchLine.FindStringSubmatch(strings.TrimSpace(l)); m != nil {
			v, _ := strconv.ParseFloat(m[2], 64)
			r.runs[m[1]] = append(r.runs[m[1]], v)
			a, _ := strconv.Atoi(m[4])
			r.allocs[m[1]] = max(r.allocs[m[1]], a)
		}
	}
	for k, v := range r.runs {
		v = slices.Sorted(slices.Values(v))
		r.ns[k] = v[len(v)/2]
	}
	return r, nil
}

// policy runs the policy benchmarks: the decision of package policy (5);
// of package proxy, a HEAD and a new connection handled in process (notes
// to figure 4) and the whole check as tokens and repositories grow (7). A
// benchmark that fails or is missing misses its figure; the rest of the
// run goes on.
func (b *bench) policy() {
	if b.want("policy") {
		const figure, target = "5. policy decision, 50 repositories in the token (median of 5; allocations, the most of any)", "≤ 1 µs, ≤ 2 allocs"
		r, err := b.goBench("./internal/policy/", "^BenchmarkDecide$")
		if d, ok := r.ns["Decide"]; err == nil && ok {
			a := r.allocs["Decide"]
			b.add(figure, fmt.Sprintf("%.0f ns/op, %d allocs/op (runs: %.0f ns)", d, a, r.runs["Decide"]), target, d <= 1000 && a <= 2)
		} else {
			b.add(figure, notMeasured(err, "BenchmarkDecide"), target, false)
		}
	}
	var pattern []string
	if b.want("policy") {
		pattern = append(pattern, "ServeHEAD", "NewConnection")
	}
	if b.want("growth") {
		pattern = append(pattern, "CheckGrowth")
	}
	r, err := b.goBench("./internal/proxy/", "^Benchmark("+strings.Join(pattern, "|")+")$")
	if b.want("policy") {
		// What of a HEAD's CPU (figure 4) is the proxy's own: all of its
		// handling but the sockets and TLS.
		const figure = "4. a manifest HEAD in process: check, reverse proxy, audit line, metrics (no sockets, no TLS)"
		if v, ok := r.ns["ServeHEAD"]; err == nil && ok {
			b.note(figure, fmt.Sprintf("%.1f µs/op, %d allocs/op", v/1000, r.allocs["ServeHEAD"]))
		} else {
			b.note(figure, notMeasured(err, "BenchmarkServeHEAD"))
		}
		// And of a new connection's (figure 4 too): the client's end of
		// it is in the figure, so it is the proxy's only as a change.
		const connFigure = "4. a new connection in process: CONNECT, TLS handshake, first HEAD, client and proxy on loopback"
		if v, ok := r.ns["NewConnection"]; err == nil && ok {
			b.note(connFigure, fmt.Sprintf("%.0f µs/op, %d allocs/op (both ends)", v/1000, r.allocs["NewConnection"]))
		} else {
			b.note(connFigure, notMeasured(err, "BenchmarkNewConnection"))
		}
	}
	if !b.want("growth") {
		return
	}
	const figure, target = "7. whole check, tokens × repositories", "no step worse than linear"
	if err != nil {
		b.add(figure, notMeasured(err, ""), target, false)
		return
	}
	ns := r.ns
	key := func(t, r int) string { return fmt.Sprintf("CheckGrowth/tokens=%d/repos=%d", t, r) }
	linear := true
	var cells []string
	for _, r := range []int{1, 50} {
		for _, t := range []int{1, 10, 100} {
			v, ok := ns[key(t, r)]
			if !ok {
				b.add(figure, notMeasured(nil, "Benchmark"+key(t, r)), target, false)
				return
			}
			cells = append(cells, fmt.Sprintf("%d×%d: %.0f ns", t, r, v))
			if t > 1 && v/ns[key(t/10, r)] > 10 {
				linear = false
			}
		}
		if ns[key(100, r)] == 0 {
			linear = false
		}
	}
	for _, t := range []int{1, 10, 100} {
		if ns[key(t, 50)]/ns[key(t, 1)] > 50 {
			linear = false
		}
	}
	b.add(figure, strings.Join(cells, ", "), target, linear)
}

// notMeasured is a figure's measured column when its benchmark failed
// (err) or printed no line for name.
func notMeasured(err error, name string) string {
	if err != nil {
		return "not measured: " + err.Error()
	}
	return "not measured: no " + name + " in go test's output"
}

// growthRSS: the proxy's resident memory with 1, 10 and 100 tokens of 1
// and 50 repositories each, the records read (one token request made).
func (b *bench) growthRSS() error {
	fmt.Fprintln(b.out, "## growth: oat-proxy's RSS vs tokens × repositories")
	h, err := hubtest.Start(context.Background(), hubtest.Options{})
	if err != nil {
		return err
	}
	defer h.Close()
	ca, err := h.CertFile(mkdir(filepath.Join(b.dir, "growth-ca")))
	if err != nil {
		return err
	}
	rss := map[[2]int]int64{}
	var cells []string
	for _, r := range []int{1, 50} {
		for _, t := range []int{1, 10, 100} {
			var toks []vaultToken
			for i := range t {
				var repos []string
				for j := range r {
					repos = append(repos, fmt.Sprintf("acme/t%d-r%d", i, j))
				}
				tok := vaultToken{label: fmt.Sprintf("t%d", i), secret: fmt.Sprintf("dckr_oat_Growth%04d%04d%02dxxxxxxxxxxxx", t, i, r), flags: []string{"--pull", strings.Join(repos, ",")}}
				toks = append(toks, tok)
				h.AddToken(hubtest.Token{Org: "acme", Label: tok.label, Secret: tok.secret, Pull: repos})
			}
			dir := mkdir(filepath.Join(b.dir, fmt.Sprintf("growth-%d-%d", t, r)))
			venv, err := vault(b.bin, dir, toks)
			if err != nil {
				return err
			}
			p, err := startProxy(b.bin, dir, venv, h, ca)
			if err != nil {
				return err
			}
			rt := route{name: "oat-proxy", proxy: p.addr}
			if rt.roots, err = pool(p.roots); err != nil {
				p.stop()
				return err
			}
			tr := rt.transport()
			_, err = token(&http.Client{Transport: tr}, toks[t-1].secret, fmt.Sprintf("repository:acme/t%d-r0:pull", t-1))
			tr.CloseIdleConnections()
			time.Sleep(200 * time.Millisecond)
			rss[[2]int{t, r}] = status(p.pid(), "VmRSS")
			p.stop()
			if err != nil {
				return err
			}
			cells = append(cells, fmt.Sprintf("%d×%d: %.1f MiB", t, r, float64(rss[[2]int{t, r}])/1024))
		}
	}
	// Linear or better: what a step adds over the smallest case grows no
	// faster than the records do.
	base := float64(rss[[2]int{1, 1}])
	linear := true
	for _, r := range []int{1, 50} {
		for _, t := range []int{10, 100} {
			grow := float64(rss[[2]int{t, r}]) - base
			prev := float64(rss[[2]int{t / 10, r}]) - base
			if grow > 10*max(prev, 1024) { // a MiB of noise
				linear = false
			}
		}
	}
	b.add("7. oat-proxy RSS, tokens × repositories", strings.Join(cells, ", "), "no step worse than linear", linear)
	return nil
}
