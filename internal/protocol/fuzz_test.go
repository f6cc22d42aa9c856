package protocol

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// clientShapes are the data objects of every client event (SPEC §5.1, §5.3)
// as internal/realtime decodes them: every field a pointer, so that a
// missing field and a wrong type are told apart.
func clientShapes() map[string]any {
	type requestRef struct {
		RequestID *string `json:"requestId"`
		Reason    *string `json:"reason"`
	}
	return map[string]any{
		EventVisitorJoin: &struct {
			PageURL   *string `json:"pageUrl"`
			VisitorID *string `json:"visitorId"`
		}{},
		EventCallRequest: &struct {
			AgentID         *string `json:"agentId"`
			RecordingNotice *bool   `json:"recordingNotice"`
		}{},
		EventCallCancel: &requestRef{},
		EventCallAccept: &requestRef{},
		EventCallReject: &requestRef{},
		EventCallEnd: &struct {
			CallID *string `json:"callId"`
		}{},
		EventAgentAway: &struct {
			Reason *string `json:"reason"`
		}{},
		EventSignal: &struct {
			CallID *string `json:"callId"`
			Signal *Signal `json:"signal"`
		}{},
	}
}

// FuzzDecode checks the frame decoder and every event's data decoder: no
// input panics, every error is INVALID_PAYLOAD with a message, and an
// accepted frame encodes back to a frame that decodes the same.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"event":"visitor:join","data":{"pageUrl":"https://shop.test/"},"ack":1}`,
		`{"event":"call:request","data":{"recordingNotice":true},"ack":7}`,
		`{"event":"call:cancel","data":{"requestId":"req_1","reason":"timeout"}}`,
		`{"event":"call:end","data":{"callId":"call_1"},"ack":2147483647}`,
		`{"event":"webrtc:signal","data":{"callId":"c","signal":{"type":"offer","sdp":"v=0"}}}`,
		`{"event":"webrtc:signal","data":{"callId":"c","signal":{"type":"candidate",` +
			`"candidate":{"candidate":"candidate:1 1 udp 1 127.0.0.1 9 typ host","sdpMid":"0",` +
			`"sdpMLineIndex":0}}}}`,
		`{"event":"webrtc:signal","data":{"callId":"c","signal":{"type":"candidate","candidate":null}}}`,
		`{"event":"agent:away","data":{"reason":"idle"}}`,
		`{"event":"heartbeat","ack":3}`,
		`{"event":"call:accept","data":null,"ack":null}`,
		`{"event":"x","ack":0}`,
		`{"event":"x","ack":1.5}`,
		`{"event":"x","ack":"1"}`,
		`{"event":"","data":{}}`,
		`{"event":7}`,
		`{"event":"x","data":[1]}`,
		`{"event":"call:end","data":{"callId":5}}`,
		`null`,
		`[1,2]`,
		`not json`,
		`{"event":"x","data":{"a":` + strings.Repeat("[", 100) + `}}`,
	} {
		f.Add([]byte(s))
	}

	f.Fuzz(func(t *testing.T, b []byte) {
		fr, perr := Decode(b)
		if perr != nil {
			checkError(t, "Decode", perr)
			return
		}
		if fr.Event == "" || fr.Ack < 0 || fr.Ack > MaxAck {
			t.Fatalf("Decode(%q) = %+v", b, fr)
		}
		if len(fr.Data) == 0 || fr.Data[0] != '{' || !json.Valid(fr.Data) {
			t.Fatalf("Decode(%q).Data = %q", b, fr.Data)
		}

		again, perr := Decode(reencode(t, fr))
		if perr != nil || again.Event != fr.Event || again.Ack != fr.Ack ||
			!sameJSON(again.Data, fr.Data) {
			t.Fatalf("re-encoded %+v decodes as %+v, %v", fr, again, perr)
		}

		for event, shape := range clientShapes() {
			if perr := DecodeData(fr.Data, shape); perr != nil {
				checkError(t, "DecodeData "+event, perr)
			}
		}
		checkSignal(t, fr.Data)
	})
}

// checkSignal validates the signal in data, if any, and checks that a valid
// one is still valid once relayed (re-encoded as the server does).
func checkSignal(t *testing.T, data json.RawMessage) {
	var d struct {
		Signal *Signal `json:"signal"`
	}
	if DecodeData(data, &d) != nil || d.Signal == nil {
		return
	}
	if perr := d.Signal.Validate(); perr != nil {
		checkError(t, "Signal.Validate", perr)
		return
	}

	relayed, err := json.Marshal(d.Signal)
	if err != nil {
		t.Fatalf("a valid signal does not encode: %v", err)
	}
	var s Signal
	if perr := DecodeData(relayed, &s); perr != nil {
		t.Fatalf("relayed signal %s does not decode: %v", relayed, perr)
	}
	if perr := s.Validate(); perr != nil {
		t.Fatalf("relayed signal %s is invalid: %v", relayed, perr)
	}
}

func checkError(t *testing.T, what string, perr *Error) {
	t.Helper()
	if perr.Code != CodeInvalidPayload || perr.Message == "" {
		t.Fatalf("%s error %+v, want INVALID_PAYLOAD with a message", what, perr)
	}
}

func reencode(t *testing.T, fr Frame) []byte {
	t.Helper()
	w := map[string]any{"event": fr.Event, "data": fr.Data}
	if fr.Ack > 0 {
		w["ack"] = fr.Ack
	}
	b, err := json.Marshal(w)
	if err != nil {
		t.Fatalf("encoding %+v: %v", fr, err)
	}
	return b
}

// sameJSON reports whether a and b hold the same value; re-encoding may
// escape characters differently.
func sameJSON(a, b json.RawMessage) bool {
	var va, vb any
	return json.Unmarshal(a, &va) == nil && json.Unmarshal(b, &vb) == nil &&
		reflect.DeepEqual(va, vb)
}
