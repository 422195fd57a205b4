package proxy

import (
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"io"
	"net"
	"testing"
	"time"
)

// wrapped stands for a metric's wrapper of a connection.
type wrapped struct{ net.Conn }

func (w wrapped) WrappedConn() net.Conn { return w.Conn }

// tcpPair is a connected pair of TCP connections on loopback.
func tcpPair(t *testing.T) (a, b *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		done <- c
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s := <-done
	t.Cleanup(func() { c.Close(); s.Close() })
	return c.(*net.TCPConn), s.(*net.TCPConn)
}

// TestHalves: the wrappers of a client's connection (its slot's, its
// framing check's, a metric's) are seen through to the TCP connection or
// Unix socket that closes one way at a time; a TLS connection is not.
func TestHalves(t *testing.T) {
	a, _ := tcpPair(t)
	slot := &slotConn{Conn: newFramedConn(wrapped{a}, 1<<10), release: func() {}}
	if halves(slot) != halfCloser(a) || halves(&tunnelConn{Conn: wrapped{a}, conns: &conns{}}) != halfCloser(a) || halves(a) != halfCloser(a) {
		t.Error("a wrapped TCP connection was not found")
	}
	u1, _ := net.Pipe()
	defer u1.Close()
	if halves(tls.Client(a, &tls.Config{})) != nil || halves(bytes.NewReader(nil)) != nil || halves(wrapped{u1}) != nil {
		t.Error("a TLS connection, a pipe or a reader was taken for one with halves")
	}
	dir := t.TempDir()
	ln, err := net.Listen("unix", dir+"/s")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	u, err := net.Dial("unix", dir+"/s")
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	if halves(&slotConn{Conn: wrapped{u}, release: func() {}}) != halfCloser(u.(*net.UnixConn)) {
		t.Error("a wrapped Unix socket was not found")
	}
}

// TestTunnelCopies: io.Copy through tunnelConn, both ways, between a
// wrapped client connection and an upstream one, moves every byte and
// keeps the half-close; the bytes are counted, each way, and the tunnel
// noted as busy, though the kernel moves them in chunks.
func TestTunnelCopies(t *testing.T) {
	client, clientProxySide := tcpPair(t)
	upstreamProxySide, upstream := tcpPair(t)
	slot := &slotConn{Conn: wrapped{clientProxySide}, release: func() {}}
	rec := &bytesRecorder{in: map[string]int64{}, out: map[string]int64{}}
	up := &tunnelConn{Conn: upstreamProxySide, rec: rec, conns: &conns{}}
	go func() {
		_, _ = io.Copy(up, slot) // client → upstream
		_ = up.CloseWrite()
	}()
	go func() {
		_, _ = io.Copy(slot, up) // upstream → client
		_ = slot.CloseWrite()
	}()
	data := make([]byte, 8<<20)
	rand.Read(data)
	go func() {
		_, _ = client.Write(data)
		_ = client.CloseWrite()
	}()
	got, err := io.ReadAll(upstream) // ends at the client's half-close
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("upstream got %d bytes (%v), want %d", len(got), err, len(data))
	}
	go func() {
		_, _ = upstream.Write(data[:1<<20])
		_ = upstream.CloseWrite()
	}()
	back, err := io.ReadAll(client)
	if err != nil || !bytes.Equal(back, data[:1<<20]) {
		t.Fatalf("client got %d bytes (%v), want %d", len(back), err, 1<<20)
	}
	if in, out := rec.get("tunnel"); in != int64(len(data)) || out != 1<<20 {
		t.Errorf("tunnel bytes counted: in %d, out %d; want %d, %d", in, out, len(data), 1<<20)
	}
	if up.last.Load() == 0 {
		t.Error("the tunnel was never noted as carrying bytes")
	}
}

// TestBeneathFramingCheck: a reader sees through the framing check only
// once it passes bytes untouched and holds none of them, so that the
// kernel never skips bytes the check read; a writer always does.
func TestBeneathFramingCheck(t *testing.T) {
	a, b := tcpPair(t)
	f := newFramedConn(a, 1<<10)
	if beneath(f, true) != nil {
		t.Error("a reader saw through a framing check still reading headers")
	}
	if beneath(f, false) != net.Conn(a) {
		t.Error("a writer did not see through the framing check")
	}
	go func() {
		_, _ = b.Write([]byte("CONNECT registry-1.docker.io:443 HTTP/1.1\r\nHost: registry-1.docker.io:443\r\n\r\nhello"))
	}()
	buf := make([]byte, len("CONNECT"))
	if _, err := io.ReadFull(f, buf); err != nil {
		t.Fatal(err)
	}
	if f.state != framePass || beneath(f, true) != nil {
		t.Fatalf("a framing check holding unread bytes was seen through (state %v)", f.state)
	}
	rest := make([]byte, 200)
	n := 0
	for !bytes.HasSuffix(rest[:n], []byte("hello")) {
		m, err := f.Read(rest[n:])
		if err != nil {
			t.Fatal(err)
		}
		n += m
	}
	if beneath(f, true) != net.Conn(a) {
		t.Error("a framing check passing a tunnel and holding nothing was not seen through")
	}
}

// TestTunnelCountsATrickle: bytes the kernel moves are counted within
// about spliceTick even when far fewer than a chunk pass, so Shutdown
// does not take a slow tunnel for a quiet one.
func TestTunnelCountsATrickle(t *testing.T) {
	client, clientProxySide := tcpPair(t)
	upstreamProxySide, upstream := tcpPair(t)
	rec := &bytesRecorder{in: map[string]int64{}, out: map[string]int64{}}
	up := &tunnelConn{Conn: upstreamProxySide, rec: rec, conns: &conns{}}
	go func() { _, _ = io.Copy(up, wrapped{clientProxySide}) }()
	go func() { _, _ = io.Copy(io.Discard, upstream) }()
	if _, err := client.Write([]byte("ten bytes!")); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(3 * spliceTick)
	for {
		if in, _ := rec.get("tunnel"); in == 10 {
			break
		}
		if time.Now().After(deadline) {
			in, _ := rec.get("tunnel")
			t.Fatalf("after %v, %d of 10 bytes counted", 3*spliceTick, in)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if up.last.Load() == 0 {
		t.Error("the tunnel was not noted as carrying bytes")
	}
}
