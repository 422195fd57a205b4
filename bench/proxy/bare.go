package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/oatkit/oat/internal/hubtest"
	"github.com/oatkit/oat/internal/proxy"
)

// The bare proxy is a yardstick, not a proxy to run: a Go proxy built as
// oat-proxy is (CONNECT, a TLS handshake with a leaf of the same CA code,
// net/http's server inside the tunnel, httputil.ReverseProxy over
// HTTP/1.1 upstream with TLS sessions resumed, copy buffers of one TLS
// record) with nothing of oat-proxy's own: no check, no audit line, no
// limits, no metrics, no framing check, one server for all tunnels. It
// runs as a process of its own, as oat-proxy does, and is charged alike,
// so the difference between the two is what oat-proxy's own work costs
// and what the two share is the cost of Go's HTTP and TLS on this
// machine.
const bareArg = "bare-proxy"

// bareProc is a running bare proxy.
type bareProc struct {
	cmd   *exec.Cmd
	addr  string
	roots string // its CA and the hub's, for clients
}

func (p *bareProc) pid() int { return p.cmd.Process.Pid }

func (p *bareProc) stop() {
	if p.cmd.Process != nil {
		_ = p.cmd.Process.Kill()
		_ = p.cmd.Wait()
	}
}

// goroutines is the bare proxy's go_goroutines, from its /metrics.
func (p *bareProc) goroutines() (int, error) { return goroutinesAt(p.addr) }

// startBare runs this program again as a bare proxy for hub.
func startBare(dir string, h *hubtest.Hub, hubCA string) (*bareProc, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	p := &bareProc{addr: freeAddr(), roots: filepath.Join(dir, "clients.pem")}
	p.cmd = exec.Command(exe, bareArg, "-listen", p.addr, "-hub", h.Addr(), "-hub-ca", hubCA, "-dir", dir)
	p.cmd.Stderr = os.Stderr
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	if line, err := bufio.NewReader(stdout).ReadString('\n'); err != nil || line != "ready\n" {
		p.stop()
		return nil, fmt.Errorf("the bare proxy did not start: %q %v", line, err)
	}
	caPEM, err := os.ReadFile(filepath.Join(dir, proxy.CACertFile))
	if err != nil {
		p.stop()
		return nil, err
	}
	hubPEM, err := os.ReadFile(hubCA)
	if err != nil {
		p.stop()
		return nil, err
	}
	if err := os.WriteFile(p.roots, append(caPEM, hubPEM...), 0o644); err != nil {
		p.stop()
		return nil, err
	}
	return p, nil
}

// runBare is the bare proxy's main.
func runBare(args []string) error {
	fs := flag.NewFlagSet(bareArg, flag.ContinueOnError)
	listen := fs.String("listen", "", "host:port to listen on")
	hubAddr := fs.String("hub", "", "host:port every intercepted host is dialled at")
	hubCA := fs.String("hub-ca", "", "the hub's CA certificate")
	dir := fs.String("dir", "", "directory for the CA")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ca, _, err := proxy.LoadOrCreateCA(*dir)
	if err != nil {
		return err
	}
	roots, err := pool(*hubCA)
	if err != nil {
		return err
	}
	dialer := &net.Dialer{}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme = "https"
			pr.Out.URL.Host = pr.In.Host
			pr.Out.Host = pr.In.Host
		},
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return dialer.DialContext(ctx, network, *hubAddr)
			},
			TLSClientConfig:     &tls.Config{RootCAs: roots, ClientSessionCache: tls.NewLRUClientSessionCache(64)},
			MaxIdleConnsPerHost: 16,
			DisableCompression:  true,
		},
		BufferPool: &copyBuffers{},
		ErrorLog:   log.New(io.Discard, "", 0),
	}
	tunnels := &connChan{c: make(chan net.Conn)}
	go (&http.Server{Handler: rp, ErrorLog: log.New(io.Discard, "", 0)}).Serve(tunnels) //nolint:errcheck

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	fmt.Println("ready")
	return (&http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect { // /metrics: go_goroutines alone
			fmt.Fprintln(w, "go_goroutines", runtime.NumGoroutine()-1) // less this one
			return
		}
		host, _, err := net.SplitHostPort(r.Host)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		leaf, err := ca.Leaf(host)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		if _, err := io.WriteString(conn, "HTTP/1.1 200 OK\r\n\r\n"); err != nil {
			conn.Close()
			return
		}
		tc := tls.Server(conn, &tls.Config{Certificates: []tls.Certificate{*leaf}, NextProtos: []string{"http/1.1"}})
		if err := tc.Handshake(); err != nil {
			conn.Close()
			return
		}
		tunnels.c <- tc
	}), ErrorLog: log.New(io.Discard, "", 0), ReadHeaderTimeout: time.Minute}).Serve(ln)
}

// connChan is a listener whose connections are the tunnels' insides.
type connChan struct{ c chan net.Conn }

func (l *connChan) Accept() (net.Conn, error) { return <-l.c, nil }
func (l *connChan) Close() error              { return nil }
func (l *connChan) Addr() net.Addr            { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }

// copyBuffers lends the reverse proxy buffers of one TLS record, as
// oat-proxy's do.
type copyBuffers struct{ p sync.Pool }

func (b *copyBuffers) Get() []byte {
	if v, ok := b.p.Get().(*[]byte); ok {
		return *v
	}
	return make([]byte, 16<<10)
}

func (b *copyBuffers) Put(buf []byte) { b.p.Put(&buf) }
