package httpapi

import (
	"errors"
	"log/slog"
	"net/http"
	"net/mail"
	"strings"

	"greeter/internal/auth"
	"greeter/internal/ids"
	"greeter/internal/store"
)

// inviteGone is the one answer for an invitation link that cannot be used,
// whether it never existed, was used, revoked or has expired (SPEC §14.1).
const inviteGone = "This invitation link is no longer valid."

// inviteJSON is an invitation as an admin sees it. The link is only in the
// answers that made its token.
type inviteJSON struct {
	ID        store.InviteID `json:"id"`
	Email     string         `json:"email"`
	FullName  string         `json:"fullName"`
	Role      string         `json:"role"`
	InvitedBy ids.UserID     `json:"invitedBy"`
	CreatedAt string         `json:"createdAt"`
	ExpiresAt string         `json:"expiresAt"`
	Expired   bool           `json:"expired"`
	InviteURL string         `json:"inviteUrl,omitempty"`
}

// publicInviteJSON is what the invitation page shows to whoever has the link.
type publicInviteJSON struct {
	OrgName  string `json:"orgName"`
	Email    string `json:"email"`
	FullName string `json:"fullName"`
	Role     string `json:"role"`
}

type createInviteRequest struct {
	Email    string `json:"email"`
	FullName string `json:"fullName"`
	Role     string `json:"role"`
}

type acceptInviteRequest struct {
	FullName  string `json:"fullName"`
	Password  string `json:"password"`
	TakeCalls *bool  `json:"takeCalls"`
}

func (a *API) toInviteJSON(inv store.Invite) inviteJSON {
	return inviteJSON{
		ID:        inv.ID,
		Email:     inv.Email,
		FullName:  inv.FullName,
		Role:      inv.Role,
		InvitedBy: inv.InvitedBy,
		CreatedAt: *timestamp(&inv.CreatedAt),
		ExpiresAt: *timestamp(&inv.ExpiresAt),
		Expired:   !a.now().Before(inv.ExpiresAt),
	}
}

// listInvites handles GET /api/invites: the open invitations, expired ones
// included.
func (a *API) listInvites(w http.ResponseWriter, r *http.Request, u store.User) {
	invites, err := a.store.ListInvites(r.Context(), u.OrgID)
	if err != nil {
		a.failed(w, r, err)
		return
	}

	list := []inviteJSON{}
	for _, inv := range invites {
		list = append(list, a.toInviteJSON(inv))
	}
	WriteJSON(w, http.StatusOK, map[string]any{"invites": list})
}

// createInvite handles POST /api/invites {email, fullName, role}. The answer
// carries the link, which is never shown again.
func (a *API) createInvite(w http.ResponseWriter, r *http.Request, u store.User) {
	var req createInviteRequest
	if !a.decode(w, r, &req) {
		return
	}

	email := strings.TrimSpace(req.Email)
	if !validEmail(email) {
		WriteError(w, http.StatusBadRequest, CodeBadRequest, "email must be a valid email address")
		return
	}
	if !validFullName(req.FullName) {
		writeFullNameError(w)
		return
	}
	if req.Role != store.RoleAdmin && req.Role != store.RoleAgent {
		WriteError(w, http.StatusBadRequest, CodeBadRequest, `role must be "admin" or "agent"`)
		return
	}

	token, hash := auth.NewToken()
	now := a.now()
	inv, err := a.store.CreateInvite(r.Context(), store.NewInvite{
		OrgID: u.OrgID, Email: email, FullName: req.FullName, Role: req.Role,
		TokenHash: hash, InvitedBy: u.ID, CreatedAt: now, ExpiresAt: now.Add(auth.InviteLifetime),
	})
	if writeStoreConflict(w, err) {
		return
	}
	if err != nil {
		a.failed(w, r, err)
		return
	}

	a.log.InfoContext(r.Context(), "invite created", slog.String("org_id", string(u.OrgID)),
		slog.String("invite_id", string(inv.ID)), slog.String("by_user_id", string(u.ID)))
	out := a.toInviteJSON(inv)
	out.InviteURL = a.inviteURL(r, token)
	WriteJSON(w, http.StatusCreated, out)
}

// regenerateInvite handles POST /api/invites/{id}/regenerate: a new link
// valid for another 7 days; the old link stops working.
func (a *API) regenerateInvite(w http.ResponseWriter, r *http.Request, u store.User) {
	id := store.InviteID(r.PathValue("id"))

	token, hash := auth.NewToken()
	now := a.now()
	inv, err := a.store.RegenerateInvite(r.Context(), u.OrgID, id, hash, now,
		now.Add(auth.InviteLifetime))
	switch {
	case errors.Is(err, store.ErrNotFound):
		WriteError(w, http.StatusNotFound, CodeNotFound, "Invite not found")
		return
	case errors.Is(err, store.ErrInviteUnusable):
		WriteError(w, http.StatusConflict, CodeConflict,
			"This invite was already accepted or revoked")
		return
	case writeStoreConflict(w, err):
		return
	case err != nil:
		a.failed(w, r, err)
		return
	}

	a.log.InfoContext(r.Context(), "invite regenerated", slog.String("org_id", string(u.OrgID)),
		slog.String("invite_id", string(inv.ID)), slog.String("by_user_id", string(u.ID)))
	out := a.toInviteJSON(inv)
	out.InviteURL = a.inviteURL(r, token)
	WriteJSON(w, http.StatusOK, out)
}

// revokeInvite handles DELETE /api/invites/{id}: the link stops working.
func (a *API) revokeInvite(w http.ResponseWriter, r *http.Request, u store.User) {
	id := store.InviteID(r.PathValue("id"))

	err := a.store.RevokeInvite(r.Context(), u.OrgID, id, a.now())
	switch {
	case errors.Is(err, store.ErrNotFound):
		WriteError(w, http.StatusNotFound, CodeNotFound, "Invite not found")
		return
	case errors.Is(err, store.ErrInviteUnusable):
		WriteError(w, http.StatusConflict, CodeConflict, "This invite was already accepted")
		return
	case err != nil:
		a.failed(w, r, err)
		return
	}

	a.log.InfoContext(r.Context(), "invite revoked", slog.String("org_id", string(u.OrgID)),
		slog.String("invite_id", string(id)), slog.String("by_user_id", string(u.ID)))
	success(w)
}

// showInvite handles GET /api/invites/{token}, public: what the invitation
// page shows before the invitee sets a password.
func (a *API) showInvite(w http.ResponseWriter, r *http.Request) {
	inv, ok := a.usableInvite(w, r)
	if !ok {
		return
	}

	org, err := a.store.OrgByID(r.Context(), inv.OrgID)
	if err != nil {
		a.failed(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, publicInviteJSON{
		OrgName: org.Name, Email: inv.Email, FullName: inv.FullName, Role: inv.Role,
	})
}

// acceptInvite handles POST /api/invites/{token}/accept {fullName, password,
// takeCalls?}, public: it creates the user, signs them in and uses up the
// link.
func (a *API) acceptInvite(w http.ResponseWriter, r *http.Request) {
	if ok, retry := a.limits.accept.Take(clientIP(r), a.now()); !ok {
		setRetryAfter(w, retry)
		WriteError(w, http.StatusTooManyRequests, CodeRateLimited, "Too many requests")
		return
	}
	if _, ok := a.usableInvite(w, r); !ok {
		return
	}

	var req acceptInviteRequest
	if !a.decode(w, r, &req) {
		return
	}
	if !validFullName(req.FullName) {
		writeFullNameError(w)
		return
	}
	hash, err := a.hashPassword(req.Password)
	if errors.Is(err, auth.ErrPasswordLength) {
		WriteError(w, http.StatusBadRequest, CodeBadRequest,
			"password must be 10 to 128 characters")
		return
	}
	if err != nil {
		a.failed(w, r, err)
		return
	}

	u, err := a.store.AcceptInvite(r.Context(), store.AcceptInvite{
		TokenHash: auth.HashToken(r.PathValue("token")), FullName: req.FullName,
		PasswordHash: hash, TakeCalls: req.TakeCalls != nil && *req.TakeCalls, At: a.now(),
	})
	if !a.writeAcceptError(w, r, err) {
		return
	}
	a.signInInvitee(w, r, u)
}

func (a *API) writeAcceptError(w http.ResponseWriter, r *http.Request, err error) bool {
	switch {
	case err == nil:
		return true
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrInviteUnusable):
		WriteError(w, http.StatusNotFound, CodeNotFound, inviteGone)
	case writeStoreConflict(w, err):
	default:
		a.failed(w, r, err)
	}
	return false
}

// signInInvitee opens a session for a user who has just accepted an
// invitation and answers like a login.
func (a *API) signInInvitee(w http.ResponseWriter, r *http.Request, u store.User) {
	token, err := a.sessions.Open(r.Context(), u)
	if err != nil {
		a.failed(w, r, err)
		return
	}
	me, err := a.describe(r.Context(), u)
	if err != nil {
		a.failed(w, r, err)
		return
	}

	auth.SetSessionCookie(w, token, a.secure)
	a.log.InfoContext(r.Context(), "invite accepted", slog.String("org_id", string(u.OrgID)),
		slog.String("user_id", string(u.ID)), slog.String("role", u.Role))
	WriteJSON(w, http.StatusCreated, me)
}

// usableInvite loads the invitation named by the path's token, answering 404
// when it cannot be used.
func (a *API) usableInvite(w http.ResponseWriter, r *http.Request) (store.Invite, bool) {
	inv, err := a.store.InviteByTokenHash(r.Context(), auth.HashToken(r.PathValue("token")))
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		a.failed(w, r, err)
		return store.Invite{}, false
	}
	if err != nil || !inv.Usable(a.now()) {
		WriteError(w, http.StatusNotFound, CodeNotFound, inviteGone)
		return store.Invite{}, false
	}
	return inv, true
}

func (a *API) inviteURL(r *http.Request, token string) string {
	return a.publicBase(r) + "/invite/" + token
}

// validEmail accepts a bare address (no display name) of at most 254
// characters.
func validEmail(s string) bool {
	if len(s) < 3 || len(s) > 254 {
		return false
	}
	addr, err := mail.ParseAddress(s)
	return err == nil && addr.Address == s
}

func validFullName(s string) bool { return validName(s, maxFullName) }

const maxFullName = 100

func writeFullNameError(w http.ResponseWriter) {
	WriteError(w, http.StatusBadRequest, CodeBadRequest, nameRule("fullName", maxFullName))
}
