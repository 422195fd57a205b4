package proxy

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/oatkit/oat/internal/policy"
)

// TestAuditJSONIsEncodingJSON: the audit line's encoder writes the bytes
// encoding/json writes, for entries of every field set or empty and
// strings of every awkward kind: quotes, backslashes, control bytes, HTML,
// U+2028, invalid UTF-8, multibyte runes cut short.
func TestAuditJSONIsEncodingJSON(t *testing.T) {
	t.Parallel()
	pieces := []string{"", "a", "acme/app", `"`, `\`, "\n", "\r\t", "\b\f", "\x00", "\x1f", "\x7f", "<script>", "&amp;", ">",
		"\u2028", "\u2029", "é", "日本", "😀", "\xff", "\xe2\x80", "\xc3", "\xed\xa0\x80", "docker/28.0.1 go/go1.23.6", " "}
	rng := rand.New(rand.NewPCG(1, 2))
	str := func() string {
		if rng.IntN(4) == 0 {
			return ""
		}
		var b strings.Builder
		for range rng.IntN(6) + 1 {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		return b.String()
	}
	outcomes, causes := policy.Outcomes(), policy.Causes()
	for i := range 20000 {
		e := auditEntry{
			Time:   time.Date(2026, 12, 7, 8, rng.IntN(60), rng.IntN(60), rng.IntN(1e9)*rng.IntN(2), time.FixedZone("", 3600*(rng.IntN(5)-2))),
			Client: str(), Agent: str(), Family: str(), Method: str(), Host: str(), Path: str(), Kind: str(),
			Label: str(), Org: str(), Repo: str(), Action: str(),
			Decision: outcomes[rng.IntN(len(outcomes))], Cause: causes[rng.IntN(len(causes))],
			Reason: str(), Desktop: str(), Redirect: str(),
		}
		if rng.IntN(2) == 0 {
			e.Upstream = rng.IntN(600) - 1
		}
		want, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		if got := e.appendJSON(nil); string(got) != string(want) {
			t.Fatalf("entry %d:\n got %s\nwant %s", i, got, want)
		}
	}
}

// TestAuditLineAllocatesNothing: writing an audit line costs no
// allocation once its buffer is pooled.
func TestAuditLineAllocatesNothing(t *testing.T) {
	if raceBuild {
		t.Skip("the race detector allocates")
	}
	a := &auditLog{w: discardWriter{}}
	e := auditEntry{Time: time.Now(), Client: "127.0.0.1:5000", Method: "HEAD", Host: "registry-1.docker.io", Path: "/v2/acme/app/manifests/1",
		Kind: "manifest", Label: "ci", Org: "acme", Repo: "acme/app", Action: "pull", Decision: policy.Allowed, Cause: policy.InScope, Upstream: 200}
	a.write(e)
	if n := testing.AllocsPerRun(100, func() { a.write(e) }); n != 0 {
		t.Errorf("%v allocations per audit line, want 0", n)
	}
}

type discardWriter struct{}

func (discardWriter) Write(b []byte) (int, error) { return len(b), nil }
