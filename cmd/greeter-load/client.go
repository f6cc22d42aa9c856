package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// Source addresses 127.0.0.2 … 127.0.0.250: each has its own ephemeral ports,
// so tens of thousands of connections to one server port fit.
const (
	firstSource = 2
	sourceCount = 249
)

// closeBudget bounds closing every connection at the end of a run.
const closeBudget = 10 * time.Second

// dialer opens WebSocket connections, each from the next source address.
type dialer struct {
	http *http.Client
	next atomic.Uint32
}

func newDialer() *dialer {
	d := &dialer{}
	d.http = &http.Client{Transport: &http.Transport{
		DialContext:       d.dialContext,
		DisableKeepAlives: true,
	}}
	return d
}

func (d *dialer) dialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	i := d.next.Add(1) % sourceCount
	nd := net.Dialer{
		LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(firstSource+i))},
		Timeout:   10 * time.Second,
	}
	return nd.DialContext(ctx, network, addr)
}

// dial opens a WebSocket to rawURL (http or https) with the given headers.
func (d *dialer) dial(ctx context.Context, rawURL string, h http.Header) (*client, error) {
	wsURL := "ws" + strings.TrimPrefix(rawURL, "http")
	ws, resp, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{
		HTTPClient: d.http,
		HTTPHeader: h,
	})
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("handshake refused: HTTP %d", resp.StatusCode)
		}
		return nil, err
	}
	ws.SetReadLimit(1 << 20)
	return &client{ws: ws, done: make(chan struct{})}, nil
}

// frame is one server frame as the load generator needs it.
type frame struct {
	Event string          `json:"event"`
	Ack   int             `json:"ack"`
	Data  json.RawMessage `json:"data"`
	at    time.Time       // when it was read
}

// ackResult is the common part of an ack's data.
type ackResult struct {
	OK        bool   `json:"ok"`
	RequestID string `json:"requestId"`
	CallID    string `json:"callId"`
	Error     *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func (f frame) ack() ackResult {
	var r ackResult
	if err := json.Unmarshal(f.Data, &r); err != nil {
		r.OK = false
	}
	return r
}

func (r ackResult) err() error {
	if r.OK {
		return nil
	}
	if r.Error == nil {
		return errors.New("ack refused without an error")
	}
	return fmt.Errorf("%s: %s", r.Error.Code, r.Error.Message)
}

// client is one WebSocket connection with a reader goroutine that hands
// every frame to a handler and answers the server's pings.
type client struct {
	ws     *websocket.Conn
	acks   atomic.Int64
	done   chan struct{} // closed when the reader stops
	err    error         // why the reader stopped; read it after done
	closed atomic.Bool   // closed by us, not by the server
}

// read starts the reader goroutine. It stops when the connection ends or
// ctx does.
func (c *client) read(ctx context.Context, handle func(frame)) {
	go func() {
		defer close(c.done)
		for {
			_, b, err := c.ws.Read(ctx)
			at := time.Now()
			if err != nil {
				c.err = err
				if ctx.Err() != nil {
					c.closed.Store(true) // the run's hard cap closed it
				}
				return
			}
			f := frame{at: at}
			if json.Unmarshal(b, &f) == nil {
				handle(f)
			}
		}
	}()
}

// send writes an event with a fresh ack number and returns that number.
func (c *client) send(ctx context.Context, event string, data any) (int, error) {
	n := int(c.acks.Add(1))
	b, err := json.Marshal(struct {
		Event string `json:"event"`
		Data  any    `json:"data"`
		Ack   int    `json:"ack"`
	}{event, data, n})
	if err != nil {
		return 0, err
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return n, c.ws.Write(wctx, websocket.MessageText, b)
}

// open reports whether the reader still runs.
func (c *client) open() bool {
	select {
	case <-c.done:
		return false
	default:
		return true
	}
}

// closeReason describes why the server ended the connection.
func (c *client) closeReason() string {
	if code := websocket.CloseStatus(c.err); code != -1 {
		return fmt.Sprintf("closed by server with %d", code)
	}
	if c.err == nil {
		return "closed"
	}
	return shorten(c.err.Error())
}

// closeAll closes the connections 64 at a time, as pages going away do, and
// drops whatever is left when closeBudget runs out.
func closeAll(cs []*client) {
	ctx, cancel := context.WithTimeout(context.Background(), closeBudget)
	defer cancel()

	jobs := make(chan *client)
	var wg sync.WaitGroup
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range jobs {
				c.closed.Store(true)
				if ctx.Err() != nil {
					_ = c.ws.CloseNow() // out of time: no close handshake
					continue
				}
				// Nothing to do when the server does not answer the close.
				_ = c.ws.Close(websocket.StatusGoingAway, "")
			}
		}()
	}
	for _, c := range cs {
		jobs <- c
	}
	close(jobs)
	wg.Wait()
}

// await returns the first frame from ch, fed by c's reader, that matches,
// waiting at most timeout.
func (c *client) await(ctx context.Context, ch <-chan frame, timeout time.Duration,
	what string, match func(frame) bool) (frame, error) {

	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		select {
		case f := <-ch:
			if match(f) {
				return f, nil
			}
		case <-c.done:
			return drain(ch, match, fmt.Errorf("no %s: %s", what, c.closeReason()))
		case <-t.C:
			return frame{}, fmt.Errorf("no %s within %s", what, timeout)
		case <-ctx.Done():
			return frame{}, ctx.Err()
		}
	}
}

// drain looks through the frames already queued on ch for a match, once
// nothing more can arrive.
func drain(ch <-chan frame, match func(frame) bool, notFound error) (frame, error) {
	for {
		select {
		case f := <-ch:
			if match(f) {
				return f, nil
			}
		default:
			return frame{}, notFound
		}
	}
}

// isAck matches the ack frame for number n.
func isAck(n int) func(frame) bool {
	return func(f frame) bool { return f.Event == "ack" && f.Ack == n }
}

// forward returns a handler that queues frames on ch, dropping them when
// nobody reads.
func forward(ch chan<- frame) func(frame) {
	return func(f frame) {
		select {
		case ch <- f:
		default:
		}
	}
}

// shorten trims an error message for the failure summary.
func shorten(s string) string {
	if i := strings.LastIndex(s, ": "); i >= 0 && len(s) > 80 {
		s = s[i+2:]
	}
	if len(s) > 80 {
		s = s[:80] + "…"
	}
	return s
}
