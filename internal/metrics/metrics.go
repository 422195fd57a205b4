// Package metrics is oat-proxy's Prometheus metrics: what the proxy
// records about requests (through the Recorder interface), the open
// connections of its listener, and the token records it holds, days until
// each expires included, so that a fleet alerts before a token does.
package metrics

import (
	"net"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/oatkit/oat/internal/hub"
	"github.com/oatkit/oat/internal/oat"
)

// Recorder is what the proxy records per request. Package proxy is to
// declare the same interface where it uses it (Config.Metrics) and call it;
// *Metrics implements it, Nop does nothing.
type Recorder interface {
	// Request counts one request: kind is what the proxy took it for
	// (ping, token, registry, api, login: registry.Kind's words; tunnel,
	// a CONNECT the proxy does not intercept; other, anything else),
	// decision the audit line's (policy.Outcome: allowed, injected,
	// narrowed, denied, challenged, passed), host the host it was for.
	Request(kind, decision, host string)
	// Denial counts a refusal of the token labelled label ("" when no
	// token was recognised), for reason: the refusal's cause
	// (policy.Cause's names, a fixed set).
	Denial(label, reason string)
	// Upstream counts the status of a response from upstream.
	Upstream(status int)
	// Bytes counts bytes of kind (an intercepted request's kind: bodies,
	// headers aside; "tunnel": everything a tunnel carries): in from
	// clients, out to clients.
	Bytes(kind string, in, out int64)
	// Latency observes how long a request of kind took, from its first
	// byte to the end of the response.
	Latency(kind string, d time.Duration)
}

// Nop is a Recorder that records nothing.
type Nop struct{}

func (Nop) Request(string, string, string) {}
func (Nop) Denial(string, string)          {}
func (Nop) Upstream(int)                   {}
func (Nop) Bytes(string, int64, int64)     {}
func (Nop) Latency(string, time.Duration)  {}

var (
	_ Recorder = Nop{}
	_ Recorder = (*Metrics)(nil)
)

// Metrics holds the proxy's metrics in a registry of their own.
type Metrics struct {
	reg *prometheus.Registry

	requests *prometheus.CounterVec
	denials  *prometheus.CounterVec
	upstream *prometheus.CounterVec
	bytes    *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	conns    prometheus.Gauge
}

// New returns the metrics, registered with the Go runtime's and the
// process's collectors.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "oat_proxy_requests_total", Help: "Requests by kind, decision and host.",
		}, []string{"kind", "decision", "host"}),
		denials: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "oat_proxy_denials_total", Help: "Refused requests by token label and reason.",
		}, []string{"label", "reason"}),
		upstream: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "oat_proxy_upstream_responses_total", Help: "Upstream responses by status class (2xx, 3xx, 4xx, 5xx).",
		}, []string{"class"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "oat_proxy_bytes_total", Help: "Bytes from clients (in) and to clients (out), by kind: request and response bodies of intercepted requests, all a tunnel carries (tunnel).",
		}, []string{"direction", "kind"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "oat_proxy_request_duration_seconds", Help: "Request latency by kind.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300},
		}, []string{"kind"}),
		conns: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "oat_proxy_open_connections", Help: "Client connections open now (tunnels included).",
		}),
	}
	m.reg.MustRegister(m.requests, m.denials, m.upstream, m.bytes, m.latency, m.conns,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry is where the metrics are gathered from.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Request implements Recorder. A host other than Docker Hub's API hosts
// counts as "other": tunnelled hosts are many and client-chosen.
func (m *Metrics) Request(kind, decision, host string) {
	m.requests.WithLabelValues(kind, decision, hostLabel(host)).Inc()
}

func hostLabel(host string) string {
	if strings.Contains(host, ":") {
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if hub.IsAPIHost(host) {
		return host
	}
	return "other"
}

// Denial implements Recorder.
func (m *Metrics) Denial(label, reason string) { m.denials.WithLabelValues(label, reason).Inc() }

// Upstream implements Recorder.
func (m *Metrics) Upstream(status int) {
	class := "other"
	if status >= 100 && status < 600 {
		class = statusClasses[status/100-1]
	}
	m.upstream.WithLabelValues(class).Inc()
}

// statusClasses are the upstream counter's labels, 1xx to 5xx.
var statusClasses = [...]string{"1xx", "2xx", "3xx", "4xx", "5xx"}

// Bytes implements Recorder.
func (m *Metrics) Bytes(kind string, in, out int64) {
	if in > 0 {
		m.bytes.WithLabelValues("in", kind).Add(float64(in))
	}
	if out > 0 {
		m.bytes.WithLabelValues("out", kind).Add(float64(out))
	}
}

// Latency implements Recorder.
func (m *Metrics) Latency(kind string, d time.Duration) {
	m.latency.WithLabelValues(kind).Observe(d.Seconds())
}

// Listener counts the connections ln accepts while they are open,
// hijacked ones (CONNECT tunnels) included: each counts until closed.
func (m *Metrics) Listener(ln net.Listener) net.Listener {
	return &countingListener{Listener: ln, g: m.conns}
}

type countingListener struct {
	net.Listener
	g prometheus.Gauge
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.g.Inc()
	return &countedConn{Conn: c, g: l.g}, nil
}

type countedConn struct {
	net.Conn
	g    prometheus.Gauge
	once sync.Once
}

// WrappedConn is the connection counted, so that a tunnel can reach the
// TCP connection beneath.
func (c *countedConn) WrappedConn() net.Conn { return c.Conn }

func (c *countedConn) Close() error {
	c.once.Do(c.g.Dec)
	return c.Conn.Close()
}

// Records are the token records a proxy holds.
type Records interface {
	// Current returns the records, read again first if they changed.
	Current() []oat.Token
	// Stale reports whether the last read failed, so that the records are
	// the last good ones.
	Stale() bool
}

// WatchTokens exports the records at every scrape: how many there are,
// whether they are stale, and days until each expires (negative once it
// has; none for a token without an expiry date), at now.
func (m *Metrics) WatchTokens(r Records, now func() time.Time) {
	m.reg.MustRegister(&tokenCollector{records: r, now: now})
}

var (
	recordsDesc = prometheus.NewDesc("oat_token_records", "Token records loaded.", nil, nil)
	staleDesc   = prometheus.NewDesc("oat_token_records_stale", "1 when the last read of the token records failed and the last good ones serve.", nil, nil)
	expiryDesc  = prometheus.NewDesc("oat_token_expiry_days", "Days until the token expires (negative once it has).", []string{"org", "label"}, nil)
	activeDesc  = prometheus.NewDesc("oat_token_active", "1 when the token's record is active, 0 when it is inactive or gone from Docker Hub (as the last token sync found).", []string{"org", "label"}, nil)
	orgDesc     = prometheus.NewDesc("oat_org_hub_tokens", "Access tokens of the organization known at Docker Hub, as the last token sync found: a Team plan allows 10, a Business plan 100, expired and inactive ones included.", []string{"org"}, nil)
	unusedDesc  = prometheus.NewDesc("oat_token_unused_days", "Days since Docker Hub last saw the token used, as the last token sync found (none before a sync, or if never used).", []string{"org", "label"}, nil)
)

type tokenCollector struct {
	records Records
	now     func() time.Time
}

func (c *tokenCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- recordsDesc
	ch <- staleDesc
	ch <- expiryDesc
	ch <- activeDesc
	ch <- unusedDesc
	ch <- orgDesc
}

func (c *tokenCollector) Collect(ch chan<- prometheus.Metric) {
	all := c.records.Current()
	now := c.now()
	stale := 0.0
	if c.records.Stale() {
		stale = 1
	}
	ch <- prometheus.MustNewConstMetric(recordsDesc, prometheus.GaugeValue, float64(len(all)))
	ch <- prometheus.MustNewConstMetric(staleDesc, prometheus.GaugeValue, stale)
	atHub := map[string]int{}
	for _, t := range all {
		if t.HubID != "" && !t.Gone {
			atHub[t.Org]++
		}
	}
	for org, n := range atHub {
		ch <- prometheus.MustNewConstMetric(orgDesc, prometheus.GaugeValue, float64(n), org)
	}
	for _, t := range all {
		active := 0.0
		if t.Active && !t.Gone {
			active = 1
		}
		ch <- prometheus.MustNewConstMetric(activeDesc, prometheus.GaugeValue, active, t.Org, t.Label)
		if !t.LastUsed.IsZero() {
			ch <- prometheus.MustNewConstMetric(unusedDesc, prometheus.GaugeValue, now.Sub(t.LastUsed).Hours()/24, t.Org, t.Label)
		}
		if t.Expires.IsZero() {
			continue
		}
		days := t.Expires.Sub(now).Hours() / 24
		ch <- prometheus.MustNewConstMetric(expiryDesc, prometheus.GaugeValue, days, t.Org, t.Label)
	}
}
