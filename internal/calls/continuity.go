package calls

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"time"

	"greeter/internal/clock"
	"greeter/internal/ids"
	"greeter/internal/protocol"
)

// Call continuity (SPEC §9): a call whose party lost its connection turns
// reconnecting and waits for that party, who resumes it on a new connection
// with its reconnect token.

// Rejoin windows, counted from the disconnect, and how long the tokens of
// ended calls are remembered so that a late resume hears "call_ended".
const (
	visitorRejoinWindow = 60 * time.Second
	agentRejoinWindow   = 30 * time.Second
	endedTokenMemory    = 24 * time.Hour
	maxEndedTokens      = 10_000
)

// The two parties of a call.
const (
	partyVisitor = "visitor"
	partyAgent   = "agent"
)

// TokenLength is the length of a reconnect token as clients send it: 32
// random bytes in unpadded base64url.
const TokenLength = 43

// ValidToken reports whether s has the shape of a reconnect token.
func ValidToken(s string) bool {
	if len(s) != TokenLength {
		return false
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil && len(b) == 32
}

// tokenHash is the SHA-256 of a reconnect token: the only form in which the
// server keeps one.
type tokenHash [sha256.Size]byte

func hashToken(token string) tokenHash { return sha256.Sum256([]byte(token)) }

func (h tokenHash) String() string { return hex.EncodeToString(h[:]) }

func parseTokenHash(s string) (tokenHash, bool) {
	var h tokenHash
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != len(h) {
		return h, false
	}
	copy(h[:], b)
	return h, true
}

// newToken returns a reconnect token: 32 random bytes, base64url.
func newToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("calls: unable to read random bytes: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// tokenOwner is the call and party a live token resumes.
type tokenOwner struct {
	call  *call
	party string
}

// endedToken remembers a token of a call that ended, and whose it was: only
// its own party hears that the call ended.
type endedToken struct {
	hash  tokenHash
	call  ids.CallID
	at    time.Time
	party string
	site  ids.SiteID  // the visitor's
	agent ids.AgentID // the agent's
}

// absence is a party's lost connection during a call: when it was lost and
// until when the party may resume.
type absence struct {
	since    time.Time
	deadline time.Time
	timer    clock.Timer
}

func (cl *call) reconnecting() bool { return cl.visitorGone != nil || cl.agentGone != nil }

func (cl *call) state() string {
	if cl.reconnecting() {
		return "reconnecting"
	}
	return "active"
}

func (cl *call) absence(party string) *absence {
	if party == partyVisitor {
		return cl.visitorGone
	}
	return cl.agentGone
}

func (cl *call) setAbsence(party string, g *absence) {
	if party == partyVisitor {
		cl.visitorGone = g
	} else {
		cl.agentGone = g
	}
}

// mintToken gives party a fresh token for cl, retiring its previous one (a
// rotated token is simply unknown), and records the hash in the call's row.
// The caller saves the row.
func (l *orgLoop) mintToken(cl *call, party string) string {
	token := newToken()
	h := hashToken(token)
	old := cl.agentToken
	if party == partyVisitor {
		old = cl.visitorToken
	}
	l.forgetToken(old)
	l.tokens[h] = tokenOwner{call: cl, party: party}
	l.hub.indexToken(h, l.id)
	if party == partyVisitor {
		cl.visitorToken, cl.rec.VisitorTokenHash = h, h.String()
	} else {
		cl.agentToken, cl.rec.AgentTokenHash = h, h.String()
	}
	return token
}

func (l *orgLoop) forgetToken(h tokenHash) {
	if h == (tokenHash{}) {
		return
	}
	delete(l.tokens, h)
	l.hub.unindexToken(h)
}

// retireTokens makes an ended call's tokens invalid, remembering them for a
// day so that a late resume hears that the call ended.
func (l *orgLoop) retireTokens(cl *call) {
	now := l.clock.Now()
	for party, h := range map[string]tokenHash{partyVisitor: cl.visitorToken, partyAgent: cl.agentToken} {
		if h == (tokenHash{}) {
			continue
		}
		l.forgetToken(h)
		l.rememberEnded(endedToken{hash: h, call: cl.id, at: now, party: party,
			site: cl.visitor.site, agent: cl.agent.info.ID})
	}
	cl.rec.VisitorTokenHash, cl.rec.AgentTokenHash = "", ""
}

// rememberEnded keeps e, dropping what is older than a day and, past
// maxEndedTokens, the oldest entries.
func (l *orgLoop) rememberEnded(e endedToken) {
	for len(l.endedOrder) > 0 {
		first := l.endedOrder[0]
		if len(l.endedOrder) < maxEndedTokens && e.at.Sub(first.at) < endedTokenMemory {
			break
		}
		delete(l.ended, first.hash)
		l.endedOrder = l.endedOrder[1:]
	}
	l.ended[e.hash] = e
	l.endedOrder = append(l.endedOrder, e)
}

// refuseReconnect answers a resume that found no call to resume: the call
// ended recently (call_ended, only to the party the token was for) or the
// token is unknown, rotated, foreign or used on the wrong endpoint
// (not_found, all alike). owns tells whether an ended token was the
// caller's.
func (l *orgLoop) refuseReconnect(p Peer, ack int, h tokenHash, owns func(endedToken) bool) {
	data := map[string]any{"callId": nil, "reason": "not_found",
		"message": "We couldn't find this call."}
	if e, ok := l.ended[h]; ok && l.clock.Now().Sub(e.at) < endedTokenMemory && owns(e) {
		data = map[string]any{"callId": e.call, "reason": "call_ended",
			"message": "This call has already ended."}
	}
	l.send(p, protocol.EventCallReconnectFailed, data)
	l.reply(p, ack, protocol.EventCallReconnect, nil, protocol.ErrCallNotFound)
}

// partyLost turns cl reconnecting, waiting for party from now, and tells
// the other party. The caller sends the agent its new state.
func (l *orgLoop) partyLost(cl *call, party string) {
	window := agentRejoinWindow
	if party == partyVisitor {
		window = visitorRejoinWindow
	}
	l.holdFor(cl, party, l.clock.Now().UTC(), window)
	l.sendReconnecting(cl, party)
	l.log.Info("call reconnecting", "call_id", cl.id, "waiting_for", party)
}

// holdFor makes cl wait for party until since+window.
func (l *orgLoop) holdFor(cl *call, party string, since time.Time, window time.Duration) {
	g := &absence{since: since, deadline: since.Add(window)}
	wait := max(0, g.deadline.Sub(l.clock.Now()))
	g.timer = l.hub.after(l, wait, rejoinExpired{call: cl, party: party, gone: g})
	cl.setAbsence(party, g)
}

// sendReconnecting tells the party that is still there whom the call waits
// for, and until when.
func (l *orgLoop) sendReconnecting(cl *call, missing string) {
	g := cl.absence(missing)
	data := map[string]any{
		"callId":         cl.id,
		"waitingFor":     missing,
		"timeoutSeconds": max(0, seconds(g.deadline.Sub(l.clock.Now()))),
		"deadline":       protocol.Time(g.deadline),
	}
	if missing == partyVisitor {
		data["message"] = "The visitor's connection dropped. Holding the call for them…"
		l.send(cl.agent.peer, protocol.EventCallReconnecting, data)
		return
	}
	data["message"] = "Your agent's connection dropped. Reconnecting…"
	l.send(cl.visitor.peer, protocol.EventCallReconnecting, data)
}

// cameBack ends party's absence from cl.
func (l *orgLoop) cameBack(cl *call, party string) {
	if g := cl.absence(party); g != nil {
		stop(g.timer)
		cl.setAbsence(party, nil)
	}
}

// rejoinExpired ends a call whose missing party did not come back in time.
// The row's ended_at is the moment that party disconnected (SPEC §9).
func (l *orgLoop) rejoinExpired(c rejoinExpired) {
	cl := c.call
	if cl.ended || cl.absence(c.party) != c.gone {
		return
	}
	cause := causeAgentGone
	if c.party == partyVisitor {
		cause = causeVisitorGone
	}
	l.endCallAt(cl, cause, c.gone.since)
}

// resumed tells every connected party that the call goes on, each with a
// fresh token; a party still missing keeps its token and hears again whom
// the call waits for.
func (l *orgLoop) resumed(cl *call) {
	a, v := cl.agent, cl.visitor
	if v.peer != nil {
		l.send(v.peer, protocol.EventCallReconnected, map[string]any{
			"callId":         cl.id,
			"reconnectToken": l.mintToken(cl, partyVisitor),
			"agent":          l.card(a, cl.rec.PoolID),
			"ice":            l.hub.opts.ICE(string(v.id)),
		})
	}
	if a.peer != nil {
		l.send(a.peer, protocol.EventCallReconnected, map[string]any{
			"callId":         cl.id,
			"reconnectToken": l.mintToken(cl, partyAgent),
			"visitor":        l.visitorCard(v, cl.rec.PoolID),
			"ice":            l.hub.opts.ICE(string(a.info.UserID)),
		})
	}
	l.save(cl.rec)
	for _, missing := range []string{partyVisitor, partyAgent} {
		if cl.absence(missing) != nil {
			l.sendReconnecting(cl, missing)
		}
	}
	l.sendState(a)
	l.log.Info("call resumed", "call_id", cl.id, "state", cl.state())
}

func (l *orgLoop) visitorReconnect(c VisitorReconnect) {
	h := hashToken(c.Token)
	o, ok := l.tokens[h]
	if !ok || o.party != partyVisitor || o.call.visitor.site != c.Site || l.visitors[c.Peer] != nil {
		report(c.Result, ReconnectResult{})
		l.refuseReconnect(c.Peer, c.Ack, h, func(e endedToken) bool {
			return e.party == partyVisitor && e.site == c.Site
		})
		return
	}
	cl := o.call
	v := cl.visitor
	l.takeVisitorConnection(cl, c)
	report(c.Result, ReconnectResult{OK: true, Visitor: v.id, Call: cl.id})
	l.reply(c.Peer, c.Ack, protocol.EventCallReconnect,
		map[string]any{"callId": cl.id, "visitorId": v.id}, nil)
	l.resumed(cl)
}

// takeVisitorConnection makes c's connection the call's visitor, replacing
// an older connection that is still open (closed with 4000), with the page
// and widget settings of the new one.
func (l *orgLoop) takeVisitorConnection(cl *call, c VisitorReconnect) {
	v := cl.visitor
	if old := v.peer; old != nil {
		delete(l.visitors, old)
		old.Close(protocol.CloseServerRestarting, "session_replaced")
		l.countVisitor(v.pool, -1)
	}
	l.cameBack(cl, partyVisitor)
	v.peer = c.Peer
	v.settings = c.Settings
	v.pageURL = c.PageURL
	v.pool = l.cfg.resolve(c.PageURL)
	l.visitors[c.Peer] = v
	l.countVisitor(v.pool, 1)
	if v.agent != cl.agent {
		l.detach(v)
		l.attach(v, cl.agent)
	}
}

func (l *orgLoop) agentReconnect(c AgentReconnect) {
	h := hashToken(c.Token)
	o, ok := l.tokens[h]
	a := l.byPeer[c.Peer]
	if a == nil || !ok || o.party != partyAgent || o.call.agent != a {
		l.refuseReconnect(c.Peer, c.Ack, h, func(e endedToken) bool {
			return a != nil && e.party == partyAgent && e.agent == a.info.ID
		})
		return
	}
	cl := o.call
	l.cameBack(cl, partyAgent)
	l.reply(c.Peer, c.Ack, protocol.EventCallReconnect, map[string]any{"callId": cl.id}, nil)
	l.resumed(cl)
}

// report hands a resume's outcome to the connection that asked, if it
// listens; the channel has room for it, so the loop never waits.
func report(ch chan<- ReconnectResult, r ReconnectResult) {
	if ch == nil {
		return
	}
	select {
	case ch <- r:
	default:
	}
}
