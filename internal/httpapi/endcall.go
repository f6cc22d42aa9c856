package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"greeter/internal/auth"
	"greeter/internal/calls"
	"greeter/internal/ids"
	"greeter/internal/store"
)

// endCallMaxBody is the largest end-call body (SPEC §16.3).
const endCallMaxBody = 16 << 10

// platformKeyID names the platform key in logs and rate limits.
const platformKeyID = "platform"

// dummySecretHash stands in for the stored hash of an unknown key id, so
// that an unknown key costs the same comparison as a wrong one.
var dummySecretHash = auth.HashAPISecret("no key has this secret")

// keyCaller is who presented a valid internal API key.
type keyCaller struct {
	keyID string         // the key's public id, or platformKeyID
	org   ids.OrgID      // the organization key's org; "" for the platform key
	row   store.APIKeyID // "" for the platform key
}

// endCallBody is what an end-call request asks for, once validated.
type endCallBody struct {
	agent ids.AgentID
	org   ids.OrgID // "" when the body names no organization
}

// endCall handles POST /api/agent/end-call, checking the rows of the SPEC
// §11.2 table in their order. Its bodies are fixed by the spec and carry no
// code.
func (a *API) endCall(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeFixed(w, http.StatusMethodNotAllowed, "Method not allowed")
		return
	}
	if a.production && a.platformKey == "" {
		writeFixed(w, http.StatusInternalServerError, "Server misconfiguration")
		return
	}

	caller, ok := a.authenticateEndCall(w, r)
	if !ok {
		return
	}
	if !a.allowKeyUse(w, caller) {
		return
	}

	body, ok := readEndCallBody(w, r)
	if !ok {
		return
	}

	a.endCallOf(w, r, caller, body)
}

// authenticateEndCall applies the failed-authentication limit of the
// client's IP (row 3) and checks the key (row 4).
func (a *API) authenticateEndCall(w http.ResponseWriter, r *http.Request) (keyCaller, bool) {
	ip, now := clientIP(r), a.now()
	if over, retry := a.limits.failedAuth.Exhausted(ip, now); over {
		writeTooMany(w, retry)
		return keyCaller{}, false
	}

	caller, ok, err := a.checkInternalKey(r.Context(), r.Header.Get("X-Internal-Api-Key"))
	if err != nil {
		a.log.ErrorContext(r.Context(), "unable to check an internal API key",
			slog.Any("err", err))
		writeFixed(w, http.StatusInternalServerError, "Internal server error")
		return keyCaller{}, false
	}
	if !ok {
		a.limits.failedAuth.Spend(ip, now)
		a.log.InfoContext(r.Context(), "internal API key refused", slog.String("client_ip", ip))
		writeFixed(w, http.StatusUnauthorized, "Unauthorized")
		return keyCaller{}, false
	}

	a.log.InfoContext(r.Context(), "internal API key used", slog.String("key_id", caller.keyID),
		slog.String("org_id", string(caller.org)), slog.String("route", r.Pattern))
	if caller.row != "" {
		if err := a.store.TouchAPIKey(r.Context(), caller.row, now); err != nil {
			a.log.WarnContext(r.Context(), "unable to record an API key's use",
				slog.String("key_id", caller.keyID), slog.Any("err", err))
		}
	}
	return caller, true
}

// checkInternalKey reports whether the header value is the platform key or
// an active organization key. Surrounding spaces are ignored.
func (a *API) checkInternalKey(ctx context.Context, header string) (keyCaller, bool, error) {
	presented := strings.TrimSpace(header)
	if presented == "" {
		return keyCaller{}, false, nil
	}
	if auth.PlatformKeyMatches(presented, a.platformKey) {
		return keyCaller{keyID: platformKeyID}, true, nil
	}

	keyID, secret, ok := auth.ParseAPIKey(presented)
	if !ok {
		return keyCaller{}, false, nil
	}
	k, err := a.store.APIKeyByKeyID(ctx, keyID)
	if errors.Is(err, store.ErrNotFound) {
		auth.APISecretMatches(secret, dummySecretHash)
		return keyCaller{}, false, nil
	}
	if err != nil {
		return keyCaller{}, false, err
	}
	if !auth.APISecretMatches(secret, k.SecretHash) || k.RevokedAt != nil {
		return keyCaller{}, false, nil
	}
	return keyCaller{keyID: k.KeyID, org: k.OrgID, row: k.ID}, true, nil
}

// allowKeyUse applies the per-key and per-organization limits (row 5).
func (a *API) allowKeyUse(w http.ResponseWriter, caller keyCaller) bool {
	now := a.now()
	ok, retry := a.limits.perKey.Take(caller.keyID, now)
	if ok && caller.org != "" {
		ok, retry = a.limits.perOrg.Take(string(caller.org), now)
	}
	if !ok {
		writeTooMany(w, retry)
	}
	return ok
}

// readEndCallBody reads and validates the body (rows 6 to 8).
func readEndCallBody(w http.ResponseWriter, r *http.Request) (endCallBody, bool) {
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, endCallMaxBody))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		writeFixed(w, http.StatusRequestEntityTooLarge, "Payload too large")
		return endCallBody{}, false
	}

	if err != nil {
		writeFixed(w, http.StatusBadRequest, "agentId is required")
		return endCallBody{}, false
	}

	body, msg := parseEndCallBody(raw)
	if msg != "" {
		writeFixed(w, http.StatusBadRequest, msg)
		return endCallBody{}, false
	}
	return body, true
}

// parseEndCallBody returns the body's agent and organization, or the message
// of the first rule it breaks.
func parseEndCallBody(raw []byte) (endCallBody, string) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
		return endCallBody{}, "agentId is required"
	}

	agent, ok := nonEmptyString(fields["agentId"])
	if !ok {
		return endCallBody{}, "agentId is required"
	}
	body := endCallBody{agent: ids.AgentID(agent)}

	if rawOrg, present := fields["orgId"]; present {
		org, ok := nonEmptyString(rawOrg)
		if !ok {
			return endCallBody{}, "orgId must be a string"
		}
		body.org = ids.OrgID(org)
	}
	return body, ""
}

// nonEmptyString decodes a JSON string that holds more than white space.
func nonEmptyString(raw json.RawMessage) (string, bool) {
	if len(raw) == 0 || raw[0] != '"' {
		return "", false
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	s = strings.TrimSpace(s)
	return s, s != ""
}

// endCallOf ends the agent's call when the caller may reach the agent and
// the agent is in one (rows 9 to 11). Every outcome answers the same.
func (a *API) endCallOf(w http.ResponseWriter, r *http.Request, caller keyCaller, b endCallBody) {
	org, found, err := a.endCallTarget(r.Context(), caller, b)
	if err != nil {
		a.log.ErrorContext(r.Context(), "unable to find the agent of an end-call",
			slog.String("key_id", caller.keyID), slog.Any("err", err))
		writeFixed(w, http.StatusInternalServerError, "Internal server error")
		return
	}
	if !found {
		success(w)
		return
	}

	ctx, cancel := liveContext(r)
	defer cancel()
	ended, err := a.hub.EndAgentCall(ctx, org, b.agent, calls.EndedByAPI)
	if err != nil {
		a.log.ErrorContext(r.Context(), "unable to end an agent's call",
			slog.String("key_id", caller.keyID), slog.String("org_id", string(org)),
			slog.String("agent_id", string(b.agent)), slog.Any("err", err))
		writeFixed(w, http.StatusInternalServerError, "Internal server error")
		return
	}
	if ended {
		a.log.InfoContext(r.Context(), "call ended through the internal API",
			slog.String("key_id", caller.keyID), slog.String("org_id", string(org)),
			slog.String("agent_id", string(b.agent)))
	}
	success(w)
}

// endCallTarget returns the organization of the agent when the caller may
// reach it: the platform key reaches every organization, an organization
// key only its own, and a given orgId must match as well.
func (a *API) endCallTarget(
	ctx context.Context, caller keyCaller, b endCallBody,
) (ids.OrgID, bool, error) {
	org := caller.org
	if org != "" && b.org != "" && b.org != org {
		return "", false, nil
	}
	if org == "" {
		org = b.org
	}

	var p store.AgentProfile
	var err error
	if org != "" {
		p, err = a.store.AgentProfile(ctx, org, b.agent)
	} else {
		p, err = a.store.AgentProfileByID(ctx, b.agent)
	}
	if errors.Is(err, store.ErrNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return p.OrgID, true, nil
}

// writeFixed answers with one of the end-call bodies of SPEC §11.2, which
// have no code.
func writeFixed(w http.ResponseWriter, status int, message string) {
	WriteJSON(w, status, map[string]string{"error": message})
}

func writeTooMany(w http.ResponseWriter, retry time.Duration) {
	setRetryAfter(w, retry)
	writeFixed(w, http.StatusTooManyRequests, "Too many requests")
}
