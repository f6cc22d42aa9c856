package protocol

import (
	"strings"
	"testing"
)

func TestDecode(t *testing.T) {
	tests := []struct {
		in        string
		event     string
		ack       int
		data      string
		wantError string // part of the message; empty when the frame is valid
	}{
		{in: `{"event":"heartbeat"}`, event: "heartbeat", data: "{}"},
		{in: `{"event":"call:end","data":{"callId":"c"},"ack":7}`, event: "call:end", ack: 7,
			data: `{"callId":"c"}`},
		{in: `{"event":"x","data":null}`, event: "x", data: "{}"},
		{in: `{"event":"x","ack":2147483647}`, event: "x", ack: MaxAck, data: "{}"},
		{in: `not json`, wantError: "not a JSON object"},
		{in: `null`, wantError: "not a JSON object"},
		{in: `[1]`, wantError: "not a JSON object"},
		{in: `{}`, wantError: "event"},
		{in: `{"event":""}`, wantError: "event"},
		{in: `{"event":5}`, wantError: "event"},
		{in: `{"event":"x","data":[]}`, wantError: "data must be an object"},
		{in: `{"event":"x","data":"s"}`, wantError: "data must be an object"},
		{in: `{"event":"x","ack":0}`, wantError: "ack"},
		{in: `{"event":"x","ack":-1}`, wantError: "ack"},
		{in: `{"event":"x","ack":1.5}`, wantError: "ack"},
		{in: `{"event":"x","ack":2147483648}`, wantError: "ack"},
		{in: `{"event":"x","ack":"1"}`, wantError: "ack"},
	}
	for _, tt := range tests {
		f, err := Decode([]byte(tt.in))
		if tt.wantError != "" {
			if err == nil || err.Code != CodeInvalidPayload || !strings.Contains(err.Message, tt.wantError) {
				t.Errorf("%s: error %v, want INVALID_PAYLOAD about %q", tt.in, err, tt.wantError)
			}
			continue
		}
		if err != nil || f.Event != tt.event || f.Ack != tt.ack || string(f.Data) != tt.data {
			t.Errorf("%s: got %+v (%v)", tt.in, f, err)
		}
	}
}

func TestDecodeDataNamesTheField(t *testing.T) {
	var d struct {
		CallID string `json:"callId"`
	}
	err := DecodeData([]byte(`{"callId":5}`), &d)
	if err == nil || !strings.Contains(err.Message, "callId must be a string") {
		t.Fatalf("error = %v", err)
	}
}

func TestEncodeAck(t *testing.T) {
	tests := []struct {
		result any
		err    *Error
		want   string
	}{
		{nil, nil, `{"event":"ack","ack":3,"data":{"ok":true}}`},
		{struct{}{}, nil, `{"event":"ack","ack":3,"data":{"ok":true}}`},
		{map[string]string{"callId": "c"}, nil, `{"event":"ack","ack":3,"data":{"ok":true,"callId":"c"}}`},
		{nil, ErrCallNotFound, `{"event":"ack","ack":3,"data":{"ok":false,"error":` +
			`{"code":"CALL_NOT_FOUND","message":"That call or request was not found."}}}`},
	}
	for _, tt := range tests {
		if got := string(EncodeAck(3, tt.result, tt.err)); got != tt.want {
			t.Errorf("EncodeAck = %s, want %s", got, tt.want)
		}
	}
}

func TestSignalValidate(t *testing.T) {
	sdp := "v=0"
	empty := ""
	tests := []struct {
		name string
		s    Signal
		ok   bool
	}{
		{"offer", Signal{Type: "offer", SDP: &sdp}, true},
		{"answer without sdp", Signal{Type: "answer"}, false},
		{"empty sdp", Signal{Type: "offer", SDP: &empty}, false},
		{"end of candidates", Signal{Type: "candidate", Candidate: []byte("null")}, true},
		{"candidate", Signal{Type: "candidate",
			Candidate: []byte(`{"candidate":"candidate:1","sdpMid":"0","sdpMLineIndex":0}`)}, true},
		{"candidate without its string", Signal{Type: "candidate", Candidate: []byte(`{}`)}, false},
		{"candidate as a string", Signal{Type: "candidate", Candidate: []byte(`"x"`)}, false},
		{"candidate with sdp", Signal{Type: "candidate", SDP: &sdp, Candidate: []byte("null")}, false},
		{"unknown type", Signal{Type: "bye"}, false},
	}
	for _, tt := range tests {
		if err := tt.s.Validate(); (err == nil) != tt.ok {
			t.Errorf("%s: Validate = %v", tt.name, err)
		}
	}
}
