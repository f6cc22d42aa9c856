// Package realtime serves Greeter's WebSocket endpoints, /ws/visitor and
// /ws/agent (SPEC §4). It admits connections, decodes and validates frames,
// and hands commands to the organization loops of internal/calls; it never
// touches routing or call state itself.
package realtime

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"greeter/internal/auth"
	"greeter/internal/calls"
	"greeter/internal/ids"
	"greeter/internal/protocol"
	"greeter/internal/store"
)

// Options configure a Server.
type Options struct {
	Hub      *calls.Hub
	Store    *store.Store
	Sessions *auth.Sessions
	Logger   *slog.Logger
	// PublicURL is the dashboard's external URL: /ws/agent accepts only its
	// origin, and greeting video URLs are built on it.
	PublicURL string
	// Secret signs visitor ids so that only ids this server issued are reused.
	Secret []byte
	// Settings returns the effective widget settings of a site and its
	// trigger delay.
	Settings func(store.Org, store.Site) (any, time.Duration)
	// Now defaults to time.Now. Rate limits use it too.
	Now func() time.Time
	// RateLimitScale multiplies every rate limit (GREETER_RATE_LIMIT_SCALE);
	// 0 means 1.
	RateLimitScale float64
}

// Server serves the two WebSocket endpoints.
type Server struct {
	opts     Options
	origin   string
	limits   limits
	verified sync.Map // site ids whose embed is already marked verified
	conns    sync.Map // every open *conn
	draining atomic.Bool
	wg       sync.WaitGroup
}

// New returns a Server.
func New(opts Options) *Server {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Server{opts: opts, origin: originOf(opts.PublicURL),
		limits: newLimits(opts.RateLimitScale)}
}

// Register adds the endpoints to mux.
func (s *Server) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /ws/visitor", s.serveVisitor)
	mux.HandleFunc("GET /ws/agent", s.serveAgent)
}

// CloseAll closes every connection with 4000 (server restarting), which
// tells clients to reconnect, and from then on closes each new one the same
// way as soon as it opens: a client that reconnects while the server shuts
// down is told to try again, never left on a server that is going away.
func (s *Server) CloseAll() {
	s.draining.Store(true)
	s.conns.Range(func(k, _ any) bool {
		k.(*conn).Close(protocol.CloseServerRestarting, "server_restarting")
		return true
	})
}

// Wait blocks until the background writes started by connections are done.
func (s *Server) Wait() { s.wg.Wait() }

// sameOrLoopbackOrigin reports whether origin is the server's public origin
// or, when that is on loopback, the same scheme and port under another
// loopback name: localhost, 127.0.0.1 and [::1] are one machine, and a
// browser opened at any of them is the operator's own.
func sameOrLoopbackOrigin(origin, public string) bool {
	if origin == public {
		return true
	}
	o, err1 := url.Parse(origin)
	p, err2 := url.Parse(public)
	return err1 == nil && err2 == nil && o.Scheme == p.Scheme && o.Port() == p.Port() &&
		o.Path == "" && isLoopback(o.Hostname()) && isLoopback(p.Hostname())
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func originOf(rawURL string) string {
	rawURL = strings.TrimRight(rawURL, "/")
	if i := strings.Index(rawURL, "://"); i >= 0 {
		if j := strings.IndexByte(rawURL[i+3:], '/'); j >= 0 {
			return rawURL[:i+3+j]
		}
	}
	return rawURL
}

// upgradeRequired answers a plain HTTP request to a WebSocket path.
func upgradeRequired(w http.ResponseWriter, r *http.Request) bool {
	if strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		return false
	}
	writeJSON(w, http.StatusBadRequest, map[string]string{
		"error": "WebSocket upgrade required", "code": "BAD_REQUEST",
	})
	return true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	// The client may be gone; there is nobody left to tell.
	_ = json.NewEncoder(w).Encode(v)
}

// accept upgrades the request. Origins are checked by Greeter itself, after
// the upgrade for visitors (so the widget can read the close code) and
// before it for agents.
func accept(w http.ResponseWriter, r *http.Request, limit int64) (*websocket.Conn, error) {
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		return nil, err
	}
	ws.SetReadLimit(limit)
	return ws, nil
}

// refuse closes a freshly upgraded connection with a close code.
func refuse(ws *websocket.Conn, code int, reason string) {
	_ = ws.Close(websocket.StatusCode(code), reason)
}

// readLoop reads frames until the connection ends and hands each to handle.
func (s *Server) readLoop(ctx context.Context, c *conn, handle func(protocol.Frame)) {
	s.conns.Store(c, struct{}{})
	defer s.conns.Delete(c)
	if s.draining.Load() { // after Store: CloseAll either saw c or set this first
		c.Close(protocol.CloseServerRestarting, "server_restarting")
	}
	for {
		typ, b, err := c.ws.Read(ctx)
		if err != nil {
			if websocket.CloseStatus(err) == -1 && !errors.Is(err, context.Canceled) {
				c.log.Debug("realtime: read ended", "err", err)
			}
			if errors.Is(err, websocket.ErrMessageTooBig) {
				c.closeNow(protocol.CloseMessageTooBig, "frame too large")
			}
			c.closeNow(protocol.CloseConnectionLost, "connection lost")
			return
		}
		c.seen()
		if typ != websocket.MessageText {
			c.Close(protocol.CloseProtocolViolation, "binary frames are not accepted")
			return
		}
		if ok, closing := s.allowFrame(c, b); !ok {
			if closing {
				return
			}
			continue
		}

		f, perr := protocol.Decode(b)
		if perr == nil {
			perr = checkDataSize(f)
		}
		if perr != nil {
			c.fail(f, perr)
			if c.countInvalid(s.opts.Now()) {
				c.Close(protocol.CloseProtocolViolation, "too many invalid frames")
				return
			}
			continue
		}
		if f.Ack > 0 && !c.beginAck(f.Ack) {
			continue
		}
		handle(f)
	}
}

// allowFrame applies the connection's frame rate. A refused frame is
// answered with RATE_LIMITED and goes no further: it is not counted as
// invalid, and its ack number is not remembered, so a retry after the wait
// runs. It reports whether the frame may be processed, and closing whether
// the connection has been refused too often and is closing with 4008.
func (s *Server) allowFrame(c *conn, b []byte) (ok, closing bool) {
	now := s.opts.Now()
	perr := c.allowFrame(now)
	if perr == nil {
		return true, false
	}

	f, _ := protocol.Decode(b) // only for the event and ack number
	if f.Ack > 0 {
		c.Send(protocol.EncodeAck(f.Ack, nil, perr))
	} else {
		c.Send(protocol.EncodeError(perr, f.Event))
	}
	if c.countRefused(now) {
		c.log.Info("realtime: closing a connection over its frame rate")
		c.Close(protocol.CloseRateLimited, "rate_limited")
		return false, true
	}
	return false, false
}

func checkDataSize(f protocol.Frame) *protocol.Error {
	limit := protocol.MaxControlData
	if f.Event == protocol.EventSignal {
		limit = protocol.MaxSignalData
	}
	if len(f.Data) > limit {
		return protocol.Errorf(protocol.CodePayloadTooLarge, "data is too large for this event.")
	}
	return nil
}

// invalid reports a frame whose data failed validation and counts it.
func (s *Server) invalid(c *conn, f protocol.Frame, perr *protocol.Error) {
	c.fail(f, perr)
	if c.countInvalid(s.opts.Now()) {
		c.Close(protocol.CloseProtocolViolation, "too many invalid frames")
	}
}

// submit hands a command to the loop and reports whether it did; when that
// fails the client hears of it.
func (s *Server) submit(ctx context.Context, c *conn, f protocol.Frame, org ids.OrgID,
	cmd calls.Command) bool {

	if err := s.opts.Hub.Submit(ctx, org, cmd); err != nil {
		if ctx.Err() == nil {
			c.log.Error("realtime: unable to submit command", "event", f.Event, "err", err)
			c.fail(f, protocol.ErrInternal)
		}
		return false
	}
	return true
}

// reconnectNotFound answers a call:reconnect whose token cannot be one the
// server made, as the loop answers an unknown one.
func reconnectNotFound(c *conn, f protocol.Frame) {
	c.Send(protocol.Encode(protocol.EventCallReconnectFailed, map[string]any{
		"callId":  nil,
		"reason":  "not_found",
		"message": "We couldn't find this call.",
	}))
	if f.Ack > 0 {
		c.Reply(f.Ack, protocol.EncodeAck(f.Ack, nil, protocol.ErrCallNotFound))
	}
}

// AgentCard is what visitors see of an agent's profile, with media URLs
// under origin (SPEC §5).
func AgentCard(origin string, p store.AgentProfile) protocol.AgentCard {
	card := protocol.AgentCard{
		ID:          p.ID,
		DisplayName: p.DisplayName,
		Videos:      Videos(origin, p.WaveVideo, p.IntroVideo, p.LoopVideo),
	}
	if p.Avatar != "" {
		avatar := MediaURL(origin, p.Avatar)
		card.AvatarURL = &avatar
	}
	return card
}

// Videos are the greeting video URLs of media names under origin; the wave
// is null when there is none.
func Videos(origin, wave, intro, loop string) protocol.Videos {
	v := protocol.Videos{Intro: MediaURL(origin, intro), Loop: MediaURL(origin, loop)}
	if wave != "" {
		w := MediaURL(origin, wave)
		v.Wave = &w
	}
	return v
}

// MediaURL is the public URL of a stored media file, or "" for none.
func MediaURL(origin, name string) string {
	if name == "" {
		return ""
	}
	return origin + "/media/" + name
}
