package realtime

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/coder/websocket"

	"greeter/internal/auth"
	"greeter/internal/calls"
	"greeter/internal/ids"
	"greeter/internal/protocol"
	"greeter/internal/ratelimit"
	"greeter/internal/store"
)

// visitorSession is what one visitor connection knows of itself.
type visitorSession struct {
	conn   *conn
	org    store.Org
	site   store.Site
	origin string
	ip     string // the client IP its connection and call limits count against
	joined bool
	id     ids.VisitorID
}

func (s *Server) serveVisitor(w http.ResponseWriter, r *http.Request) {
	if upgradeRequired(w, r) {
		return
	}
	ctx := r.Context()
	site, siteErr := s.opts.Store.SiteByKey(ctx, r.URL.Query().Get("siteKey"))
	if siteErr != nil && !errors.Is(siteErr, store.ErrNotFound) {
		s.opts.Logger.Error("realtime: unable to load site", "err", siteErr)
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
		return
	}
	ws, err := accept(w, r, protocol.MaxVisitorFrame)
	if err != nil {
		return
	}
	if siteErr != nil || !site.Enabled {
		refuse(ws, protocol.CloseSiteUnavailable, "site_unavailable")
		return
	}
	origin := r.Header.Get("Origin")
	if !auth.OriginAllowed(origin, site.AllowedOrigins) {
		refuse(ws, protocol.CloseOriginNotAllowed, "origin_not_allowed")
		return
	}
	org, err := s.opts.Store.OrgByID(ctx, site.OrgID)
	if err != nil {
		s.opts.Logger.Error("realtime: unable to load organization", "err", err)
		refuse(ws, protocol.CloseServerRestarting, "try again")
		return
	}
	if org.Status == "paused" {
		// The close code below tells the widget the same if this write fails.
		_ = ws.Write(ctx, websocket.MessageText, protocol.Encode(protocol.EventOrgPaused, map[string]string{
			"message": "We're not available right now. Please check back later.",
		}))
		refuse(ws, protocol.CloseOrgPaused, "org_paused")
		return
	}
	ip := ratelimit.ClientIP(r)
	if !s.allowVisitor(ip, org.ID) {
		refuse(ws, protocol.CloseRateLimited, "rate_limited")
		return
	}

	log := s.opts.Logger.With("org_id", org.ID, "site_id", site.ID)
	c := newConn(ws, log, s.limits.visitorFrames)
	c.trackCalls = true
	vs := &visitorSession{conn: c, org: org, site: site, origin: origin, ip: ip}
	s.readLoop(ctx, vs.conn, func(f protocol.Frame) { s.visitorFrame(ctx, vs, f) })

	if vs.joined {
		// The connection is gone, so its request context is too.
		leaveCtx := context.WithoutCancel(ctx)
		if err := s.opts.Hub.Submit(leaveCtx, org.ID, calls.VisitorLeave{Peer: vs.conn}); err != nil {
			log.Debug("realtime: unable to report visitor leaving", "err", err)
		}
	}
}

func (s *Server) visitorFrame(ctx context.Context, vs *visitorSession, f protocol.Frame) {
	c := vs.conn
	if !vs.joined && f.Event != protocol.EventVisitorJoin && f.Event != protocol.EventCallReconnect {
		s.invalid(c, f, protocol.ErrNotJoined)
		return
	}

	var cmd calls.Command
	var perr *protocol.Error
	switch f.Event {
	case protocol.EventVisitorJoin:
		if !s.allowVisitor(vs.ip, vs.org.ID) {
			c.fail(f, protocol.RateLimited(int(closeRateLimitedWait/time.Second)))
			c.Close(protocol.CloseRateLimited, "rate_limited")
			return
		}
		cmd, perr = s.decodeJoin(vs, f)
	case protocol.EventCallRequest:
		var d struct {
			AgentID         *string `json:"agentId"`
			RecordingNotice *bool   `json:"recordingNotice"`
		}
		if perr = protocol.DecodeData(f.Data, &d); perr == nil {
			perr = s.allowCallRequest(vs)
		}
		if perr == nil {
			cmd = calls.CallRequest{Peer: c, Ack: f.Ack, RecordingNotice: d.RecordingNotice != nil &&
				*d.RecordingNotice}
		}
	case protocol.EventCallCancel:
		var d struct {
			RequestID *string `json:"requestId"`
			Reason    *string `json:"reason"`
		}
		perr = protocol.DecodeData(f.Data, &d)
		if perr == nil && d.Reason != nil && *d.Reason != "visitor" && *d.Reason != "timeout" {
			perr = protocol.Errorf(protocol.CodeInvalidPayload, `reason must be "visitor" or "timeout".`)
		}
		if perr == nil {
			cmd = calls.CallCancel{Peer: c, Ack: f.Ack, RequestID: ids.RequestID(deref(d.RequestID)),
				Timeout: d.Reason != nil && *d.Reason == "timeout"}
		}
	case protocol.EventCallEnd:
		var id ids.CallID
		if id, perr = decodeCallID(f); perr == nil {
			cmd = calls.CallEnd{Peer: c, Ack: f.Ack, CallID: id}
		}
	case protocol.EventSignal:
		cmd, perr = decodeSignal(c, f)
	case protocol.EventCallReconnect:
		s.visitorReconnect(ctx, vs, f)
		return
	default:
		perr = protocol.Errorf(protocol.CodeUnknownEvent, "Unknown event "+quote(f.Event)+".")
	}
	if perr != nil {
		s.invalid(c, f, perr)
		return
	}
	s.submit(ctx, c, f, vs.org.ID, cmd)
}

// visitorReconnect resumes a call on this connection (SPEC §9). It waits for
// the loop's answer, so that the frames after it are read as the call's.
func (s *Server) visitorReconnect(ctx context.Context, vs *visitorSession, f protocol.Frame) {
	c := vs.conn
	var d struct {
		ReconnectToken *string `json:"reconnectToken"`
		PageURL        *string `json:"pageUrl"`
	}
	perr := protocol.DecodeData(f.Data, &d)
	switch {
	case perr != nil:
	case d.ReconnectToken == nil:
		perr = protocol.Errorf(protocol.CodeInvalidPayload, "reconnectToken is required.")
	case d.PageURL == nil:
		perr = protocol.Errorf(protocol.CodeInvalidPayload, "pageUrl is required.")
	default:
		perr = checkPageURL(*d.PageURL, vs.origin)
	}
	if perr != nil {
		s.invalid(c, f, perr)
		return
	}
	if !calls.ValidToken(*d.ReconnectToken) {
		reconnectNotFound(c, f)
		return
	}

	settings, _ := s.opts.Settings(vs.org, vs.site)
	result := make(chan calls.ReconnectResult, 1)
	if !s.submit(ctx, c, f, vs.org.ID, calls.VisitorReconnect{Peer: c, Ack: f.Ack,
		Token: *d.ReconnectToken, Site: vs.site.ID, PageURL: *d.PageURL,
		Settings: settings, Result: result}) {
		return // the loop never got it: no answer will come
	}
	select {
	case r := <-result:
		if r.OK {
			vs.joined, vs.id = true, r.Visitor
			c.inCall.Store(true)
		}
	case <-ctx.Done():
	}
}

// allowVisitor spends a visitor connection or join from the client IP's and
// the organization's limits, or from neither.
func (s *Server) allowVisitor(ip string, org ids.OrgID) bool {
	ok, _ := ratelimit.TakeAll(s.opts.Now(),
		ratelimit.Check{Set: s.limits.visitorIP, Key: ip},
		ratelimit.Check{Set: s.limits.visitorOrg, Key: string(org)})
	return ok
}

// allowCallRequest applies the call:request limits per visitor, client IP
// and organization. A visitor in a call is not limited here: the loop
// answers VISITOR_ALREADY_IN_CALL first (SPEC §8.1).
func (s *Server) allowCallRequest(vs *visitorSession) *protocol.Error {
	if vs.conn.inCall.Load() {
		return nil
	}
	ok, wait := ratelimit.TakeAll(s.opts.Now(),
		ratelimit.Check{Set: s.limits.requestVisitor, Key: string(vs.id)},
		ratelimit.Check{Set: s.limits.requestIP, Key: vs.ip},
		ratelimit.Check{Set: s.limits.requestOrg, Key: string(vs.org.ID)})
	if ok {
		return nil
	}
	return protocol.RateLimited(ratelimit.Seconds(wait))
}

func (s *Server) decodeJoin(vs *visitorSession, f protocol.Frame) (calls.Command, *protocol.Error) {
	var d struct {
		PageURL   *string `json:"pageUrl"`
		VisitorID *string `json:"visitorId"`
	}
	if perr := protocol.DecodeData(f.Data, &d); perr != nil {
		return nil, perr
	}
	if d.PageURL == nil {
		return nil, protocol.Errorf(protocol.CodeInvalidPayload, "pageUrl is required.")
	}
	if perr := checkPageURL(*d.PageURL, vs.origin); perr != nil {
		return nil, perr
	}

	if !vs.joined {
		vs.id = s.visitorID(vs.site.ID, deref(d.VisitorID))
		vs.joined = true
		s.markVerified(vs.site, vs.origin)
	}
	settings, delay := s.opts.Settings(vs.org, vs.site)
	return calls.VisitorJoin{
		Peer:         vs.conn,
		Ack:          f.Ack,
		Visitor:      vs.id,
		Site:         vs.site.ID,
		PageURL:      *d.PageURL,
		Settings:     settings,
		ConnectedAt:  s.opts.Now(),
		TriggerDelay: delay,
	}, nil
}

// checkPageURL accepts an absolute http(s) URL of at most 2048 characters
// on the connection's own origin.
func checkPageURL(raw, origin string) *protocol.Error {
	if len(raw) > protocol.MaxURLLength {
		return protocol.Errorf(protocol.CodeInvalidPayload, "pageUrl is longer than 2048 characters.")
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return protocol.Errorf(protocol.CodeInvalidPayload, "pageUrl must be an absolute http(s) URL.")
	}
	if !strings.EqualFold(u.Scheme+"://"+u.Host, origin) {
		return protocol.Errorf(protocol.CodeInvalidPayload, "pageUrl must be on the page's own origin.")
	}
	return nil
}

// visitorID reuses a visitor id only when this server issued it for this
// site; otherwise it issues a new one.
func (s *Server) visitorID(site ids.SiteID, given string) ids.VisitorID {
	if nonce, sig, ok := strings.Cut(strings.TrimPrefix(given, "v_"), "."); ok &&
		strings.HasPrefix(given, "v_") && hmac.Equal([]byte(sig), []byte(s.signVisitor(site, nonce))) {
		return ids.VisitorID(given)
	}
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		panic("realtime: unable to read random bytes: " + err.Error())
	}
	nonce := base64.RawURLEncoding.EncodeToString(b)
	return ids.VisitorID("v_" + nonce + "." + s.signVisitor(site, nonce))
}

func (s *Server) signVisitor(site ids.SiteID, nonce string) string {
	m := hmac.New(sha256.New, s.opts.Secret)
	m.Write([]byte(string(site) + "|" + nonce))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:12])
}

// markVerified records the first join from an allowed origin (SPEC §4.1),
// in the background so that the join never waits for the database.
func (s *Server) markVerified(site store.Site, origin string) {
	if site.EmbedVerifiedAt != nil {
		return
	}
	if _, done := s.verified.LoadOrStore(site.ID, true); done {
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
		defer cancel()
		if err := s.opts.Store.MarkSiteVerified(ctx, site.ID, origin, s.opts.Now()); err != nil {
			s.verified.Delete(site.ID)
			s.opts.Logger.Warn("realtime: unable to mark site verified", "site_id", site.ID,
				"err", err)
		}
	}()
}

func decodeCallID(f protocol.Frame) (ids.CallID, *protocol.Error) {
	var d struct {
		CallID *string `json:"callId"`
	}
	if perr := protocol.DecodeData(f.Data, &d); perr != nil {
		return "", perr
	}
	if d.CallID == nil || *d.CallID == "" {
		return "", protocol.Errorf(protocol.CodeInvalidPayload, "callId is required.")
	}
	return ids.CallID(*d.CallID), nil
}

func decodeSignal(c *conn, f protocol.Frame) (calls.Command, *protocol.Error) {
	var d struct {
		CallID *string          `json:"callId"`
		Signal *protocol.Signal `json:"signal"`
	}
	if perr := protocol.DecodeData(f.Data, &d); perr != nil {
		return nil, perr
	}
	if d.CallID == nil || *d.CallID == "" {
		return nil, protocol.Errorf(protocol.CodeInvalidPayload, "callId is required.")
	}
	if d.Signal == nil {
		return nil, protocol.Errorf(protocol.CodeInvalidPayload, "signal is required.")
	}
	if perr := d.Signal.Validate(); perr != nil {
		return nil, perr
	}
	raw, err := jsonMarshal(d.Signal)
	if err != nil {
		return nil, protocol.Errorf(protocol.CodeInvalidPayload, "signal is not valid.")
	}
	return calls.Signal{Peer: c, Ack: f.Ack, CallID: ids.CallID(*d.CallID), Signal: raw}, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// quote shortens and quotes a client-supplied name for an error message.
func quote(s string) string {
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return `"` + s + `"`
}
