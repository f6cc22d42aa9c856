package realtime

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"golang.org/x/time/rate"

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
// goroutine. Frames wait in a byte-bounded queue, so the organization loop
// never waits on a socket; a writer goroutine exists only while there is
// something to write, and pings run from a timer, so an idle connection holds
// one goroutine and no write buffers of its own. It implements calls.Peer.
type conn struct {
	ws  *websocket.Conn
	log *slog.Logger

	mu          sync.Mutex
	queue       [][]byte
	queued      int
	writing     bool // a writer goroutine is draining the queue
	closed      bool
	closing     int // close code waiting for the queue to drain; 0 when open
	closeReason string
	pinger      *time.Timer
	acks        map[int][]byte // ack number → reply; nil reply while in flight
	ackSeen     []int          // ack numbers, oldest first, at most ackMemory
	invalid     []time.Time    // recent invalid frames

	frames       *rate.Limiter // the frame rate; only the reader uses it
	refused      int           // frames refused by it since refusedSince
	refusedSince time.Time

	trackCalls bool        // a visitor's: follow inCall from the frames sent
	inCall     atomic.Bool // the loop has told this visitor of a call, not yet ended

	lastSeen atomic.Int64 // unix nanoseconds of the last frame or pong
}

func newConn(ws *websocket.Conn, log *slog.Logger, fr frameRate) *conn {
	c := &conn{ws: ws, log: log, acks: make(map[int][]byte), frames: fr.limiter()}
	c.seen()
	c.mu.Lock()
	c.pinger = time.AfterFunc(pingInterval, c.ping)
	c.mu.Unlock()
	return c
}

func (c *conn) seen() { c.lastSeen.Store(time.Now().UnixNano()) }

// Send queues a frame. A client whose queue passes maxSendQueue is too slow
// to keep up and is disconnected with 4001; nobody else waits for it.
func (c *conn) Send(frame []byte) {
	if c.trackCalls {
		c.noteCall(frame)
	}
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
	start := c.startWriter()
	c.mu.Unlock()

	if start {
		go c.write()
	}
}

// startWriter reports whether the caller must start a writer goroutine,
// marking one as running. c.mu must be held.
func (c *conn) startWriter() bool {
	if c.writing {
		return false
	}
	c.writing = true
	return true
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
// returns at once; the writer finishes the job.
func (c *conn) Close(code int, reason string) {
	c.mu.Lock()
	if c.closed || c.closing != 0 {
		c.mu.Unlock()
		return
	}
	c.closing, c.closeReason = code, reason
	start := c.startWriter()
	c.mu.Unlock()

	if start {
		go c.write()
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
	c.pinger.Stop()
	c.mu.Unlock()

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

// write sends queued frames in order until the queue is empty, then
// performs a pending Close and exits. Only one runs at a time.
func (c *conn) write() {
	for {
		c.mu.Lock()
		if c.closed || len(c.queue) == 0 {
			code, reason := c.closing, c.closeReason
			closed := c.closed
			c.writing = false
			c.mu.Unlock()
			if !closed && code != 0 {
				c.closeNow(code, reason)
			}
			return
		}
		frame := c.queue[0]
		c.queue[0] = nil
		c.queue = c.queue[1:]
		c.queued -= len(frame)
		c.mu.Unlock()

		ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
		err := c.ws.Write(ctx, websocket.MessageText, frame)
		cancel()
		if err != nil {
			c.log.Debug("realtime: write failed", "err", err)
			c.closeNow(protocol.CloseConnectionLost, "write failed")
		}
	}
}

// ping runs from a timer every pingInterval. A client that sent nothing and
// answered no ping for livenessTimeout is treated as lost.
func (c *conn) ping() {
	ctx, cancel := context.WithTimeout(context.Background(), pingInterval-time.Second)
	err := c.ws.Ping(ctx)
	cancel()
	if err == nil {
		c.seen()
	}
	if time.Since(time.Unix(0, c.lastSeen.Load())) > livenessTimeout {
		c.closeNow(protocol.CloseConnectionLost, "connection lost")
		return
	}

	c.mu.Lock()
	if !c.closed {
		c.pinger.Reset(pingInterval)
	}
	c.mu.Unlock()
}
