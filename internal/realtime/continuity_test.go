package realtime

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"greeter/internal/store"
)

// callOverSockets puts ava of acme in a call with a new visitor and returns
// both connections, the call id and each party's reconnect token.
func callOverSockets(t *testing.T, w *world) (ava, v *client, callID, visitorToken, agentToken string) {
	t.Helper()
	ava = w.agent("ava", w.acme)
	ava.must("agent:back", nil)
	v = w.visitor("visitor", w.acme)
	join(v, shopOrigin)
	reqID := v.must("call:request", nil)["requestId"].(string)
	ava.expect("call:incoming")
	callID = ava.must("call:accept", map[string]any{"requestId": reqID})["callId"].(string)
	visitorToken = v.expect("call:accepted")["reconnectToken"].(string)
	agentToken = ava.expect("call:started")["reconnectToken"].(string)
	return ava, v, callID, visitorToken, agentToken
}

func hashHex(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// acceptedRow waits until the call's row is accepted with the hash of the
// given visitor token, and returns it.
func acceptedRow(t *testing.T, w *world, callID, visitorToken string) store.CallLog {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		logs, err := w.store.ResumableCallLogs(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range logs {
			if string(l.CallID) == callID && l.VisitorTokenHash == hashHex(visitorToken) {
				return l
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no accepted row of %s with the current visitor token: %+v", callID, logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestBothPartiesResumeOverWebSockets(t *testing.T) {
	w := newWorld(t)
	ava, v, callID, visitorToken, agentToken := callOverSockets(t, w)
	row := acceptedRow(t, w, callID, visitorToken)
	if row.AgentTokenHash != hashHex(agentToken) {
		t.Fatalf("row keeps %q for the agent", row.AgentTokenHash)
	}

	// The visitor follows a link: its socket closes and a new page resumes.
	v.ws.Close(websocket.StatusGoingAway, "navigation")
	if held := ava.expect("call:reconnecting"); held["waitingFor"] != "visitor" {
		t.Fatalf("agent heard %v", held)
	}
	v2 := w.visitor("visitor-next-page", w.acme)
	ack := v2.must("call:reconnect", map[string]any{"reconnectToken": visitorToken,
		"pageUrl": shopOrigin + "/pricing"})
	if ack["callId"] != callID || !strings.HasPrefix(ack["visitorId"].(string), "v_") {
		t.Fatalf("resume ack = %v", ack)
	}
	back := v2.expect("call:reconnected")
	agentBack := ava.expect("call:reconnected")
	visitorToken, agentToken = back["reconnectToken"].(string), agentBack["reconnectToken"].(string)
	if card := agentBack["visitor"].(map[string]any); card["pageUrl"] != shopOrigin+"/pricing" {
		t.Fatalf("the agent sees the visitor on %v", card["pageUrl"])
	}
	// The new connection is the call's: signals flow both ways.
	ava.must("webrtc:signal", map[string]any{"callId": callID,
		"signal": map[string]any{"type": "offer", "sdp": "v=0 again"}})
	v2.expect("webrtc:signal")
	v2.must("webrtc:signal", map[string]any{"callId": callID,
		"signal": map[string]any{"type": "answer", "sdp": "v=0 answer"}})
	ava.expect("webrtc:signal")

	// The agent reloads the workbench and resumes with its own token.
	ava.ws.Close(websocket.StatusGoingAway, "reload")
	if held := v2.expect("call:reconnecting"); held["waitingFor"] != "agent" {
		t.Fatalf("visitor heard %v", held)
	}
	ava2 := w.agent("ava", w.acme)
	got := ava2.must("call:reconnect", map[string]any{"reconnectToken": agentToken})
	if got["callId"] != callID {
		t.Fatalf("agent resume ack = %v", got)
	}
	ava2.expect("call:reconnected")
	visitorToken = v2.expect("call:reconnected")["reconnectToken"].(string)

	// One row through it all, holding only hashes of the current tokens.
	row2 := acceptedRow(t, w, callID, visitorToken)
	if row2.ID != row.ID {
		t.Fatalf("the resumed call has a new row %s, was %s", row2.ID, row.ID)
	}
	v2.must("call:end", map[string]any{"callId": callID})
	ava2.expect("call:ended")
	done := waitForRow(t, w.store, w.acme.org.ID, row.ID, "completed")
	if done.VisitorTokenHash != "" || done.AgentTokenHash != "" || done.EndReason != "visitor_ended" {
		t.Fatalf("completed row = %+v", done)
	}
	logs, err := w.store.ListCallLogs(context.Background(), w.acme.org.ID, store.CallLogFilter{})
	if err != nil || len(logs) != 1 {
		t.Fatalf("call logs = %d, %v; want one", len(logs), err)
	}
}

func TestReconnectCatalogue(t *testing.T) {
	w := newWorld(t)
	ava, v, callID, visitorToken, agentToken := callOverSockets(t, w)
	gil := w.agent("gil", w.globex)
	v.ws.Close(websocket.StatusGoingAway, "gone")
	ava.expect("call:reconnecting")

	type attempt struct {
		name string
		data map[string]any
		code string // the ack's error code
		// reason is call:reconnect_failed's reason, for CALL_NOT_FOUND.
		reason string
	}
	visitorCases := []attempt{
		{"no token", map[string]any{"pageUrl": shopOrigin + "/"}, "INVALID_PAYLOAD", ""},
		{"token not a string", map[string]any{"reconnectToken": 7, "pageUrl": shopOrigin + "/"},
			"INVALID_PAYLOAD", ""},
		{"no page", map[string]any{"reconnectToken": visitorToken}, "INVALID_PAYLOAD", ""},
		{"page on another origin", map[string]any{"reconnectToken": visitorToken,
			"pageUrl": "https://evil.test/"}, "INVALID_PAYLOAD", ""},
		{"malformed token", map[string]any{"reconnectToken": "abc", "pageUrl": shopOrigin + "/"},
			"CALL_NOT_FOUND", "not_found"},
		{"the agent's token", map[string]any{"reconnectToken": agentToken,
			"pageUrl": shopOrigin + "/"}, "CALL_NOT_FOUND", "not_found"},
	}
	for _, tc := range visitorCases {
		c := w.visitor("visitor "+tc.name, w.acme)
		c.fails("call:reconnect", tc.data, tc.code)
		if tc.reason != "" {
			if f := c.expect("call:reconnect_failed"); f["reason"] != tc.reason || f["callId"] != nil {
				t.Fatalf("%s: reconnect_failed = %v", tc.name, f)
			}
		}
		// A refused resume leaves a connection that still joins (ava is
		// busy, so it hears that nobody is free).
		join(c, shopOrigin)
		c.expect("agent:unavailable")
	}

	// Another tenant's site never finds the call, with the right token.
	g := w.visitor("globex visitor", w.globex)
	g.fails("call:reconnect", map[string]any{"reconnectToken": visitorToken,
		"pageUrl": otherOrigin + "/"}, "CALL_NOT_FOUND")
	if f := g.expect("call:reconnect_failed"); f["reason"] != "not_found" {
		t.Fatalf("cross-tenant resume = %v", f)
	}
	// Nor does another tenant's agent, with either token.
	for _, tok := range []string{agentToken, visitorToken} {
		gil.fails("call:reconnect", map[string]any{"reconnectToken": tok}, "CALL_NOT_FOUND")
		gil.expect("call:reconnect_failed")
	}
	gil.fails("call:reconnect", map[string]any{}, "INVALID_PAYLOAD")
	// The agent's resume on its live connection with the visitor's token.
	ava.fails("call:reconnect", map[string]any{"reconnectToken": visitorToken}, "CALL_NOT_FOUND")

	// None of it disturbed the call: the visitor still resumes it.
	v2 := w.visitor("visitor back", w.acme)
	v2.must("call:reconnect", map[string]any{"reconnectToken": visitorToken,
		"pageUrl": shopOrigin + "/"})
	next := v2.expect("call:reconnected")["reconnectToken"].(string)

	// A resume after a join on the same connection is refused.
	joined := w.visitor("visitor joined first", w.acme)
	join(joined, shopOrigin)
	joined.fails("call:reconnect", map[string]any{"reconnectToken": next,
		"pageUrl": shopOrigin + "/"}, "CALL_NOT_FOUND")

	// The token of a call that ended says so.
	v2.must("call:end", map[string]any{"callId": callID})
	late := w.visitor("visitor late", w.acme)
	late.fails("call:reconnect", map[string]any{"reconnectToken": next,
		"pageUrl": shopOrigin + "/"}, "CALL_NOT_FOUND")
	if f := late.expect("call:reconnect_failed"); f["reason"] != "call_ended" ||
		f["callId"] != callID || f["message"] != "This call has already ended." {
		t.Fatalf("late resume = %v", f)
	}
}

func TestClosingAllTellsEveryoneToReconnectIncludingLateComers(t *testing.T) {
	w := newWorld(t)
	ava, v, _, _, _ := callOverSockets(t, w)
	w.rt.CloseAll()
	for _, c := range []*client{ava, v} {
		if code := c.waitClosed(); code != 4000 {
			t.Fatalf("%s closed with %d, want 4000", c.name, code)
		}
	}
	// A client that reconnects while the server shuts down hears the same.
	late := w.dial("late visitor", "/ws/visitor?siteKey="+w.acme.site.SiteKey, shopOrigin, "")
	if code := late.waitClosed(); code != 4000 {
		t.Fatalf("a connection after CloseAll closed with %d, want 4000", code)
	}
	lateAgent := w.dial("late agent", "/ws/agent", w.srv.URL, w.acme.tokens["ava@acme.test"])
	if code := lateAgent.waitClosed(); code != 4000 {
		t.Fatalf("an agent connection after CloseAll closed with %d, want 4000", code)
	}
}

func TestLoopbackNamesAreOneOriginForTheWorkbench(t *testing.T) {
	for _, tc := range []struct {
		origin, public string
		ok             bool
	}{
		{"http://localhost:8080", "http://127.0.0.1:8080", true},
		{"http://127.0.0.1:8080", "http://localhost:8080", true},
		{"http://[::1]:8080", "http://127.0.0.1:8080", true},
		{"http://127.0.0.2:8080", "http://127.0.0.1:8080", true},
		{"http://localhost:8081", "http://127.0.0.1:8080", false},
		{"https://localhost:8080", "http://127.0.0.1:8080", false},
		{"http://localhost:8080", "https://greeter.example.com", false},
		{"http://evil.test:8080", "http://127.0.0.1:8080", false},
		{"http://localhost.evil.test:8080", "http://localhost:8080", false},
		{"", "http://127.0.0.1:8080", false},
		{"https://greeter.example.com", "https://greeter.example.com", true},
	} {
		if got := sameOrLoopbackOrigin(tc.origin, tc.public); got != tc.ok {
			t.Errorf("origin %q for %q: %v, want %v", tc.origin, tc.public, got, tc.ok)
		}
	}
}
