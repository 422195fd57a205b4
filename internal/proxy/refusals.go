package proxy

import (
	"slices"
	"sync"
)

// maxRefusals is how many of the last refusals the proxy keeps for
// LastRefusals.
const maxRefusals = 5

// refusals are the last sentences the proxy refused with, each once, the
// newest last.
type refusals struct {
	mu   sync.Mutex
	last []string
}

func (r *refusals) add(msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.last = slices.DeleteFunc(r.last, func(m string) bool { return m == msg })
	r.last = append(r.last, msg)
	if len(r.last) > maxRefusals {
		r.last = r.last[len(r.last)-maxRefusals:]
	}
}

// LastRefusals are the sentences of the last refusals (at most five,
// each once, the newest last): for a client that shows none of them,
// oat-proxy run prints them when its command fails.
func (p *Proxy) LastRefusals() []string {
	p.refusals.mu.Lock()
	defer p.refusals.mu.Unlock()
	return slices.Clone(p.refusals.last)
}
