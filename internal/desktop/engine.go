package desktop

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"strings"
	"time"
)

// EngineOS asks the engine at host (unix:// or tcp:// without TLS) for its
// operating system, as /info reports it: "Docker Desktop" for Desktop.
func EngineOS(ctx context.Context, host string) (string, error) {
	info, err := EngineInfo(ctx, host)
	return info.OperatingSystem, err
}

// Info is what the engine's /info says that the tools use.
type Info struct {
	OperatingSystem string `json:"OperatingSystem"`
	// HTTPSProxy is the proxy the engine itself pulls and pushes through
	// ("" for none).
	HTTPSProxy string `json:"HttpsProxy"`
}

// EngineInfo asks the engine at host (unix:// or tcp:// without TLS) for
// its /info.
//
// It speaks plain HTTP/1.0 over the connection rather than linking an HTTP
// client into a binary whose every call must start fast.
func EngineInfo(ctx context.Context, host string) (Info, error) {
	var info Info
	network, addr, ok := strings.Cut(host, "://")
	if !ok || (network != "unix" && network != "tcp") {
		return info, fmt.Errorf("cannot ask the engine at %s (only unix:// and tcp:// are asked)", host)
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(ctx, network, addr)
	if err != nil {
		return info, err
	}
	defer conn.Close()
	if d, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(d)
	}
	if _, err := io.WriteString(conn, "GET /info HTTP/1.0\r\nHost: docker\r\nUser-Agent: docker-credential-oat\r\n\r\n"); err != nil {
		return info, err
	}
	r := bufio.NewReader(io.LimitReader(conn, 4<<20))
	status, err := r.ReadString('\n')
	if err != nil {
		return info, fmt.Errorf("%s/info: %w", host, err)
	}
	if f := strings.Fields(status); len(f) < 2 || !strings.HasPrefix(f[0], "HTTP/") || f[1] != "200" {
		return info, fmt.Errorf("%s/info: %s", host, strings.TrimSpace(status))
	}
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return info, fmt.Errorf("%s/info: %w", host, err)
		}
		if strings.TrimSpace(line) == "" {
			break
		}
	}
	if err := json.NewDecoder(r).Decode(&info); err != nil {
		return Info{}, fmt.Errorf("%s/info: %w", host, err)
	}
	return info, nil
}
