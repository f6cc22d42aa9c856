package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// ring is a call:incoming as an agent received it.
type ring struct {
	requestID string
	at        time.Time
}

// agentConn is a signed-in, live agent that accepts every ring at once.
type agentConn struct {
	email  string
	client *client
	acks   chan frame
}

// connectAgents signs every agent in, opens its workbench socket and puts
// it live. Every agent reports the rings it gets on rings.
func connectAgents(ctx context.Context, d *dialer, cfg config, rings chan<- ring,
	progress io.Writer) ([]*agentConn, error) {

	var out []*agentConn
	for _, email := range cfg.agents {
		a, err := connectAgent(ctx, d, cfg, email, rings)
		if err != nil {
			closeAll(agentClients(out))
			return nil, fmt.Errorf("agent %s: %w", email, err)
		}
		say(progress, "agent %s is live", email)
		out = append(out, a)
	}
	return out, nil
}

func connectAgent(ctx context.Context, d *dialer, cfg config, email string,
	rings chan<- ring) (*agentConn, error) {

	cookie, err := signIn(ctx, cfg, email)
	if err != nil {
		return nil, err
	}
	h := http.Header{"Origin": {originOf(cfg.url)}, "Cookie": {cookie.String()}}
	c, err := d.dial(ctx, cfg.url+"/ws/agent", h)
	if err != nil {
		return nil, err
	}
	a := &agentConn{email: email, client: c, acks: make(chan frame, 16)}
	c.read(ctx, a.handle(ctx, rings))

	n, err := c.send(ctx, "agent:back", struct{}{})
	if err == nil {
		var f frame
		f, err = c.await(ctx, a.acks, cfg.stepTimeout, "agent:back ack", isAck(n))
		if err == nil {
			err = f.ack().err()
		}
	}
	if err != nil {
		closeAll([]*client{c})
		return nil, fmt.Errorf("going live: %w", err)
	}
	return a, nil
}

// signIn posts the credentials and returns the session cookie.
func signIn(ctx context.Context, cfg config, email string) (*http.Cookie, error) {
	body, err := json.Marshal(map[string]string{"email": email, "password": cfg.password})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.stepTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, cfg.url+"/api/auth/login",
		bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", originOf(cfg.url))

	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("sign-in: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return nil, fmt.Errorf("sign-in: HTTP %d %s", resp.StatusCode, bytes.TrimSpace(msg))
	}
	for _, c := range resp.Cookies() {
		if c.Name == "greeter_session" {
			return &http.Cookie{Name: c.Name, Value: c.Value}, nil
		}
	}
	return nil, fmt.Errorf("sign-in: no greeter_session cookie")
}

// handle is the agent's reader: it accepts every ring as soon as it
// arrives, after reporting it on rings, like a workbench whose agent clicks
// at once.
func (a *agentConn) handle(ctx context.Context, rings chan<- ring) func(frame) {
	return func(f frame) {
		switch f.Event {
		case "ack":
			forward(a.acks)(f)
		case "call:incoming":
			var d struct {
				RequestID string `json:"requestId"`
			}
			if json.Unmarshal(f.Data, &d) != nil {
				return
			}
			select {
			case rings <- ring{requestID: d.RequestID, at: f.at}:
			default:
			}
			// A failed write ends the connection; runCalls sees the call fail.
			_, _ = a.client.send(ctx, "call:accept", map[string]string{"requestId": d.RequestID})
		}
	}
}

// originOf returns the scheme://host[:port] of a URL.
func originOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	return u.Scheme + "://" + u.Host
}

func agentClients(as []*agentConn) []*client {
	out := make([]*client, 0, len(as))
	for _, a := range as {
		out = append(out, a.client)
	}
	return out
}
