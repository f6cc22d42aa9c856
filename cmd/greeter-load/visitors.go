package main

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// idleResult is what opening the idle visitors measured.
type idleResult struct {
	clients    []*client
	handshakes []time.Duration // dial until the upgrade completed
	routings   []time.Duration // visitor:join sent until the first routing answer
	assigned   int             // answers that were agent:assigned
	waiting    int             // answers that were agent:unavailable
	failures   map[string]int  // reason → count
	took       time.Duration
	frames     *atomic.Int64 // frames the idle visitors received, in total
}

// visitorURL is the visitor endpoint for the configured site.
func visitorURL(cfg config) string {
	return cfg.url + "/ws/visitor?siteKey=" + url.QueryEscape(cfg.siteKey)
}

// joinData is a visitor:join on the home page of the visitors' origin.
func joinData(cfg config) map[string]string {
	return map[string]string{"pageUrl": cfg.origin + "/"}
}

// openVisitors opens cfg.visitors connections, cfg.concurrency at a time;
// each joins and waits for its routing answer before the worker moves on.
func openVisitors(ctx context.Context, d *dialer, cfg config) idleResult {
	res := idleResult{failures: map[string]int{}, frames: new(atomic.Int64)}
	var mu sync.Mutex
	jobs := make(chan struct{})
	var wg sync.WaitGroup
	start := time.Now()

	for range min(cfg.concurrency, max(cfg.visitors, 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range jobs {
				o := openVisitor(ctx, d, cfg, res.frames)
				mu.Lock()
				res.add(o)
				mu.Unlock()
			}
		}()
	}
	for range cfg.visitors {
		if ctx.Err() != nil {
			break
		}
		select {
		case jobs <- struct{}{}:
		case <-ctx.Done():
		}
	}
	close(jobs)
	wg.Wait()
	res.took = time.Since(start)
	return res
}

// opened is the outcome of opening one idle visitor.
type opened struct {
	client    *client
	handshake time.Duration
	routing   time.Duration
	event     string
	err       error
}

func (r *idleResult) add(o opened) {
	if o.err != nil {
		if o.client != nil {
			o.client.closed.Store(true)
			_ = o.client.ws.CloseNow() // a failed visitor is not held
		}
		r.failures[shorten(o.err.Error())]++
		return
	}
	r.clients = append(r.clients, o.client)
	r.handshakes = append(r.handshakes, o.handshake)
	r.routings = append(r.routings, o.routing)
	if o.event == "agent:assigned" {
		r.assigned++
	} else {
		r.waiting++
	}
}

// openVisitor connects one visitor, joins and waits for agent:assigned or
// agent:unavailable. The connection stays open and keeps reading (which
// answers the server's pings) until it is closed.
func openVisitor(ctx context.Context, d *dialer, cfg config, frames *atomic.Int64) opened {
	h := http.Header{"Origin": {cfg.origin}}
	t0 := time.Now()
	c, err := d.dial(ctx, visitorURL(cfg), h)
	if err != nil {
		return opened{err: err}
	}
	o := opened{client: c, handshake: time.Since(t0)}

	first := make(chan frame, 1)
	c.read(ctx, func(f frame) {
		frames.Add(1)
		if isRouting(f) || (f.Event == "ack" && !f.ack().OK) || f.Event == "error" {
			select {
			case first <- f:
			default:
			}
		}
	})

	t1 := time.Now()
	if _, err := c.send(ctx, "visitor:join", joinData(cfg)); err != nil {
		o.err = err
		return o
	}
	timer := time.NewTimer(cfg.stepTimeout)
	defer timer.Stop()
	select {
	case f := <-first:
		if !isRouting(f) {
			o.err = errors.New("join refused: " + string(f.Data))
			return o
		}
		o.routing, o.event = f.at.Sub(t1), f.Event
	case <-c.done:
		o.err = errors.New(c.closeReason())
	case <-timer.C:
		o.err = errors.New("no routing answer in time")
	case <-ctx.Done():
		o.err = ctx.Err()
	}
	return o
}

func isRouting(f frame) bool {
	return f.Event == "agent:assigned" || f.Event == "agent:unavailable"
}

// stillOpen counts the connections the server has not closed.
func stillOpen(cs []*client) int {
	n := 0
	for _, c := range cs {
		if c.open() {
			n++
		}
	}
	return n
}

// closeReasons summarises why the server closed connections we did not.
func closeReasons(cs []*client) map[string]int {
	out := map[string]int{}
	for _, c := range cs {
		if !c.open() && !c.closed.Load() {
			out[c.closeReason()]++
		}
	}
	return out
}

// sortedKeys returns m's keys, most frequent first.
func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return m[keys[i]] > m[keys[j]] })
	return keys
}
