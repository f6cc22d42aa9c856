package realtime

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"greeter/internal/clock"
	"greeter/internal/ratelimit"
)

// frozen gives the server a clock that moves only when the test says, so
// that no bucket refills while a test crosses a limit.
func frozen(clk *clock.Fake) func(*Options) {
	return func(o *Options) { o.Now = clk.Now }
}

func scaled(scale float64) func(*Options) {
	return func(o *Options) { o.RateLimitScale = scale }
}

// rateLimited checks that an ack failed with RATE_LIMITED and carries
// retryAfterSeconds, and returns it.
func rateLimited(t *testing.T, what string, d map[string]any) int {
	t.Helper()
	e, _ := d["error"].(map[string]any)
	if d["ok"] != false || e["code"] != "RATE_LIMITED" || e["message"] == "" {
		t.Fatalf("%s: %v, want RATE_LIMITED", what, d)
	}
	secs, _ := e["retryAfterSeconds"].(float64)
	if secs < 1 {
		t.Fatalf("%s: retryAfterSeconds = %v", what, e["retryAfterSeconds"])
	}
	return int(secs)
}

func wantClose(t *testing.T, c *client, code websocket.StatusCode) {
	t.Helper()
	if got := c.waitClosed(); got != code {
		t.Fatalf("%s closed with %d, want %d", c.name, got, code)
	}
}

func TestVisitorConnectionsAndJoinsAreLimitedPerIP(t *testing.T) {
	clk := clock.NewFake(time.Now())
	// At 1/40 an address may connect or join 3 times a minute.
	w := newWorld(t, frozen(clk), scaled(1.0/40))

	first := w.visitor("first", w.acme)   // 1
	join(first, shopOrigin)               // 2
	second := w.visitor("second", w.acme) // 3
	if secs := rateLimited(t, "fourth use",
		second.call("visitor:join", map[string]any{"pageUrl": shopOrigin + "/"})); secs != 30 {
		t.Errorf("retryAfterSeconds = %d, want 30", secs)
	}
	wantClose(t, second, 4008)
	wantClose(t, w.visitor("refused", w.acme), 4008)

	// Another address, and the first visitor's open connection, are unaffected.
	other := w.visitorFrom("127.0.0.2", "other address", w.acme)
	join(other, shopOrigin)
	first.fails("call:request", nil, "AGENT_UNAVAILABLE")

	clk.Advance(time.Minute)
	join(w.visitor("a minute later", w.acme), shopOrigin)
}

func TestVisitorConnectionsAreLimitedPerOrganization(t *testing.T) {
	w := newWorld(t)
	w.rt.limits.visitorOrg = ratelimit.NewSet(3, time.Minute, 1)

	join(w.visitorFrom("127.0.0.2", "one", w.acme), shopOrigin)
	w.visitorFrom("127.0.0.3", "two", w.acme) // the organization's third use
	wantClose(t, w.visitorFrom("127.0.0.4", "three", w.acme), 4008)

	join(w.visitorFrom("127.0.0.4", "other org", w.globex), otherOrigin)
}

func TestCallRequestLimits(t *testing.T) {
	tests := []struct {
		name string
		// cross spends the limit and returns the refused ack, and a joined
		// visitor the limit does not cover.
		cross func(w *world) (refused map[string]any, unaffected *client)
		retry int
	}{
		{"5 a minute per visitor", func(w *world) (map[string]any, *client) {
			v := w.visitor("v", w.acme)
			join(v, shopOrigin)
			for range 5 {
				v.fails("call:request", nil, "AGENT_UNAVAILABLE")
			}
			same := w.visitor("same address", w.acme)
			join(same, shopOrigin)
			return v.call("call:request", nil), same
		}, 12},
		{"6 in 10 minutes per IP", func(w *world) (map[string]any, *client) {
			for i := range 3 {
				v := w.visitor("v", w.acme)
				join(v, shopOrigin)
				v.fails("call:request", nil, "AGENT_UNAVAILABLE")
				v.fails("call:request", nil, "AGENT_UNAVAILABLE")
				if i == 2 {
					other := w.visitorFrom("127.0.0.2", "other address", w.acme)
					join(other, shopOrigin)
					return v.call("call:request", nil), other
				}
			}
			panic("unreachable")
		}, 100},
		{"per organization", func(w *world) (map[string]any, *client) {
			w.rt.limits.requestOrg = ratelimit.NewSet(2, time.Minute, 1)
			v := w.visitorFrom("127.0.0.2", "v", w.acme)
			join(v, shopOrigin)
			v.fails("call:request", nil, "AGENT_UNAVAILABLE")
			u := w.visitorFrom("127.0.0.3", "u", w.acme)
			join(u, shopOrigin)
			u.fails("call:request", nil, "AGENT_UNAVAILABLE")
			other := w.visitorFrom("127.0.0.3", "other org", w.globex)
			join(other, otherOrigin)
			return v.call("call:request", nil), other
		}, 30},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, frozen(clock.NewFake(time.Now())))
			refused, unaffected := tt.cross(w)
			if got := rateLimited(t, "over the limit", refused); got != tt.retry {
				t.Errorf("retryAfterSeconds = %d, want %d", got, tt.retry)
			}
			unaffected.fails("call:request", nil, "AGENT_UNAVAILABLE")
		})
	}
}

func TestCallRequestChecksAlreadyInCallBeforeLimits(t *testing.T) {
	w := newWorld(t, frozen(clock.NewFake(time.Now())))
	w.rt.limits.requestVisitor = ratelimit.NewSet(1, time.Minute, 1)
	ava := w.agent("ava", w.acme)
	ava.must("agent:back", nil)
	v := w.visitor("v", w.acme)
	join(v, shopOrigin)

	// Not joined comes first of all.
	w.visitor("not joined", w.acme).fails("call:request", nil, "NOT_JOINED")

	reqID := v.must("call:request", nil)["requestId"]
	ava.expect("call:incoming")
	callID := ava.must("call:accept", map[string]any{"requestId": reqID})["callId"]
	v.expect("call:accepted")
	v.fails("call:request", nil, "VISITOR_ALREADY_IN_CALL")

	v.must("call:end", map[string]any{"callId": callID})
	v.expect("call:ended")
	rateLimited(t, "after the call", v.call("call:request", nil))
}

func TestFrameRateLimits(t *testing.T) {
	tests := []struct {
		name  string
		open  func(w *world) *client
		frame string // a frame that succeeds, sent with an ack number
		data  any
		burst int
	}{
		{"visitor: 20/s, burst 50", func(w *world) *client {
			v := w.visitor("v", w.acme)
			join(v, shopOrigin)
			return v
		}, "call:cancel", nil, 49}, // the join was the first frame
		{"agent: 50/s", func(w *world) *client {
			return w.agent("ava", w.acme)
		}, "heartbeat", nil, 50},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := clock.NewFake(time.Now())
			w := newWorld(t, frozen(clk))
			c := tt.open(w)
			for i := range tt.burst {
				if d := c.call(tt.frame, tt.data); d["ok"] != true {
					t.Fatalf("frame %d: %v", i+1, d)
				}
			}
			if secs := rateLimited(t, "over the rate", c.call(tt.frame, tt.data)); secs != 1 {
				t.Errorf("retryAfterSeconds = %d, want 1", secs)
			}

			// Without an ack number the refusal is an error event.
			c.sendRaw(`{"event":"` + tt.frame + `"}`)
			e := c.expect("error")
			if e["code"] != "RATE_LIMITED" || e["retryAfterSeconds"] != float64(1) {
				t.Fatalf("error = %v", e)
			}

			// Others are unaffected, and a second later the connection may
			// send again.
			other := w.visitor("other", w.acme)
			join(other, shopOrigin)
			clk.Advance(time.Second)
			c.must(tt.frame, tt.data)
		})
	}
}

func TestSustainedFrameAbuseCloses4008(t *testing.T) {
	w := newWorld(t, frozen(clock.NewFake(time.Now())))
	v := w.visitor("abuser", w.acme)
	join(v, shopOrigin)
	calm := w.visitor("calm", w.acme)
	join(calm, shopOrigin)

	for range 49 {
		v.must("call:cancel", nil)
	}
	// abuseLimit refusals keep the connection open; one more closes it.
	for range abuseLimit {
		rateLimited(t, "refused", v.call("call:cancel", nil))
	}
	v.sendRaw(`{"event":"call:cancel"}`)
	wantClose(t, v, 4008)

	calm.must("call:cancel", nil)
}

func TestSignalDataOverLimitIsRefusedAndConnectionStays(t *testing.T) {
	w := newWorld(t)
	v := w.visitor("v", w.acme)
	join(v, shopOrigin)

	big := map[string]any{"callId": "call_x", "signal": map[string]any{
		"type": "offer", "sdp": strings.Repeat("a", 64<<10)}}
	v.fails("webrtc:signal", big, "PAYLOAD_TOO_LARGE")
	v.fails("webrtc:signal", map[string]any{"callId": "call_x", "signal": map[string]any{
		"type": "offer", "sdp": strings.Repeat("a", 60<<10)}}, "CALL_NOT_FOUND")
	v.must("call:cancel", nil)
}

// TestSlowClientIsClosedAndOthersKeepTheirFrames: a visitor that stops
// reading while its agent floods it with signals is closed with 4001 once
// its send queue passes 4 MiB; another call on the same server keeps
// relaying meanwhile.
func TestSlowClientIsClosedAndOthersKeepTheirFrames(t *testing.T) {
	w := newWorld(t, scaled(1000)) // the flood must not hit the frame rate
	ava, ben := w.agent("ava", w.acme), w.agent("ben", w.acme)
	slow := w.dialQuiet("slow", w.acme)
	slowCall := slow.startCall(t, ava)

	ben.must("agent:back", nil)
	fast := w.visitor("fast", w.acme)
	join(fast, shopOrigin)
	reqID := fast.must("call:request", nil)["requestId"]
	ben.expect("call:incoming")
	fastCall := ben.must("call:accept", map[string]any{"requestId": reqID})["callId"]
	fast.expect("call:accepted")

	sdp := strings.Repeat("s", 60<<10)
	for i := 0; !w.slowVisitorClosed(); i++ {
		if i > 2000 {
			t.Fatal("the slow visitor was never closed")
		}
		ava.sendRaw(`{"event":"webrtc:signal","data":{"callId":"` + slowCall +
			`","signal":{"type":"offer","sdp":"` + sdp + `"}}}`)
		if i%20 == 0 {
			// The other call keeps relaying while the slow visitor is stuck.
			ben.must("webrtc:signal", map[string]any{"callId": fastCall,
				"signal": map[string]any{"type": "offer", "sdp": "v=0"}})
			fast.expect("webrtc:signal")
		}
	}

	// Reading again, the slow visitor finds the close code after whatever
	// the socket still held.
	if code := slow.drain(); code != 4001 {
		t.Fatalf("slow visitor closed with %d, want 4001", code)
	}
	ben.must("webrtc:signal", map[string]any{"callId": fastCall,
		"signal": map[string]any{"type": "answer", "sdp": "v=0"}})
	fast.expect("webrtc:signal")
}

// slowVisitorClosed reports whether the server has closed a visitor
// connection that is still registered, which only the slow one can be.
func (w *world) slowVisitorClosed() bool {
	found := false
	w.rt.conns.Range(func(k, _ any) bool {
		c := k.(*conn)
		c.mu.Lock()
		found = c.trackCalls && c.closed
		c.mu.Unlock()
		return !found
	})
	return found
}

// quietVisitor is a visitor connection that reads only when asked.
type quietVisitor struct {
	t  *testing.T
	ws *websocket.Conn
}

func (w *world) dialQuiet(name string, tn tenant) *quietVisitor {
	w.t.Helper()
	url := "ws" + strings.TrimPrefix(w.srv.URL, "http") + "/ws/visitor?siteKey=" + tn.site.SiteKey
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{
		HTTPHeader: map[string][]string{"Origin": {tn.site.AllowedOrigins[0]}}})
	if err != nil {
		w.t.Fatalf("%s: %v", name, err)
	}
	ws.SetReadLimit(1 << 20)
	w.t.Cleanup(func() { ws.CloseNow() })
	return &quietVisitor{t: w.t, ws: ws}
}

// startCall joins, has agent accept a call, and returns its id. From then
// on the visitor reads nothing until drain.
func (q *quietVisitor) startCall(t *testing.T, agent *client) string {
	t.Helper()
	agent.must("agent:back", nil)
	q.write(`{"event":"visitor:join","data":{"pageUrl":"` + shopOrigin + `/"},"ack":1}`)
	q.readUntil(`"ack":1`)
	q.write(`{"event":"call:request","data":{},"ack":2}`)
	reqID := agent.expect("call:incoming")["requestId"]
	callID := agent.must("call:accept", map[string]any{"requestId": reqID})["callId"].(string)
	q.readUntil(`"call:accepted"`)
	return callID
}

func (q *quietVisitor) write(s string) {
	q.t.Helper()
	if err := q.ws.Write(context.Background(), websocket.MessageText, []byte(s)); err != nil {
		q.t.Fatal(err)
	}
}

func (q *quietVisitor) readUntil(substr string) {
	q.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		_, b, err := q.ws.Read(ctx)
		if err != nil {
			q.t.Fatalf("waiting for %s: %v", substr, err)
		}
		if strings.Contains(string(b), substr) {
			return
		}
	}
}

// drain reads every frame left and returns the close code.
func (q *quietVisitor) drain() websocket.StatusCode {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		if _, _, err := q.ws.Read(ctx); err != nil {
			return websocket.CloseStatus(err)
		}
	}
}
