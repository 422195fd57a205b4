// Command proxy measures oat-proxy against a direct connection and against
// mitmproxy, in one run, on loopback: the stand-in hub (a real
// distribution registry behind TLS with its token service and CDN
// redirect) in this process; oat-proxy (policy checks on, audit log to a
// file, its default limits), mitmdump, and a bare proxy built as oat-proxy
// is but with none of its checks (bare.go: what Go's HTTP and TLS cost on
// their own) as processes; and an HTTP client in this process. Every
// figure is a ratio or a difference within the run; the routes are
// measured interleaved, round after round, and medians are kept. It
// prints a table of figures, targets and PASS/MISS, and exits 1 on a
// miss.
//
// OAT_BENCH_SCALE=N divides the sizes and counts by N for a quick run.
package main

import (
	"bufio"
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
	rounds := flag.Int("rounds", 3, "rounds of each measurement")
	only := flag.String("only", "", "run only the figures whose names match this regexp")
	flag.Parse()
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
	missed bool
}

type row struct {
	figure, measured, target string
	pass                     bool
	info                     bool // no target: a figure for the record
}

func (b *bench) add(figure, measured, target string, pass bool) {
	b.rows = append(b.rows, row{figure: figure, measured: measured, target: target, pass: pass})
	if !pass {
		b.missed = true
	}
	fmt.Fprintf(b.out, "  %s: %s (target %s) %s\n", figure, measured, target, passMiss(pass))
}

func (b *bench) note(figure, measured string) {
	b.rows = append(b.rows, row{figure: figure, measured: measured, info: true})
	fmt.Fprintf(b.out, "  %s: %s\n", figure, measured)
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
			verdict, r.target = "", "—"
		}
		fmt.Fprintf(b.out, "| %s | %s | %s | %s |\n", r.figure, r.measured, r.target, verdict)
	}
}

func (b *bench) want(name string) bool { return b.only == nil || b.only.MatchString(name) }

// The sizes of the issue, divided by the scale.
func (b *bench) mib(n int64) int64 { return max(1, n/b.scale) << 20 }

func (b *bench) run() error {
	var err error
	if b.dir, err = os.MkdirTemp("", "oat-bench-proxy-"); err != nil {
		return err
	}
	defer os.RemoveAll(b.dir)
	fmt.Fprintf(b.out, "oat-proxy benchmark: %s/%s, %d CPUs, %s, %d rounds each, interleaved; medians\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version(), b.rounds)
	if b.scale > 1 {
		fmt.Fprintf(b.out, "QUICK RUN: sizes and counts divided by %d (OAT_BENCH_SCALE); the figures are not the issue's\n", b.scale)
	}
	if b.want("policy") || b.want("growth") {
		if err := b.policy(); err != nil {
			return err
		}
	}
	e, err := b.setup()
	if err != nil {
		return err
	}
	defer e.close()
	for _, f := range []struct {
		name string
		run  func(*env) error
	}{
		{"large pull", b.largePull},
		{"parallel pulls", b.parallelPulls},
		{"push", b.push},
		{"small requests", b.smallRequests},
		{"memory", b.memory},
	} {
		if !b.want(f.name) {
			continue
		}
		fmt.Fprintf(b.out, "## %s\n", f.name)
		if err := f.run(e); err != nil {
			return fmt.Errorf("%s: %w", f.name, err)
		}
	}
	if b.want("growth") {
		return b.growthRSS()
	}
	return nil
}

// env is what the figures share: two hubs (one redirecting blobs to its
// CDN host as Docker Hub does, one serving them itself so that they come
// through the proxy's MITM path), an oat-proxy and a bare proxy for each,
// and a mitmdump.
type env struct {
	redirect, served   *hubtest.Hub
	proxyR, proxyS     *proxyProc
	bareR, bareS       *bareProc
	mitm               *mitmProc
	direct, viaR       route // the redirecting hub straight, and through its proxy
	directS, viaS      route // the serving hub straight, and through its proxy
	viaBareR, viaBareS route // the two hubs through their bare proxies
	viaMitm            route
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
	if e.mitm, err = startMitmdump(mkdir(filepath.Join(b.dir, "mitm")), e.redirect, caR); err != nil {
		return nil, err
	}
	e.closers = append(e.closers, e.mitm.stop)

	mk := func(name, proxy string, h *hubtest.Hub, files ...string) (route, error) {
		p, err := pool(files...)
		return route{name: name, proxy: proxy, roots: p, hub: h}, err
	}
	for _, r := range []struct {
		dst   *route
		name  string
		proxy string
		h     *hubtest.Hub
		files []string
	}{
		{&e.direct, "direct", "", e.redirect, []string{caR}},
		{&e.viaR, "oat-proxy", e.proxyR.addr, e.redirect, []string{e.proxyR.roots}},
		{&e.directS, "direct", "", e.served, []string{caS}},
		{&e.viaS, "oat-proxy", e.proxyS.addr, e.served, []string{e.proxyS.roots}},
		{&e.viaBareR, "bare proxy", e.bareR.addr, e.redirect, []string{e.bareR.roots}},
		{&e.viaBareS, "bare proxy", e.bareS.addr, e.served, []string{e.bareS.roots}},
		{&e.viaMitm, "mitmproxy", e.mitm.addr, e.redirect, []string{e.mitm.roots}},
	} {
		if *r.dst, err = mk(r.name, r.proxy, r.h, r.files...); err != nil {
			return nil, err
		}
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

// largePull: one large layer, direct vs oat-proxy vs mitmproxy.
func (b *bench) largePull(e *env) error {
	pull := func(r route) (time.Duration, error) {
		c, tr, tok, err := client(r, "repository:acme/big:pull")
		if err != nil {
			return 0, err
		}
		defer tr.CloseIdleConnections()
		start := time.Now()
		err = pullBlob(c, tok, "acme/big", e.big, e.bigSize)
		return time.Since(start), err
	}
	routes := []route{e.direct, e.viaR, e.directS, e.viaS, e.viaMitm, e.viaBareS}
	// The CPU time of the proxy on the way, per route; direct, of this
	// process: the client and the hub.
	pids := []int{os.Getpid(), e.proxyR.pid(), os.Getpid(), e.proxyS.pid(), e.mitm.cmd.Process.Pid, e.bareS.pid()}
	cpu := make([]time.Duration, len(routes))
	i := 0
	d, err := b.timed(routes, func(r route) (time.Duration, error) {
		pid := pids[i%len(routes)]
		before := cpuTime(pid)
		t, err := pull(r)
		cpu[i%len(routes)] += cpuTime(pid) - before
		i++
		return t, err
	})
	if err != nil {
		return err
	}
	perGiB := func(j int) string {
		return fmt.Sprintf("%.2f s", cpu[j].Seconds()/(float64(e.bigSize)*float64(b.rounds)/(1<<30)))
	}
	b.note("1. CPU per GiB: oat-proxy (tunnel), oat-proxy (MITM path), mitmproxy, bare proxy (MITM path)", perGiB(1)+", "+perGiB(3)+", "+perGiB(4)+", "+perGiB(5))
	// When the direct pull keeps every core busy, a proxy that costs p
	// seconds per GiB on top of the d the client and hub cost can reach at
	// most d/(d+p) of it on this machine, however it moves the bytes.
	var wall time.Duration
	for _, t := range d[0] {
		wall += t
	}
	ceiling := func(j int) float64 { return cpu[j-1].Seconds() / (cpu[j-1] + cpu[j]).Seconds() }
	b.note("1. CPU per GiB, direct: the client and the hub (CDN redirect; MITM path)", perGiB(0)+"; "+perGiB(2))
	b.note("1. cores busy during the direct pull; so at most, of direct, on these cores: tunnel, MITM path",
		fmt.Sprintf("%.1f of %d; %.2f, %.2f", cpu[0].Seconds()/wall.Seconds(), runtime.NumCPU(), ceiling(1), ceiling(3)))
	m := make([]float64, len(d))
	for i := range d {
		m[i] = mibps(e.bigSize, median(d[i]))
	}
	size := fmt.Sprintf("%d MiB", e.bigSize>>20)
	b.note("1. "+size+" pull, direct (CDN redirect)", fmt.Sprintf("%.0f MiB/s", m[0]))
	b.add("1. "+size+" pull, oat-proxy / direct (CDN redirect: a tunnel)", fmt.Sprintf("%.2f (%.0f MiB/s)", m[1]/m[0], m[1]), "≥ 0.95", m[1]/m[0] >= 0.95)
	b.add("1. "+size+" pull, oat-proxy / direct (blob from the registry: MITM path)", fmt.Sprintf("%.2f (%.0f vs %.0f MiB/s)", m[3]/m[2], m[3], m[2]), "≥ 0.95", m[3]/m[2] >= 0.95)
	b.add("1. "+size+" pull, oat-proxy / mitmproxy (CDN redirect)", fmt.Sprintf("%.1f (mitmproxy %.0f MiB/s)", m[1]/m[4], m[4]), "≥ 5", m[1]/m[4] >= 5)
	b.add("1. "+size+" pull, oat-proxy (MITM path) / mitmproxy", fmt.Sprintf("%.1f", m[3]/m[4]), "≥ 5", m[3]/m[4] >= 5)
	b.note("1. "+size+" pull, the bare proxy / direct (MITM path)", fmt.Sprintf("%.2f (%.0f MiB/s)", m[5]/m[2], m[5]))
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
	b.add(fmt.Sprintf("2. 16 × %d MiB in parallel, oat-proxy / direct", e.parSize>>20), fmt.Sprintf("%.2f (%.0f vs %.0f MiB/s)", pm/dm, pm, dm), "≥ 0.90", pm/dm >= 0.90)
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
	b.add(fmt.Sprintf("3. %d MiB push, oat-proxy / direct", size>>20), fmt.Sprintf("%.2f (%.0f vs %.0f MiB/s)", pm/dm, pm, dm), "≥ 0.90", pm/dm >= 0.90)
	b.note(fmt.Sprintf("3. %d MiB push, the bare proxy / direct", size>>20), fmt.Sprintf("%.2f (%.0f MiB/s)", bm/dm, bm))
	return nil
}

// smallRequests: manifest HEADs over keep-alive by 8 clients, and the
// first request on a new connection; through oat-proxy, and through the
// bare proxy to show what of the cost is oat-proxy's own.
func (b *bench) smallRequests(e *env) error {
	const clients = 8
	total := max(clients*10, 10000/int(b.scale))
	routes := []route{e.direct, e.viaR, e.viaBareR}
	// The CPU of each route's work: on the direct route this process's
	// (the clients and the hub), through a proxy the proxy's.
	pids := []int{os.Getpid(), e.proxyR.pid(), e.bareR.pid()}
	const direct, oat, bare = 0, 1, 2
	lat := make([][]time.Duration, len(routes))
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
	// Short rounds, many of them, so that a busy moment falls on every
	// route alike.
	const headRounds = 20
	per := max(1, total/headRounds/clients)
	cpu := make([]time.Duration, len(routes))
	var directWall time.Duration
	for range headRounds {
		for i := range routes {
			before, start := cpuTime(pids[i]), time.Now()
			var mu sync.Mutex
			var wg sync.WaitGroup
			var firstErr error
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
			cpu[i] += cpuTime(pids[i]) - before
			if i == direct {
				directWall += time.Since(start)
			}
			if firstErr != nil {
				return fmt.Errorf("%s: %w", routes[i].name, firstErr)
			}
		}
	}
	pct := func(d []time.Duration, p float64) time.Duration {
		s := slices.Clone(d)
		slices.Sort(s)
		return s[int(math.Ceil(p*float64(len(s))))-1]
	}
	ms := func(d time.Duration) string { return fmt.Sprintf("%.3f ms", float64(d)/1e6) }
	us := func(d time.Duration) string { return fmt.Sprintf("%.0f µs", float64(d)/1e3) }
	n := len(lat[direct])
	added := func(i int, p float64) time.Duration { return pct(lat[i], p) - pct(lat[direct], p) }
	p50, p99 := added(oat, 0.5), added(oat, 0.99)
	b.add(fmt.Sprintf("4. %d HEADs, 8 clients, keep-alive: added p50", n), fmt.Sprintf("%s (%s vs %s)", ms(p50), ms(pct(lat[oat], 0.5)), ms(pct(lat[direct], 0.5))), "≤ 0.3 ms", p50 <= 300*time.Microsecond)
	b.add(fmt.Sprintf("4. %d HEADs, 8 clients, keep-alive: added p99", n), fmt.Sprintf("%s (%s vs %s)", ms(p99), ms(pct(lat[oat], 0.99)), ms(pct(lat[direct], 0.99))), "≤ 2 ms", p99 <= 2*time.Millisecond)
	// With every core busy, a HEAD waits behind the other clients' work:
	// a proxy costing c per HEAD adds about clients × c / cores to each.
	cores := float64(runtime.NumCPU())
	perHEAD := func(i int) time.Duration { return cpu[i] / time.Duration(n) }
	adds := func(i int) time.Duration { return time.Duration(float64(perHEAD(i)) * clients / cores) }
	b.note(fmt.Sprintf("4. 8 clients: cores busy on the direct route; CPU per HEAD, so what it adds on these cores (the target needs ≤ %.0f µs): oat-proxy; bare proxy", 300*cores/clients),
		fmt.Sprintf("%.1f of %.0f; %s, %s; %s, %s", cpu[direct].Seconds()/directWall.Seconds(), cores, us(perHEAD(oat)), ms(adds(oat)), us(perHEAD(bare)), ms(adds(bare))))
	b.note("4. 8 clients, the bare proxy: added p50 / p99", ms(added(bare, 0.5))+" / "+ms(added(bare, 0.99)))

	// One client, one HEAD at a time, the routes taking turns: what a
	// proxy adds when nothing waits for a core.
	// turns times n rounds of once on every route in turn, and the CPU
	// each route's process spent on them, per round.
	turns := func(n int, once func(i int) error) ([][]time.Duration, []time.Duration, error) {
		d := make([][]time.Duration, len(routes))
		c := make([]time.Duration, len(routes))
		for range n {
			for i := range routes {
				before, start := cpuTime(pids[i]), time.Now()
				if err := once(i); err != nil {
					return nil, nil, fmt.Errorf("%s: %w", routes[i].name, err)
				}
				d[i] = append(d[i], time.Since(start))
				c[i] += cpuTime(pids[i]) - before
			}
		}
		for i := range c {
			c[i] /= time.Duration(n)
		}
		return d, c, nil
	}
	one, oneCPU, err := turns(max(10, 1000/int(b.scale)), func(i int) error { return head(cs[i].c, cs[i].tok, "acme/big", "1") })
	if err != nil {
		return err
	}
	oneAdded := func(i int) string {
		return fmt.Sprintf("%s / %s, %s", ms(pct(one[i], 0.5)-pct(one[direct], 0.5)), ms(pct(one[i], 0.99)-pct(one[direct], 0.99)), us(oneCPU[i]))
	}
	b.note("4. one client, one HEAD at a time: added p50 / p99, CPU per HEAD: oat-proxy; bare proxy (direct p50 "+ms(pct(one[direct], 0.5))+")",
		oneAdded(oat)+"; "+oneAdded(bare))

	// The first request on a new connection: TCP, (CONNECT,) TLS, HEAD.
	f, fCPU, err := turns(max(5, 30/int(b.scale)), func(i int) error {
		tr := routes[i].transport()
		defer tr.CloseIdleConnections()
		return head(&http.Client{Transport: tr}, cs[i].tok, "acme/big", "1")
	})
	if err != nil {
		return err
	}
	fAdded := func(i int) time.Duration { return median(f[i]) - median(f[direct]) }
	b.add("4. first HEAD on a new CONNECT to a host seen before: added", fmt.Sprintf("%s (%s vs %s)", ms(fAdded(oat)), ms(median(f[oat])), ms(median(f[direct]))), "≤ 1 ms", fAdded(oat) <= time.Millisecond)
	b.note("4. first HEAD on a new CONNECT: the bare proxy's added; CPU per connection: oat-proxy, bare proxy",
		fmt.Sprintf("%s; %s, %s", ms(fAdded(bare)), us(fCPU[oat]), us(fCPU[bare])))
	return nil
}

// memory: 512 connections streaming blobs through the proxy at once,
// through tunnels to the CDN host as Docker Hub's redirects send them,
// and through the MITM path from a registry that serves blobs itself;
// and the bare proxy on the MITM path, for what Go's HTTP and TLS hold
// per stream without oat-proxy.
func (b *bench) memory(e *env) error {
	for _, m := range []struct {
		p        proc
		rt       route
		path     string
		redirect bool
	}{
		{e.proxyR, e.viaR, "tunnels to the CDN host", true},
		{e.proxyS, e.viaS, "MITM path", false},
	} {
		r, err := b.memoryOf(e, m.p, m.rt, m.redirect)
		if err != nil {
			return err
		}
		b.add(fmt.Sprintf("6. peak RSS, %d connections streaming %d MiB blobs (%s)", r.conns, e.smallSize>>20, m.path), fmt.Sprintf("%s (baseline %s; %s with every response started)", kib(r.peak), kib(r.base), kib(r.held)), "≤ 64 MiB", r.peak <= 64<<10)
		b.add("6. RSS after they finish / baseline ("+m.path+")", fmt.Sprintf("%.2f (%s)", float64(r.after)/float64(r.base), kib(r.after)), "≤ 1.20", float64(r.after) <= 1.2*float64(r.base))
		b.add("6. goroutines after they finish ("+m.path+")", fmt.Sprintf("%d (baseline %d)", r.afterG, r.baseG), fmt.Sprintf("≤ %d", r.baseG), r.afterG <= r.baseG)
	}
	r, err := b.memoryOf(e, e.bareS, e.viaBareS, false)
	if err != nil {
		return err
	}
	b.note(fmt.Sprintf("6. the bare proxy, %d streams on the MITM path: peak RSS", r.conns),
		fmt.Sprintf("%s (baseline %s; %s with every response started)", kib(r.peak), kib(r.base), kib(r.held)))
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
	conns := max(16, 512/int(b.scale))
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

// policy runs the policy benchmarks of package proxy: the decision
// (5) and the whole check as tokens and repositories grow (7).
func (b *bench) policy() error {
	fmt.Fprintln(b.out, "## policy: go test -run '^$' -bench 'Decision|CheckGrowth|ServeHEAD' -benchmem -count 5 ./internal/proxy/ (medians)")
	cmd := exec.Command("go", "test", "-run", "^$", "-bench", "Decision|CheckGrowth|ServeHEAD", "-benchmem", "-count", "5", "./internal/proxy/")
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("go test -bench: %w\n%s", err, out)
	}
	// The median of the five runs of each.
	runs := map[string][]float64{}
	allocs := map[string]int{}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		if m := benchLine.FindStringSubmatch(sc.Text()); m != nil {
			v, _ := strconv.ParseFloat(m[2], 64)
			runs[m[1]] = append(runs[m[1]], v)
			a, _ := strconv.Atoi(m[4])
			allocs[m[1]] = max(allocs[m[1]], a)
		}
	}
	ns := map[string]float64{}
	for k, v := range runs {
		slices.Sort(v)
		ns[k] = v[len(v)/2]
	}
	d, ok := ns["Decision"]
	if !ok {
		return fmt.Errorf("no BenchmarkDecision in:\n%s", out)
	}
	if b.want("policy") {
		b.add("5. policy decision, 50 repositories in the token", fmt.Sprintf("%.0f ns/op (runs: %.0f)", d, runs["Decision"]), "≤ 2000 ns/op", d <= 2000)
		b.add("5. policy decision allocations", fmt.Sprintf("%d allocs/op", allocs["Decision"]), "≤ 2", allocs["Decision"] <= 2)
		// What of a HEAD's CPU (figure 4) is the proxy's own: all of its
		// handling but the sockets and TLS.
		b.note("4. a manifest HEAD in process: check, reverse proxy, audit line, metrics (no sockets, no TLS)",
			fmt.Sprintf("%.1f µs/op, %d allocs/op", ns["ServeHEAD"]/1000, allocs["ServeHEAD"]))
	}
	if !b.want("growth") {
		return nil
	}
	key := func(t, r int) string { return fmt.Sprintf("CheckGrowth/tokens=%d/repos=%d", t, r) }
	linear := true
	var cells []string
	for _, r := range []int{1, 50} {
		for _, t := range []int{1, 10, 100} {
			v, ok := ns[key(t, r)]
			if !ok {
				return fmt.Errorf("no Benchmark%s", key(t, r))
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
	b.add("7. whole check, tokens × repositories", strings.Join(cells, ", "), "no step worse than linear", linear)
	return nil
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
