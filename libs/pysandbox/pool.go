package pysandbox

import (
	"context"
	"sync"
)

// Pool keeps up to Size sandboxes per profile started ahead of time. Each sandbox serves exactly one
// execution and is then discarded; a replacement is started in the background.
type Pool struct {
	s       *Sandbox
	size    int
	mu      sync.Mutex
	idle    map[string][]*warm
	filling map[string]int
	closed  bool
	wg      sync.WaitGroup
}

// Profile names the modules a warm sandbox imports before it waits for code. "" imports nothing.
var Profiles = map[string][]string{"": nil, "pandas": {"numpy", "pandas"}}

// NewPool starts size sandboxes for each profile in profiles.
func NewPool(s *Sandbox, size int, profiles ...string) *Pool {
	p := &Pool{s: s, size: size, idle: map[string][]*warm{}, filling: map[string]int{}}
	for _, prof := range profiles {
		p.refill(prof)
	}
	return p
}

func (p *Pool) refill(profile string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	for len(p.idle[profile])+p.filling[profile] < p.size {
		p.filling[profile]++
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			w, err := p.s.start(Profiles[profile])
			if err == nil {
				if err = <-w.ready; err == nil {
					w.ready <- nil // run() reads it again
				} else {
					w.discard()
				}
			}
			p.mu.Lock()
			defer p.mu.Unlock()
			p.filling[profile]--
			if err != nil || p.closed {
				if err == nil {
					go w.discard()
				}
				return
			}
			p.idle[profile] = append(p.idle[profile], w)
		}()
	}
}

// Run executes job in a warm sandbox of the profile when one is ready, else in a fresh one.
func (p *Pool) Run(ctx context.Context, profile string, job Job) (*Result, error) {
	p.mu.Lock()
	var w *warm
	if n := len(p.idle[profile]); n > 0 {
		w = p.idle[profile][n-1]
		p.idle[profile] = p.idle[profile][:n-1]
	}
	p.mu.Unlock()
	defer p.refill(profile)
	if w == nil {
		var err error
		if w, err = p.s.start(Profiles[profile]); err != nil {
			return nil, err
		}
		res, err := w.run(ctx, job)
		return res, err
	}
	res, err := w.run(ctx, job)
	if res != nil {
		res.Warm = true
	}
	return res, err
}

// Close discards the idle sandboxes and waits for the ones being started.
func (p *Pool) Close() {
	p.mu.Lock()
	p.closed = true
	idle := p.idle
	p.idle = map[string][]*warm{}
	p.mu.Unlock()
	for _, ws := range idle {
		for _, w := range ws {
			w.discard()
		}
	}
	p.wg.Wait()
}

// Sandbox returns the pool's sandbox builder.
func (p *Pool) Sandbox() *Sandbox { return p.s }
