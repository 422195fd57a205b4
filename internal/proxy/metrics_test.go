package proxy

import (
	"testing"
	"time"

	"github.com/oatkit/oat/internal/policy"
)

// counted is a Recorder that keeps what it was told.
type counted struct {
	requests, denials [][2]string
}

func (c *counted) Request(kind, decision, _ string) {
	c.requests = append(c.requests, [2]string{kind, decision})
}
func (c *counted) Denial(label, reason string) {
	c.denials = append(c.denials, [2]string{label, reason})
}
func (c *counted) Upstream(int)                  {}
func (c *counted) Bytes(string, int64, int64)    {}
func (c *counted) Latency(string, time.Duration) {}

// Every cause is counted under its outcome's word, a refusal's reason
// under its cause's name: the labels come from the typed verdict, never
// from its words.
func TestMetricLabelsComeFromTheVerdict(t *testing.T) {
	t.Parallel()
	for _, c := range policy.Causes() {
		var rec counted
		e := auditEntry{Kind: "manifest", Label: "ci"}
		e.judge(policy.Of(c, "a sentence"))
		record(&rec, e)
		if len(rec.requests) != 1 || rec.requests[0] != [2]string{"manifest", c.Outcome().String()} {
			t.Errorf("%s: requests counted %v, want one manifest %s", c, rec.requests, c.Outcome())
		}
		switch {
		case c.Outcome() == policy.Denied && (len(rec.denials) != 1 || rec.denials[0] != [2]string{"ci", c.String()}):
			t.Errorf("%s: denials counted %v, want one for ci, reason %s", c, rec.denials, c)
		case c.Outcome() != policy.Denied && len(rec.denials) != 0:
			t.Errorf("%s (%s): counted as a denial: %v", c, c.Outcome(), rec.denials)
		}
	}
}
