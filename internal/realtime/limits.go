package realtime

import (
	"bytes"
	"math"
	"time"

	"golang.org/x/time/rate"

	"greeter/internal/protocol"
	"greeter/internal/ratelimit"
)

// Frame-rate abuse: a connection that has more than abuseLimit frames
// refused by its frame rate within abuseWindow (counted from the first
// refusal of the window) is closed with 4008. A client over its rate by a
// little sees RATE_LIMITED errors and stays; one that keeps sending at
// several times its rate is cut off within a few seconds.
const (
	abuseLimit  = 100
	abuseWindow = 10 * time.Second
)

// closeRateLimitedWait is how long a client waits before it reconnects
// after 4008 (SPEC §4.4): the retryAfterSeconds of a refused join.
const closeRateLimitedWait = 30 * time.Second

// frameRate is the rate of frames one connection may send.
type frameRate struct {
	limit rate.Limit
	burst int
}

func newFrameRate(perSecond float64, burst int, scale float64) frameRate {
	return frameRate{
		limit: rate.Limit(perSecond * scale),
		burst: max(1, int(math.Ceil(float64(burst)*scale))),
	}
}

func (fr frameRate) limiter() *rate.Limiter { return rate.NewLimiter(fr.limit, fr.burst) }

// limits are the realtime rate limits of SPEC §16.2, each already multiplied
// by GREETER_RATE_LIMIT_SCALE.
type limits struct {
	visitorIP  *ratelimit.Set // visitor connections and joins per client IP
	visitorOrg *ratelimit.Set // visitor connections and joins per organization

	requestVisitor *ratelimit.Set // call:request per visitor id
	requestIP      *ratelimit.Set // call:request per client IP
	requestOrg     *ratelimit.Set // call:request per organization

	visitorFrames frameRate
	agentFrames   frameRate
}

func newLimits(scale float64) limits {
	if scale <= 0 {
		scale = 1
	}
	return limits{
		visitorIP:  ratelimit.NewSet(120, time.Minute, scale),
		visitorOrg: ratelimit.NewSet(3000, time.Minute, scale),

		requestVisitor: ratelimit.NewSet(5, time.Minute, scale),
		requestIP:      ratelimit.NewSet(6, 10*time.Minute, scale),
		requestOrg:     ratelimit.NewSet(120, time.Minute, scale),

		visitorFrames: newFrameRate(20, 50, scale),
		agentFrames:   newFrameRate(50, 50, scale),
	}
}

// allowFrame spends one frame of the connection's rate. When none is left
// it returns the RATE_LIMITED error to answer with.
func (c *conn) allowFrame(now time.Time) *protocol.Error {
	if c.frames.AllowN(now, 1) {
		return nil
	}
	tokens := c.frames.TokensAt(now)
	wait := time.Duration((1 - tokens) / float64(c.frames.Limit()) * float64(time.Second))
	return protocol.RateLimited(ratelimit.Seconds(wait))
}

// countRefused records a frame refused by the frame rate and reports whether
// the connection has now been refused too often and must be closed.
func (c *conn) countRefused(now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()

	if c.refused == 0 || now.Sub(c.refusedSince) >= abuseWindow {
		c.refused, c.refusedSince = 0, now
	}
	c.refused++
	return c.refused > abuseLimit
}

// Frame prefixes that tell a visitor connection its call began or ended;
// protocol.Encode always writes the event first.
var (
	callAcceptedPrefix    = []byte(`{"event":"` + protocol.EventCallAccepted + `"`)
	callReconnectedPrefix = []byte(`{"event":"` + protocol.EventCallReconnected + `"`)
	callEndedPrefix       = []byte(`{"event":"` + protocol.EventCallEnded + `"`)
)

// noteCall follows, from the frames the organization loop sends, whether a
// visitor is in a call: SPEC §8.1 answers VISITOR_ALREADY_IN_CALL before any
// rate limit, so a request during a call goes to the loop unlimited.
func (c *conn) noteCall(frame []byte) {
	switch {
	case bytes.HasPrefix(frame, callAcceptedPrefix), bytes.HasPrefix(frame, callReconnectedPrefix):
		c.inCall.Store(true)
	case bytes.HasPrefix(frame, callEndedPrefix):
		c.inCall.Store(false)
	}
}
