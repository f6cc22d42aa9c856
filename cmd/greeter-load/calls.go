package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// maxFailuresInARow stops the call phase when the server stops answering.
const maxFailuresInARow = 5

// callResult is what the call phase measured.
type callResult struct {
	rings    []time.Duration // call:request sent → agent read call:incoming
	accepts  []time.Duration // call:request sent → visitor read call:accepted
	failures map[string]int
	aborted  string
	took     time.Duration
}

// runCalls opens one more visitor and makes cfg.calls calls from it, one
// after another: request, ring, accept (by the agent's reader, at once),
// accepted, end. The idle visitors stay connected meanwhile.
func runCalls(ctx context.Context, d *dialer, cfg config, rings <-chan ring) callResult {
	res := callResult{failures: map[string]int{}}
	frames := make(chan frame, 256)
	c, err := joinCaller(ctx, d, cfg, frames)
	if err != nil {
		res.aborted = "the calling visitor could not join: " + err.Error()
		return res
	}
	defer closeAll([]*client{c})

	start := time.Now()
	inARow := 0
	for i := 0; i < cfg.calls && ctx.Err() == nil; i++ {
		ringAfter, acceptAfter, err := makeCall(ctx, c, frames, rings, cfg.stepTimeout)
		if err != nil {
			res.failures[shorten(err.Error())]++
			inARow++
			if !c.open() {
				res.aborted = "the calling visitor was disconnected: " + c.closeReason()
				break
			}
			if inARow == maxFailuresInARow {
				res.aborted = fmt.Sprintf("%d calls in a row failed", inARow)
				break
			}
			continue
		}
		inARow = 0
		res.rings = append(res.rings, ringAfter)
		res.accepts = append(res.accepts, acceptAfter)
	}
	res.took = time.Since(start)
	return res
}

// joinCaller connects the visitor that makes the calls.
func joinCaller(ctx context.Context, d *dialer, cfg config, frames chan frame) (*client, error) {
	c, err := d.dial(ctx, visitorURL(cfg), http.Header{"Origin": {cfg.origin}})
	if err != nil {
		return nil, err
	}
	c.read(ctx, forward(frames))
	n, err := c.send(ctx, "visitor:join", joinData(cfg))
	if err == nil {
		var f frame
		f, err = c.await(ctx, frames, cfg.stepTimeout, "visitor:join ack", isAck(n))
		if err == nil {
			err = f.ack().err()
		}
	}
	if err != nil {
		closeAll([]*client{c})
		return nil, err
	}
	return c, nil
}

// makeCall runs one call and returns how long after the request the agent
// was rung and the visitor heard the call was accepted.
func makeCall(ctx context.Context, c *client, frames <-chan frame, rings <-chan ring,
	timeout time.Duration) (ringAfter, acceptAfter time.Duration, err error) {

	t0 := time.Now()
	n, err := c.send(ctx, "call:request", struct{}{})
	if err != nil {
		return 0, 0, err
	}
	f, err := c.await(ctx, frames, timeout, "call:request ack", isAck(n))
	if err != nil {
		return 0, 0, err
	}
	requestID := f.ack().RequestID
	if err := f.ack().err(); err != nil {
		return 0, 0, fmt.Errorf("call:request: %w", err)
	}

	r, err := awaitRing(ctx, rings, timeout, requestID)
	if err == nil {
		f, err = c.await(ctx, frames, timeout, "call:accepted", func(f frame) bool {
			return f.Event == "call:accepted" && idsOf(f).RequestID == requestID
		})
	}
	if err != nil {
		// Withdraw the request so that the next call starts clean.
		_, _ = c.send(ctx, "call:cancel", map[string]string{"requestId": requestID})
		return 0, 0, err
	}

	if err := endCall(ctx, c, frames, timeout, idsOf(f).CallID); err != nil {
		return 0, 0, err
	}
	return r.at.Sub(t0), f.at.Sub(t0), nil
}

// endCall ends the call from the visitor's side and waits for the ack: by
// then the loop has put the agent back to live, so the next request can
// ring at once.
func endCall(ctx context.Context, c *client, frames <-chan frame, timeout time.Duration,
	callID string) error {

	n, err := c.send(ctx, "call:end", map[string]string{"callId": callID})
	if err != nil {
		return err
	}
	f, err := c.await(ctx, frames, timeout, "call:end ack", isAck(n))
	if err != nil {
		return err
	}
	if err := f.ack().err(); err != nil {
		return fmt.Errorf("call:end: %w", err)
	}
	return nil
}

// awaitRing waits for the ring of requestID, skipping older ones.
func awaitRing(ctx context.Context, rings <-chan ring, timeout time.Duration,
	requestID string) (ring, error) {

	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		select {
		case r := <-rings:
			if r.requestID == requestID {
				return r, nil
			}
		case <-t.C:
			return ring{}, errors.New("no agent got call:incoming within " + timeout.String())
		case <-ctx.Done():
			return ring{}, ctx.Err()
		}
	}
}

type callIDs struct {
	RequestID string `json:"requestId"`
	CallID    string `json:"callId"`
}

func idsOf(f frame) callIDs {
	var v callIDs
	if err := json.Unmarshal(f.Data, &v); err != nil {
		return callIDs{}
	}
	return v
}
