package httpapi

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"greeter/internal/auth"
	"greeter/internal/ids"
	"greeter/internal/store"
)

// maxKeyName is the longest name an API key may have.
const maxKeyName = 100

// apiKeyJSON is an organization API key as the admin console lists it. Key
// is set only in the answer that created it: the secret is never shown again.
type apiKeyJSON struct {
	ID         store.APIKeyID `json:"id"`
	Name       string         `json:"name"`
	Prefix     string         `json:"prefix"` // gk_<keyId>_…
	Key        string         `json:"key,omitempty"`
	CreatedBy  creatorJSON    `json:"createdBy"`
	CreatedAt  string         `json:"createdAt"`
	LastUsedAt *string        `json:"lastUsedAt"`
}

type creatorJSON struct {
	ID       ids.UserID `json:"id"`
	FullName string     `json:"fullName"`
}

type createAPIKeyRequest struct {
	Name string `json:"name"`
}

func toAPIKeyJSON(k store.APIKey) apiKeyJSON {
	return apiKeyJSON{
		ID:         k.ID,
		Name:       k.Name,
		Prefix:     auth.DisplayAPIKey(k.KeyID),
		CreatedBy:  creatorJSON{ID: k.CreatedBy, FullName: k.CreatedByName},
		CreatedAt:  *timestamp(&k.CreatedAt),
		LastUsedAt: timestamp(k.LastUsedAt),
	}
}

// listAPIKeys handles GET /api/api-keys: the organization's active keys.
func (a *API) listAPIKeys(w http.ResponseWriter, r *http.Request, u store.User) {
	keys, err := a.store.ListAPIKeys(r.Context(), u.OrgID)
	if err != nil {
		a.failed(w, r, err)
		return
	}

	list := []apiKeyJSON{}
	for _, k := range keys {
		list = append(list, toAPIKeyJSON(k))
	}
	WriteJSON(w, http.StatusOK, map[string]any{"apiKeys": list})
}

// createAPIKey handles POST /api/api-keys {name}. The full key is in this
// answer only.
func (a *API) createAPIKey(w http.ResponseWriter, r *http.Request, u store.User) {
	var req createAPIKeyRequest
	if !a.decode(w, r, &req) {
		return
	}

	name := strings.TrimSpace(req.Name)
	if !validName(name, maxKeyName) {
		WriteError(w, http.StatusBadRequest, CodeBadRequest, nameRule("name", maxKeyName))
		return
	}

	full, keyID, secretHash := auth.NewAPIKey()
	k, err := a.store.CreateAPIKey(r.Context(), store.NewAPIKey{
		OrgID: u.OrgID, Name: name, KeyID: keyID, SecretHash: secretHash,
		CreatedBy: u.ID, CreatedAt: a.now(),
	})
	if errors.Is(err, store.ErrTooManyKeys) {
		WriteError(w, http.StatusConflict, CodeConflict, fmt.Sprintf(
			"An organization can have at most %d active API keys", store.MaxActiveAPIKeys))
		return
	}
	if err != nil {
		a.failed(w, r, err)
		return
	}

	a.log.InfoContext(r.Context(), "API key created", slog.String("org_id", string(u.OrgID)),
		slog.String("key_id", keyID), slog.String("by_user_id", string(u.ID)))
	k.CreatedByName = u.FullName
	out := toAPIKeyJSON(k)
	out.Key = full
	WriteJSON(w, http.StatusCreated, out)
}

// revokeAPIKey handles DELETE /api/api-keys/{id}. The next request with the
// key is refused.
func (a *API) revokeAPIKey(w http.ResponseWriter, r *http.Request, u store.User) {
	id := store.APIKeyID(r.PathValue("id"))

	err := a.store.RevokeAPIKey(r.Context(), u.OrgID, id, a.now())
	if errors.Is(err, store.ErrNotFound) {
		WriteError(w, http.StatusNotFound, CodeNotFound, "API key not found")
		return
	}
	if err != nil {
		a.failed(w, r, err)
		return
	}

	a.log.InfoContext(r.Context(), "API key revoked", slog.String("org_id", string(u.OrgID)),
		slog.String("api_key_id", string(id)), slog.String("by_user_id", string(u.ID)))
	success(w)
}
