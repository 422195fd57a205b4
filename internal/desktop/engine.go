package desktop

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"
)

// EngineOS asks the engine at host (unix:// or tcp:// without TLS) for its
// operating system, as /info reports it: "Docker Desktop" for Desktop.
func EngineOS(ctx context.Context, host string) (string, error) {
	network, addr, ok := strings.Cut(host, "://")
	if !ok || (network != "unix" && network != "tcp") {
		return "", fmt.Errorf("cannot ask the engine at %s (only unix:// and tcp:// are asked)", host)
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	c := &http.Client{Transport: &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
	}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://docker/info", nil)
	if err != nil {
		return "", err
	}
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s/info: %s", host, resp.Status)
	}
	var info struct {
		OperatingSystem string `json:"OperatingSystem"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(nil, resp.Body, 4<<20)).Decode(&info); err != nil {
		return "", err
	}
	return info.OperatingSystem, nil
}
