package protocol_test

import (
	"strings"
	"testing"
	"time"

	"greeter/internal/protocol"
)

// Client frames as the widget and the workbench send them.
var clientFrames = []struct {
	name  string
	frame string
	data  func() any
}{
	{
		name: "visitor:join",
		frame: `{"event":"visitor:join","data":{"pageUrl":"https://shop.example/products/` +
			`42?ref=newsletter","visitorId":"v_3kQ9xT1mZpL0aB7c.Yw2RkE5vN8sQ1uH4"},"ack":1}`,
		data: func() any {
			return &struct {
				PageURL   *string `json:"pageUrl"`
				VisitorID *string `json:"visitorId"`
			}{}
		},
	},
	{
		name:  "call:accept",
		frame: `{"event":"call:accept","data":{"requestId":"req_4fK2m9QzT1xW8cB3nL6pRa"},"ack":12}`,
		data: func() any {
			return &struct {
				RequestID *string `json:"requestId"`
				Reason    *string `json:"reason"`
			}{}
		},
	},
	{
		name: "webrtc:signal offer",
		frame: `{"event":"webrtc:signal","data":{"callId":"call_9sD3kP1mQ7zX2vB8nT4wLe",` +
			`"signal":{"type":"offer","sdp":"` + fakeSDP() + `"}},"ack":3}`,
		data: func() any {
			return &struct {
				CallID *string          `json:"callId"`
				Signal *protocol.Signal `json:"signal"`
			}{}
		},
	},
}

// fakeSDP is an offer-sized string (about 4 KiB, as a browser's offer with
// audio and video is) with the escapes a real SDP carries.
func fakeSDP() string {
	line := `a=fmtp:111 minptime=10;useinbandfec=1\r\n`
	return strings.Repeat(line, 4096/len(line))
}

func BenchmarkDecodeClientFrame(b *testing.B) {
	for _, tc := range clientFrames {
		b.Run(tc.name, func(b *testing.B) {
			raw := []byte(tc.frame)
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				f, perr := protocol.Decode(raw)
				if perr != nil {
					b.Fatal(perr)
				}
				if perr := protocol.DecodeData(f.Data, tc.data()); perr != nil {
					b.Fatal(perr)
				}
			}
		})
	}
}

// BenchmarkEncodeAgentAssigned encodes the frame every routed visitor gets,
// with the same map payload the organization loop builds.
func BenchmarkEncodeAgentAssigned(b *testing.B) {
	wave := "http://127.0.0.1:8080/media/ava-wave.webm"
	avatar := "http://127.0.0.1:8080/media/ava.png"
	card := protocol.AgentCard{
		ID:          "0195f0c2-7a3e-7cc1-9f0a-3b1f2d4e5a6b",
		DisplayName: "Ava Lindqvist",
		AvatarURL:   &avatar,
		Videos: protocol.Videos{
			Wave:  &wave,
			Intro: "http://127.0.0.1:8080/media/ava-intro.webm",
			Loop:  "http://127.0.0.1:8080/media/ava-loop.webm",
		},
	}
	// The same shape as the effective widget settings of internal/httpapi.
	settings := struct {
		Position            string `json:"position"`
		Size                string `json:"size"`
		Theme               string `json:"theme"`
		TriggerDelaySeconds int    `json:"triggerDelaySeconds"`
		AutoHideSeconds     *int   `json:"autoHideSeconds"`
		Devices             string `json:"devices"`
		ShowMinimizeButton  bool   `json:"showMinimizeButton"`
	}{"bottom-right", "medium", "dark", 3, nil, "all", true}
	connected := protocol.Time(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))

	b.ReportAllocs()
	for b.Loop() {
		frame := protocol.Encode(protocol.EventAgentAssigned, map[string]any{
			"visitorId":          "v_3kQ9xT1mZpL0aB7c.Yw2RkE5vN8sQ1uH4",
			"agent":              card,
			"settings":           settings,
			"visitorConnectedAt": connected,
		})
		if len(frame) == 0 {
			b.Fatal("empty frame")
		}
	}
}

func BenchmarkEncodeAck(b *testing.B) {
	b.Run("ok", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			protocol.EncodeAck(7, map[string]any{"requestId": "req_4fK2m9QzT1xW8cB3nL6pRa"}, nil)
		}
	})
	b.Run("error", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			protocol.EncodeAck(7, nil, protocol.ErrCallNotFound)
		}
	})
}
