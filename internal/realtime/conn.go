package realtime

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"greeter/internal/protocol"
)

// Connection limits and timings (SPEC §4.3, §19).
const (
	maxSendQueue    = 4 << 20
	pingInterval    = 25 * time.Second
	livenessTimeout = 60 * time.Second
	writeTimeout    = 10 * time.Second
	ackMemory       = 64
	invalidLimit    = 20
	invalidWindow   = 60 * time.Second
)

// conn is one WebSocket connection. Its reader runs in the HTTP handler's
// goroutine; a writer goroutine drains a byte-bounded queue, so the
// organization loop never waits on a socket. It implements calls.Peer.
type conn struct {
	ws  *websocket.Conn
	log *slog.Logger

	mu          sync.Mutex
	queue       [][]byte
	queued      int
	closed      bool
	closing     int // close code waiting for the queue to drain; 0 when open
	closeReason string
	acks        map[int][]byte // ack number → reply; nil reply while in flight
	ackSeen     []int          // ack numbers, oldest first, at most ackMemory
	invalid     []time.Time    // recent invalid frames
	wake        chan struct{}
	done        chan struct{}

	lastSeen atomic.Int64 // unix nanoseconds of the last frame or pong
}

func newConn(ws *websocket.Conn, log *slog.Logger) *conn {
	c := &conn{
		ws:   ws,
		log:  log,
		acks: make(map[int][]byte),
		wake: make(chan struct{}, 1),
		done: make(chan struct{}),
	}
	c.seen()
	return c
}

func (c *conn) seen() { c.lastSeen.Store(time.Now().UnixNano()) }

// Send queues a frame. A client whose queue passes maxSendQueue is too slow
// to keep up and is disconnected with 4001; nobody else waits for it.
func (c *conn) Send(frame []byte) {
	c.mu.Lock()
	if c.closed || c.closing != 0 {
		c.mu.Unlock()
		return
	}
	if c.queued+len(frame) > maxSendQueue {
		c.mu.Unlock()
		c.closeNow(protocol.CloseConnectionLost, "slow consumer")
		return
	}
	c.queue = append(c.queue, frame)
	c.queued += len(frame)
	c.mu.Unlock()

	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// Reply sends the answer to ack n and remembers it for retries.
func (c *conn) Reply(n int, frame []byte) {
	c.mu.Lock()
	if _, ok := c.acks[n]; ok {
		c.acks[n] = frame
	}
	c.mu.Unlock()
	c.Send(frame)
}

// Close closes the connection with code once the frames already queued are
// written, so a last call:ended reaches the client before the close. It
// returns at once; the writer goroutine finishes the job.
func (c *conn) Close(code int, reason string) {
	c.mu.Lock()
	if c.closed || c.closing != 0 {
		c.mu.Unlock()
		return
	}
	c.closing, c.closeReason = code, reason
	c.mu.Unlock()

	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// closeNow drops whatever is queued and closes at once: for a client that
// is too slow or already gone.
func (c *conn) closeNow(code int, reason string) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	c.queue, c.queued = nil, 0
	c.mu.Unlock()

	close(c.done)
	go func() {
		// The error only says the peer did not finish the handshake.
		_ = c.ws.Close(websocket.StatusCode(code), reason)
	}()
}

// beginAck registers ack n as in flight. It reports false when n was used
// within the last ackMemory frames, after resending a cached reply if there
// is one.
func (c *conn) beginAck(n int) bool {
	c.mu.Lock()
	reply, used := c.acks[n]
	if !used {
		c.acks[n] = nil
		c.ackSeen = append(c.ackSeen, n)
		if len(c.ackSeen) > ackMemory {
			delete(c.acks, c.ackSeen[0])
			c.ackSeen = c.ackSeen[1:]
		}
	}
	c.mu.Unlock()

	if used && reply != nil {
		c.Send(reply)
	}
	return !used
}

// fail answers a frame that could not be processed: in its ack when it has
// one, otherwise with an error event.
func (c *conn) fail(f protocol.Frame, perr *protocol.Error) {
	if f.Ack > 0 {
		c.Reply(f.Ack, protocol.EncodeAck(f.Ack, nil, perr))
		return
	}
	c.Send(protocol.EncodeError(perr, f.Event))
}

// countInvalid records an invalid frame and reports whether the client has
// now sent too many of them and must be cut off.
func (c *conn) countInvalid(now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()

	recent := c.invalid[:0]
	for _, t := range c.invalid {
		if now.Sub(t) < invalidWindow {
			recent = append(recent, t)
		}
	}
	c.invalid = append(recent, now)
	return len(c.invalid) > invalidLimit
}

// writeLoop sends queued frames in order and pings the client. Its context
// must outlive the HTTP handler: a write cancelled half-way would drop the
// connection without its close code.
func (c *conn) writeLoop(ctx context.Context) {
	ticker := time.NewTicker(pingInterval)
	defer ticker.Stop()

	for {
		select {
		case <-c.done:
			return
		case <-ctx.Done():
			return
		case <-c.wake:
			if !c.flush(ctx) {
				return
			}
		case <-ticker.C:
			if !c.ping(ctx) {
				return
			}
		}
	}
}

// flush writes every queued frame, then performs a pending Close. It
// reports whether the connection is still open.
func (c *conn) flush(ctx context.Context) bool {
	for {
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			return false
		}
		if len(c.queue) == 0 {
			code, reason := c.closing, c.closeReason
			c.mu.Unlock()
			if code != 0 {
				c.closeNow(code, reason)
				return false
			}
			return true
		}
		frame := c.queue[0]
		c.queue[0] = nil
		c.queue = c.queue[1:]
		c.queued -= len(frame)
		c.mu.Unlock()

		wctx, cancel := context.WithTimeout(ctx, writeTimeout)
		err := c.ws.Write(wctx, websocket.MessageText, frame)
		cancel()
		if err != nil {
			c.log.Debug("realtime: write failed", "err", err)
			c.closeNow(protocol.CloseConnectionLost, "write failed")
			return false
		}
	}
}

// ping checks liveness: a client that sent nothing and answered no ping for
// livenessTimeout is treated as lost.
func (c *conn) ping(ctx context.Context) bool {
	pctx, cancel := context.WithTimeout(ctx, pingInterval-time.Second)
	err := c.ws.Ping(pctx)
	cancel()
	if err == nil {
		c.seen()
		return true
	}
	if errors.Is(err, context.Canceled) {
		return false
	}
	if time.Since(time.Unix(0, c.lastSeen.Load())) > livenessTimeout {
		c.closeNow(protocol.CloseConnectionLost, "connection lost")
		return false
	}
	return true
}
