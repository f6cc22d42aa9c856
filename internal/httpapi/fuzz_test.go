package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
)

// bodyRoutes are the request bodies of every JSON route, each with the
// validation its handler runs before touching the store. validate answers
// through w when it refuses, as the handler does.
var bodyRoutes = []struct {
	name     string
	new      func() any
	validate func(w http.ResponseWriter, req any)
}{
	{"login", func() any { return &loginRequest{} }, func(w http.ResponseWriter, v any) {
		req := v.(*loginRequest)
		if strings.TrimSpace(req.Email) == "" || req.Password == "" {
			WriteError(w, http.StatusBadRequest, CodeBadRequest, "email and password are required")
		}
	}},
	{"pools", func() any { return &poolRequest{} }, func(w http.ResponseWriter, v any) {
		validPoolRequest(w, *v.(*poolRequest))
	}},
	{"rules", func() any { return &ruleRequest{} }, func(w http.ResponseWriter, v any) {
		validRuleRequest(w, *v.(*ruleRequest))
	}},
	{"members", func() any { return &poolMemberRequest{} }, nil},
	{"agents: add me", func() any { return &addAgentRequest{} }, func(w http.ResponseWriter, v any) {
		if n := v.(*addAgentRequest).DisplayName; n != nil &&
			!validDisplayName(strings.TrimSpace(*n)) {
			writeDisplayNameError(w)
		}
	}},
	{"agents: update", func() any { return &updateAgentRequest{} }, func(w http.ResponseWriter, v any) {
		req := v.(*updateAgentRequest)
		if req.DisplayName != nil && !validDisplayName(strings.TrimSpace(*req.DisplayName)) {
			writeDisplayNameError(w)
		} else if req.MaxViewers != nil && !validMaxViewers(*req.MaxViewers) {
			WriteError(w, http.StatusBadRequest, CodeBadRequest, "maxViewers is out of range")
		}
	}},
	{"users", func() any { return &roleRequest{} }, nil},
	{"invites: create", func() any { return &createInviteRequest{} }, func(w http.ResponseWriter, v any) {
		req := v.(*createInviteRequest)
		if !validEmail(strings.TrimSpace(req.Email)) || !validFullName(req.FullName) {
			writeFullNameError(w)
		}
	}},
	{"invites: accept", func() any { return &acceptInviteRequest{} }, func(w http.ResponseWriter, v any) {
		if !validFullName(v.(*acceptInviteRequest).FullName) {
			writeFullNameError(w)
		}
	}},
	{"api keys", func() any { return &createAPIKeyRequest{} }, nil},
	{"org settings", func() any { return &orgRequest{} }, func(w http.ResponseWriter, v any) {
		if _, problem := v.(*orgRequest).validate(); problem != "" {
			WriteError(w, http.StatusBadRequest, CodeBadRequest, problem)
		}
	}},
}

// FuzzRequestBodies runs one body through the decoder and validation of
// every JSON route, and through the end-call parser. No body panics; a
// refusal is a 400 or 413 with a code and a message; a decoded body encodes
// back to one that decodes to the same request and gets the same verdict.
func FuzzRequestBodies(f *testing.F) {
	for _, s := range []string{
		`{"email":"admin@a.test","password":"correct horse battery"}`,
		`{"name":"Sales","description":"Pricing pages","overflowToCatchAll":true}`,
		`{"name":"Pricing","priority":5,"active":true,"conditions":[{"type":"path",` +
			`"match":"starts_with","value":"/pricing"},{"type":"query_param",` +
			`"match":"is_exactly","param":"plan","value":"pro"}]}`,
		`{"conditions":[{"type":"url","match":"regex","value":""}],"priority":5000}`,
		`{"priorityRank":2}`,
		`{"displayName":"Ava","maxViewers":25}`,
		`{"displayName":"","maxViewers":0}`,
		`{"role":"admin"}`,
		`{"email":"new@a.test","fullName":"New Person","role":"agent"}`,
		`{"fullName":"New Person","password":"long enough password","takeCalls":true}`,
		`{"name":"CRM"}`,
		`{"name":"Acme","timezone":"Europe/Berlin","rnaSeconds":15,"maxCallMinutes":120}`,
		`{"timezone":"Local","rnaSeconds":5}`,
		`{"agentId":"agt_1","orgId":"org_1"}`,
		`{"agentId":"  "}`,
		`{"name":42,"conditions":"x","priority":1.5}`,
		`{"email":"\ud800","password":"\u0000"}`,
		`[]`, `null`, ``, `{`, `   {"a":1}   `, `{"a":1} trailing`,
	} {
		f.Add([]byte(s))
	}

	f.Fuzz(func(t *testing.T, body []byte) {
		for _, route := range bodyRoutes {
			first, ok := decodeBody(t, route.name, body, MaxBodyBytes, route.new())
			if !ok {
				continue
			}
			verdict := validateBody(t, route.name, route.validate, first)

			again, err := json.Marshal(first)
			if err != nil {
				t.Fatalf("%s: a decoded request does not encode: %v", route.name, err)
			}
			second, ok := decodeBody(t, route.name, again, MaxBodyBytes, route.new())
			if !ok || !reflect.DeepEqual(first, second) {
				t.Fatalf("%s: %s re-encoded as %s decodes differently: %+v, %+v",
					route.name, body, again, first, second)
			}
			if v := validateBody(t, route.name, route.validate, second); v != verdict {
				t.Fatalf("%s: verdict %d, then %d after re-encoding %s", route.name, verdict, v, again)
			}
		}

		checkEndCallBody(t, body)
	})
}

// decodeBody runs DecodeJSON as a handler does and checks its refusal.
func decodeBody(t *testing.T, route string, body []byte, limit int64, dst any) (any, bool) {
	t.Helper()
	r := httptest.NewRequest("POST", "/", strings.NewReader(string(body)))
	w := httptest.NewRecorder()
	err := DecodeJSON(w, r, dst, limit)
	if err == nil {
		return dst, true
	}

	var be *BodyError
	if !errors.As(err, &be) || be.Message == "" ||
		(be.Status != http.StatusBadRequest && be.Status != http.StatusRequestEntityTooLarge) ||
		(be.Code != CodeBadRequest && be.Code != CodePayloadTooLarge) {
		t.Fatalf("%s: DecodeJSON(%q) = %v, want a *BodyError with a message", route, body, err)
	}
	return nil, false
}

// validateBody runs a route's validation and returns the status it
// answered with, 0 when it accepted.
func validateBody(t *testing.T, route string, validate func(http.ResponseWriter, any),
	req any) int {
	t.Helper()
	if validate == nil {
		return 0
	}
	w := httptest.NewRecorder()
	validate(w, req)
	if w.Body.Len() == 0 {
		return 0
	}

	var e errorBody
	if w.Code != http.StatusBadRequest || json.Unmarshal(w.Body.Bytes(), &e) != nil ||
		e.Error == "" || e.Code != CodeBadRequest {
		t.Fatalf("%s: refused with %d %s", route, w.Code, w.Body.Bytes())
	}
	return w.Code
}

// checkEndCallBody checks the end-call parser: an accepted body names an
// agent, and re-encoding it gives the same answer.
func checkEndCallBody(t *testing.T, body []byte) {
	t.Helper()
	if len(body) > endCallMaxBody {
		return
	}
	got, msg := parseEndCallBody(body)
	if msg != "" {
		if msg != "agentId is required" && msg != "orgId must be a string" {
			t.Fatalf("parseEndCallBody(%q) message %q", body, msg)
		}
		return
	}
	if strings.TrimSpace(string(got.agent)) == "" || string(got.agent) != strings.TrimSpace(string(got.agent)) {
		t.Fatalf("parseEndCallBody(%q) agent %q", body, got.agent)
	}

	fields := map[string]string{"agentId": string(got.agent)}
	if got.org != "" {
		fields["orgId"] = string(got.org)
	}
	again, _ := json.Marshal(fields)
	if second, msg := parseEndCallBody(again); msg != "" || second != got {
		t.Fatalf("parseEndCallBody(%q) = %+v, then %+v %q from %s", body, got, second, msg, again)
	}
}
