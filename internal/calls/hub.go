// Package calls owns Greeter's live state: presence, viewers, requests, rings
// and calls. Each organization has one loop, a goroutine that takes that
// organization's commands from a channel and applies them one at a time, so
// no lock guards routing or call state and every race ("accept arrives as the
// ring times out") is decided by the order in which the loop takes events.
//
// Connections never touch this state: they submit commands (see commands.go)
// and receive frames through their Peer.
package calls

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"greeter/internal/clock"
	"greeter/internal/ids"
)

// Peer is one connection as the loop sees it. Its methods never block.
type Peer interface {
	// Send queues a server frame.
	Send(frame []byte)
	// Reply queues the ack frame for client ack number n and remembers it,
	// so that a retried ack gets the same answer.
	Reply(n int, frame []byte)
	// Close closes the connection with a WebSocket close code.
	Close(code int, reason string)
}

// RecordSink receives what the loop writes to the database: call-log
// snapshots, pageviews and presence intents, and agent sessions when it also
// implements StatusSink. Its methods must not block: the loop never waits
// for the database.
type RecordSink interface {
	Save(CallRecord)
	SavePageview(Pageview)
	SavePresenceIntent(PresenceIntent)
}

// Directory loads organization configuration when a loop starts and when
// Reconfigure asks for it again.
type Directory interface {
	OrgConfig(ctx context.Context, org ids.OrgID) (OrgConfig, error)
}

// Options configure a Hub.
type Options struct {
	Clock     clock.Clock
	Logger    *slog.Logger
	Records   RecordSink
	Directory Directory
	// ICE returns the IceConfig handed to a call party (subject is the
	// visitor or agent id it is minted for).
	ICE func(subject string) any
}

// restartWindow is how long after readiness an agent's first connection
// restores the live status it had before a restart (SPEC §6.3).
const restartWindow = 60 * time.Second

// ErrClosed is returned by Submit after Close.
var ErrClosed = errors.New("calls: hub closed")

// Hub routes commands to the loop of their organization, starting loops on
// first use.
type Hub struct {
	opts     Options
	statuses StatusSink // opts.Records, when it records agent sessions

	mu      sync.Mutex
	loops   map[ids.OrgID]*orgLoop
	closed  bool
	readyAt time.Time // zero until Ready
	wg      sync.WaitGroup

	// tokenOrgs maps the hash of every live reconnect token to its
	// organization, so that a request holding only a token (GET
	// /api/ice-servers) finds the loop that knows it. Loops keep it current.
	tokenOrgs sync.Map
}

// Ready tells the hub that the server became ready at t; agents who were
// live before a restart and connect within a minute of t are live again.
func (h *Hub) Ready(t time.Time) {
	h.mu.Lock()
	h.readyAt = t
	h.mu.Unlock()
}

func (h *Hub) readySince() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.readyAt
}

// NewHub returns a Hub. Missing options get working defaults.
func NewHub(opts Options) *Hub {
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.ICE == nil {
		opts.ICE = func(string) any { return map[string]any{"iceServers": []any{}, "ttl": 0} }
	}
	h := &Hub{opts: opts, loops: make(map[ids.OrgID]*orgLoop)}
	h.statuses, _ = opts.Records.(StatusSink)
	return h
}

// Submit hands a command to the loop of org. It blocks only while that
// loop's queue is full, or until ctx ends.
func (h *Hub) Submit(ctx context.Context, org ids.OrgID, cmd Command) error {
	l, err := h.loop(ctx, org)
	if err != nil {
		return err
	}
	select {
	case l.events <- cmd:
		return nil
	case <-l.done:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Load starts org's loop, loading its configuration, if it does not run
// yet. The server loads every organization before it reports ready.
func (h *Hub) Load(ctx context.Context, org ids.OrgID) error {
	_, err := h.loop(ctx, org)
	return err
}

// Flush waits until org's loop has processed every command submitted
// before the call.
func (h *Hub) Flush(ctx context.Context, org ids.OrgID) error {
	done := make(chan struct{})
	if err := h.Submit(ctx, org, barrier{done}); err != nil {
		return err
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops every loop and waits for them.
func (h *Hub) Close() {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return
	}
	h.closed = true
	for _, l := range h.loops {
		close(l.done)
	}
	h.mu.Unlock()
	h.wg.Wait()
}

// loop returns the loop of org, loading its configuration and starting it
// when it does not run yet.
func (h *Hub) loop(ctx context.Context, org ids.OrgID) (*orgLoop, error) {
	h.mu.Lock()
	l, ok := h.loops[org]
	closed := h.closed
	h.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	if ok {
		return l, nil
	}

	cfg, err := h.opts.Directory.OrgConfig(ctx, org)
	if err != nil {
		return nil, fmt.Errorf("calls: unable to load organization %s: %w", org, err)
	}

	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, ErrClosed
	}
	if l, ok := h.loops[org]; ok {
		return l, nil
	}
	l = newOrgLoop(org, cfg, h)
	h.loops[org] = l
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		l.run()
	}()
	return l, nil
}

func (h *Hub) indexToken(t tokenHash, org ids.OrgID) { h.tokenOrgs.Store(t, org) }

func (h *Hub) unindexToken(t tokenHash) { h.tokenOrgs.Delete(t) }

// after runs cmd through org's loop once d has passed on the hub's clock.
func (h *Hub) after(l *orgLoop, d time.Duration, cmd Command) clock.Timer {
	return h.opts.Clock.AfterFunc(d, func() {
		select {
		case l.events <- cmd:
		case <-l.done:
		}
	})
}
