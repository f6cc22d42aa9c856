package realtime

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"greeter/internal/ids"
	"greeter/internal/store"
)

func join(c *client, origin string) string {
	c.t.Helper()
	d := c.must("visitor:join", map[string]any{"pageUrl": origin + "/pricing"})
	return d["visitorId"].(string)
}

func TestCallLoopOverWebSockets(t *testing.T) {
	w := newWorld(t)
	ava := w.agent("ava", w.acme)
	if st := ava.must("agent:back", nil)["status"]; st != "idle" {
		t.Fatalf("status after back = %v", st)
	}

	v := w.visitor("visitor", w.acme)
	visitorID := join(v, shopOrigin)
	assigned := v.expect("agent:assigned")
	card := assigned["agent"].(map[string]any)
	if card["displayName"] != "ava" || !strings.HasSuffix(card["videos"].(map[string]any)["loop"].(string),
		"/media/ava-loop.webm") {
		t.Fatalf("assigned = %v", assigned)
	}
	if assigned["visitorId"] != visitorID {
		t.Fatalf("visitorId %v, want %s", assigned["visitorId"], visitorID)
	}

	reqID := v.must("call:request", map[string]any{})["requestId"].(string)
	if !strings.HasPrefix(reqID, "req_") {
		t.Fatalf("requestId = %q", reqID)
	}
	incoming := ava.expect("call:incoming")
	if incoming["requestId"] != reqID ||
		incoming["visitor"].(map[string]any)["pageUrl"] != shopOrigin+"/pricing" {
		t.Fatalf("incoming = %v", incoming)
	}

	callID := ava.must("call:accept", map[string]any{"requestId": reqID})["callId"].(string)
	accepted := v.expect("call:accepted")
	started := ava.expect("call:started")
	if accepted["callId"] != callID || started["callId"] != callID ||
		accepted["reconnectToken"] == started["reconnectToken"] {
		t.Fatalf("accepted %v started %v", accepted, started)
	}

	ava.must("webrtc:signal", map[string]any{"callId": callID,
		"signal": map[string]any{"type": "offer", "sdp": "v=0 offer"}})
	got := v.expect("webrtc:signal")
	if got["from"] != "agent" || got["signal"].(map[string]any)["sdp"] != "v=0 offer" {
		t.Fatalf("visitor got %v", got)
	}
	v.must("webrtc:signal", map[string]any{"callId": callID, "signal": map[string]any{
		"type": "candidate", "candidate": map[string]any{"candidate": "candidate:1 1 udp 1 127.0.0.1 9 typ host",
			"sdpMid": "0", "sdpMLineIndex": 0}}})
	if got := ava.expect("webrtc:signal"); got["from"] != "visitor" {
		t.Fatalf("agent got %v", got)
	}
	v.must("webrtc:signal", map[string]any{"callId": callID,
		"signal": map[string]any{"type": "candidate", "candidate": nil}})
	ava.expect("webrtc:signal")

	v.must("call:end", map[string]any{"callId": callID})
	vEnd, aEnd := v.expect("call:ended"), ava.expect("call:ended")
	if vEnd["reason"] != "visitor_ended" || aEnd["message"] != "The visitor ended the call." ||
		aEnd["callLogId"] == nil {
		t.Fatalf("ended: visitor %v agent %v", vEnd, aEnd)
	}

	logID := ids.CallLogID(aEnd["callLogId"].(string))
	row := waitForRow(t, w.store, w.acme.org.ID, logID, "completed")
	if row.DurationSeconds == nil || row.EndReason != "visitor_ended" || row.EndedBy != "visitor" ||
		row.AgentID != w.acme.agentID["ava"] || string(row.VisitorID) != visitorID {
		t.Fatalf("row = %+v", row)
	}
}

func waitForRow(t *testing.T, st *store.Store, org ids.OrgID, id ids.CallLogID,
	status string) store.CallLog {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		row, err := st.CallLog(context.Background(), org, id)
		if err == nil && row.Status == status {
			return row
		}
		if time.Now().After(deadline) {
			t.Fatalf("row %s: %+v, %v; want status %s", id, row, err, status)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestAgentEndsAndRejectsOverWebSockets(t *testing.T) {
	w := newWorld(t)
	ava := w.agent("ava", w.acme)
	ava.must("agent:back", nil)
	ben := w.agent("ben", w.acme)
	ben.must("agent:back", nil)
	v := w.visitor("visitor", w.acme)
	join(v, shopOrigin)
	first := v.expect("agent:assigned")["agent"].(map[string]any)["displayName"].(string)
	firstAgent, other := ava, ben
	if first == "ben" {
		firstAgent, other = ben, ava
	}

	reqID := v.must("call:request", nil)["requestId"].(string)
	firstAgent.expect("call:incoming")
	firstAgent.must("call:reject", map[string]any{"requestId": reqID, "reason": "busy"})
	other.expect("call:incoming")
	if r := v.expect("agent:reassigned"); r["reason"] != "agent_busy" || r["previousAgentName"] != first {
		t.Fatalf("reassigned = %v", r)
	}
	// The first agent's stale accept loses.
	firstAgent.fails("call:accept", map[string]any{"requestId": reqID}, "CALL_NOT_FOUND")

	callID := other.must("call:accept", map[string]any{"requestId": reqID})["callId"].(string)
	v.expect("call:accepted")
	other.must("call:end", map[string]any{"callId": callID})
	if e := v.expect("call:ended"); e["message"] != "Agent has ended the call" || e["endedBy"] != "agent" {
		t.Fatalf("visitor ended = %v", e)
	}
	other.expect("call:ended")
	// Ending again is CALL_NOT_FOUND, which the widget reads as "already ended".
	v.fails("call:end", map[string]any{"callId": callID}, "CALL_NOT_FOUND")
}

func TestVisitorCancelAndPageClose(t *testing.T) {
	w := newWorld(t)
	ava := w.agent("ava", w.acme)
	ava.must("agent:back", nil)

	v := w.visitor("v1", w.acme)
	join(v, shopOrigin)
	reqID := v.must("call:request", nil)["requestId"].(string)
	ava.expect("call:incoming")
	// Asking again returns the same pending request.
	if again := v.must("call:request", nil)["requestId"]; again != reqID {
		t.Fatalf("second request %v, want %s", again, reqID)
	}
	v.must("call:cancel", map[string]any{"requestId": reqID})
	if r := ava.expect("call:cancelled")["reason"]; r != "visitor_cancelled" {
		t.Fatalf("cancel reason = %v", r)
	}

	v2 := w.visitor("v2", w.acme)
	join(v2, shopOrigin)
	v2.must("call:request", nil)
	ava.expect("call:incoming")
	v2.ws.Close(websocket.StatusGoingAway, "page closed")
	if r := ava.expect("call:cancelled")["reason"]; r != "visitor_left" {
		t.Fatalf("close reason = %v", r)
	}
	// Ava was never marked away and can still be rung.
	v3 := w.visitor("v3", w.acme)
	join(v3, shopOrigin)
	v3.must("call:request", nil)
	ava.expect("call:incoming")
}

func TestAgentAwayAndBack(t *testing.T) {
	w := newWorld(t)
	ava := w.agent("ava", w.acme)
	ava.must("agent:back", nil)
	v := w.visitor("v1", w.acme)
	join(v, shopOrigin)
	v.expect("agent:assigned")

	if st := ava.must("agent:away", map[string]any{"reason": "manual"})["status"]; st != "away" {
		t.Fatalf("away status = %v", st)
	}
	if u := v.expect("agent:unavailable"); u["reason"] != "agent_away" || u["previousAgentName"] != "ava" {
		t.Fatalf("unavailable = %v", u)
	}
	v.fails("call:request", nil, "AGENT_UNAVAILABLE")
	// Going away twice succeeds and changes nothing.
	ava.must("agent:away", nil)
	ava.fails("agent:away", map[string]any{"reason": "lunch"}, "INVALID_PAYLOAD")

	ava.must("agent:back", nil)
	v.expect("agent:assigned")
}

func TestAdmissionCloseCodes(t *testing.T) {
	w := newWorld(t)
	tests := []struct {
		name, path, origin, token string
		code                      websocket.StatusCode
	}{
		{"unknown site", "/ws/visitor?siteKey=pk_nope", shopOrigin, "", 4102},
		{"no site key", "/ws/visitor", shopOrigin, "", 4102},
		{"origin not allowed", "/ws/visitor?siteKey=" + w.acme.site.SiteKey, otherOrigin, "", 4104},
		{"missing session", "/ws/agent", w.srv.URL, "", 4100},
		{"bad session", "/ws/agent", w.srv.URL, "forged", 4100},
		{"admin without agent profile", "/ws/agent", w.srv.URL,
			w.acme.tokens["admin@acme.test"], 4108},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := w.dial(tt.name, tt.path, tt.origin, tt.token)
			if code := c.waitClosed(); code != tt.code {
				t.Fatalf("closed with %d, want %d", code, tt.code)
			}
		})
	}
}

func TestAgentSocketRefusesForeignOrigin(t *testing.T) {
	w := newWorld(t)
	h := http.Header{"Origin": {shopOrigin},
		"Cookie": {"greeter_session=" + w.acme.tokens["ava@acme.test"]}}
	url := "ws" + strings.TrimPrefix(w.srv.URL, "http") + "/ws/agent"
	_, resp, err := websocket.Dial(context.Background(), url, &websocket.DialOptions{HTTPHeader: h})
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("dial from a foreign origin: %v %v", resp, err)
	}
}

func TestPlainHTTPGetsUpgradeRequired(t *testing.T) {
	w := newWorld(t)
	for _, path := range []string{"/ws/visitor", "/ws/agent"} {
		resp, err := http.Get(w.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var got map[string]string
		json.Unmarshal(body, &got)
		if resp.StatusCode != 400 || got["code"] != "BAD_REQUEST" ||
			got["error"] != "WebSocket upgrade required" {
			t.Fatalf("%s: %d %s", path, resp.StatusCode, body)
		}
	}
}

func TestBadFramesGetErrorsAndOthersKeepWorking(t *testing.T) {
	w := newWorld(t)
	ava := w.agent("ava", w.acme)
	ava.must("agent:back", nil)
	v := w.visitor("v1", w.acme)

	// Before joining, every event is NOT_JOINED, known or not.
	v.fails("call:request", nil, "NOT_JOINED")
	v.fails("nonsense", nil, "NOT_JOINED")

	expectError := func(raw, code string) {
		t.Helper()
		v.sendRaw(raw)
		e := v.expect("error")
		if e["code"] != code || e["message"] == "" {
			t.Fatalf("%s: error %v, want %s", raw, e, code)
		}
	}
	expectError(`not json`, "INVALID_PAYLOAD")
	expectError(`[1,2]`, "INVALID_PAYLOAD")
	expectError(`{"event":7}`, "INVALID_PAYLOAD")
	expectError(`{"event":"visitor:join","data":"x"}`, "INVALID_PAYLOAD")

	join(v, shopOrigin)
	v.fails("visitor:join", map[string]any{"pageUrl": 42}, "INVALID_PAYLOAD")
	v.fails("visitor:join", map[string]any{"pageUrl": "/relative"}, "INVALID_PAYLOAD")
	v.fails("visitor:join", map[string]any{"pageUrl": otherOrigin + "/"}, "INVALID_PAYLOAD")
	v.fails("visitor:join", map[string]any{"pageUrl": shopOrigin + "/" + strings.Repeat("a", 2048)},
		"INVALID_PAYLOAD")
	v.fails("call:frobnicate", nil, "UNKNOWN_EVENT")
	v.fails("call:end", map[string]any{"callId": 5}, "INVALID_PAYLOAD")
	v.fails("call:end", map[string]any{}, "INVALID_PAYLOAD")
	v.fails("call:cancel", map[string]any{"reason": "bored"}, "INVALID_PAYLOAD")
	v.fails("webrtc:signal", map[string]any{"callId": "call_x", "signal": map[string]any{"type": "hello"}},
		"INVALID_PAYLOAD")
	v.fails("webrtc:signal", map[string]any{"callId": "call_x",
		"signal": map[string]any{"type": "offer", "sdp": "v=0"}}, "CALL_NOT_FOUND")
	v.fails("call:request", map[string]any{"recordingNotice": "yes"}, "INVALID_PAYLOAD")
	v.fails("call:request", map[string]any{"pad": strings.Repeat("x", 9000)}, "PAYLOAD_TOO_LARGE")

	// The connection and the server are still fine.
	v.must("call:request", nil)
	ava.expect("call:incoming")
	other := w.visitor("v2", w.acme)
	join(other, shopOrigin)
}

func TestAckRetryReturnsCachedReply(t *testing.T) {
	w := newWorld(t)
	ava := w.agent("ava", w.acme)
	ava.must("agent:back", nil)
	v := w.visitor("v1", w.acme)
	join(v, shopOrigin)

	v.sendRaw(`{"event":"call:request","data":{},"ack":77}`)
	first := v.waitFor("ack 77", func(f wsFrame) bool { return f.Event == "ack" && f.Ack == 77 })
	v.sendRaw(`{"event":"call:request","data":{},"ack":77}`)
	second := v.waitFor("ack 77 again", func(f wsFrame) bool { return f.Event == "ack" && f.Ack == 77 })
	if string(first.Data) != string(second.Data) {
		t.Fatalf("retry answered %s, first %s", second.Data, first.Data)
	}
	v.fails("call:request", map[string]any{"recordingNotice": 1}, "INVALID_PAYLOAD")
	v.sendRaw(`{"event":"call:request","ack":0}`)
	if e := v.expect("error"); e["code"] != "INVALID_PAYLOAD" {
		t.Fatalf("ack 0: %v", e)
	}
}

func TestOversizedBinaryAndAbusiveFramesClose(t *testing.T) {
	w := newWorld(t)

	big := w.visitor("big", w.acme)
	join(big, shopOrigin)
	big.sendRaw(`{"event":"x","data":{"p":"` + strings.Repeat("a", 1<<20) + `"}}`)
	if code := big.waitClosed(); code != 1009 {
		t.Fatalf("oversized frame closed with %d, want 1009", code)
	}

	bin := w.visitor("binary", w.acme)
	bin.ws.Write(context.Background(), websocket.MessageBinary, []byte{1, 2, 3})
	if code := bin.waitClosed(); code != 4107 {
		t.Fatalf("binary frame closed with %d, want 4107", code)
	}

	spam := w.visitor("spam", w.acme)
	for range 21 {
		spam.sendRaw("garbage")
	}
	if code := spam.waitClosed(); code != 4107 {
		t.Fatalf("invalid frames closed with %d, want 4107", code)
	}

	agentBig := w.agent("ava", w.acme)
	agentBig.sendRaw(`{"event":"heartbeat","data":{"p":"` + strings.Repeat("a", 64<<10) + `"}}`)
	if code := agentBig.waitClosed(); code != 1009 {
		t.Fatalf("oversized agent frame closed with %d, want 1009", code)
	}

	ok := w.visitor("ok", w.acme)
	join(ok, shopOrigin)
}

func TestTenantsNeverMeet(t *testing.T) {
	w := newWorld(t)
	ava := w.agent("ava", w.acme)
	ava.must("agent:back", nil)
	gil := w.agent("gil", w.globex)
	gil.must("agent:back", nil)

	// A Globex visitor is only ever shown Globex's agent...
	gv := w.visitor("globex-visitor", w.globex)
	join(gv, otherOrigin)
	if name := gv.expect("agent:assigned")["agent"].(map[string]any)["displayName"]; name != "gil" {
		t.Fatalf("Globex visitor shown %v", name)
	}
	// ...and an Acme visitor only Acme's.
	av := w.visitor("acme-visitor", w.acme)
	join(av, shopOrigin)
	reqID := av.must("call:request", nil)["requestId"].(string)
	ava.expect("call:incoming")

	// Gil cannot accept or reject Acme's request, or touch its call.
	gil.fails("call:accept", map[string]any{"requestId": reqID}, "CALL_NOT_FOUND")
	gil.fails("call:reject", map[string]any{"requestId": reqID}, "CALL_NOT_FOUND")
	callID := ava.must("call:accept", map[string]any{"requestId": reqID})["callId"].(string)
	av.expect("call:accepted")
	gil.fails("webrtc:signal", map[string]any{"callId": callID,
		"signal": map[string]any{"type": "offer", "sdp": "v=0"}}, "CALL_NOT_FOUND")
	gil.fails("call:end", map[string]any{"callId": callID}, "CALL_NOT_FOUND")
	gv.fails("call:end", map[string]any{"callId": callID}, "CALL_NOT_FOUND")

	// With Gil away, Globex visitors get nobody, even though Ava is live.
	gil.must("agent:away", nil)
	gv.expect("agent:unavailable")
	gv.fails("call:request", nil, "AGENT_UNAVAILABLE")

	// Acme's site key from Globex's origin is refused.
	cross := w.dial("cross", "/ws/visitor?siteKey="+w.acme.site.SiteKey, otherOrigin, "")
	if code := cross.waitClosed(); code != 4104 {
		t.Fatalf("cross-origin visitor closed with %d", code)
	}
}

func TestVisitorIDIsReusedOnlyWhenSigned(t *testing.T) {
	w := newWorld(t)
	v := w.visitor("v1", w.acme)
	id := join(v, shopOrigin)

	again := w.visitor("v1-reload", w.acme)
	d := again.must("visitor:join", map[string]any{"pageUrl": shopOrigin + "/", "visitorId": id})
	if d["visitorId"] != id {
		t.Fatalf("signed id not reused: %v vs %s", d["visitorId"], id)
	}
	forged := w.visitor("forged", w.acme)
	d = forged.must("visitor:join", map[string]any{"pageUrl": shopOrigin + "/", "visitorId": "v_abc.def"})
	if d["visitorId"] == "v_abc.def" {
		t.Fatal("forged visitor id was accepted")
	}
	// An id signed for one site is not reused on another.
	other := w.visitor("other-site", w.globex)
	d = other.must("visitor:join", map[string]any{"pageUrl": otherOrigin + "/", "visitorId": id})
	if d["visitorId"] == id {
		t.Fatal("visitor id crossed sites")
	}
}

func TestFirstJoinMarksSiteVerified(t *testing.T) {
	w := newWorld(t)
	v := w.visitor("v1", w.acme)
	join(v, shopOrigin)
	deadline := time.Now().Add(5 * time.Second)
	for {
		site, err := w.store.SiteByKey(context.Background(), w.acme.site.SiteKey)
		if err == nil && site.EmbedVerifiedAt != nil {
			if site.EmbedVerifiedOrigin != shopOrigin {
				t.Fatalf("verified origin %q", site.EmbedVerifiedOrigin)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("site not verified: %+v %v", site, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
