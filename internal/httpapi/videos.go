package httpapi

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"

	"greeter/internal/ids"
	"greeter/internal/media"
	"greeter/internal/realtime"
	"greeter/internal/store"
)

// CodeUnsupportedMediaType answers an upload that is not a WebM or MP4 file.
const CodeUnsupportedMediaType = "UNSUPPORTED_MEDIA_TYPE"

// videosJSON holds one URL per kind of greeting video, null where unset.
type videosJSON struct {
	Wave  *string `json:"wave"`
	Intro *string `json:"intro"`
	Loop  *string `json:"loop"`
}

// agentVideosResponse answers a change of a profile's videos.
type agentVideosResponse struct {
	Videos      videosJSON `json:"videos"`
	VideosReady bool       `json:"videosReady"`
}

// memberVideosResponse answers a change of a pool member's own videos.
type memberVideosResponse struct {
	Videos videosJSON `json:"videos"`
}

// videoOverviewJSON is the answer of GET /api/agents/{id}/videos.
type videoOverviewJSON struct {
	Profile     videosJSON            `json:"profile"`
	VideosReady bool                  `json:"videosReady"`
	Pools       []membershipVideoJSON `json:"pools"`
}

type membershipVideoJSON struct {
	PoolID       ids.PoolID `json:"poolId"`
	PoolName     string     `json:"poolName"`
	IsCatchAll   bool       `json:"isCatchAll"`
	PriorityRank int        `json:"priorityRank"`
	Videos       videosJSON `json:"videos"`
}

// registerVideos adds the greeting video routes (SPEC §13, §15). The agent
// manages their own videos; an admin those of every agent of the org.
func (a *API) registerVideos(mux *http.ServeMux) {
	user := func(h UserHandler) http.Handler { return a.csrf.Handler(a.RequireUser(h)) }

	mux.Handle("GET /api/agents/{id}/videos", a.RequireUser(a.agentVideos))
	mux.Handle("PUT /api/agents/{id}/videos/{kind}", user(a.putAgentVideo))
	mux.Handle("DELETE /api/agents/{id}/videos/{kind}", user(a.deleteAgentVideo))
	mux.Handle("PUT /api/pools/{id}/members/{agentId}/videos/{kind}", user(a.putMemberVideo))
	mux.Handle("DELETE /api/pools/{id}/members/{agentId}/videos/{kind}",
		user(a.deleteMemberVideo))
}

// agentVideos handles GET /api/agents/{id}/videos: the profile's videos and
// the agent's own videos in each of their pools.
func (a *API) agentVideos(w http.ResponseWriter, r *http.Request, u store.User) {
	p, ok := a.videoAgent(w, r, u, ids.AgentID(r.PathValue("id")))
	if !ok {
		return
	}

	ms, err := a.store.AgentMemberships(r.Context(), u.OrgID, p.ID)
	if err != nil {
		a.failed(w, r, err)
		return
	}

	origin := a.publicBase(r)
	out := videoOverviewJSON{Profile: toVideosJSON(origin, p.Video),
		VideosReady: p.VideosReady(), Pools: []membershipVideoJSON{}}
	for _, m := range ms {
		out.Pools = append(out.Pools, membershipVideoJSON{PoolID: m.PoolID, PoolName: m.PoolName,
			IsCatchAll: m.IsCatchAll, PriorityRank: m.PriorityRank,
			Videos: toVideosJSON(origin, m.Video)})
	}
	WriteJSON(w, http.StatusOK, out)
}

// putAgentVideo handles PUT /api/agents/{id}/videos/{kind}, whose body is
// the video file itself.
func (a *API) putAgentVideo(w http.ResponseWriter, r *http.Request, u store.User) {
	kind, ok := videoKind(w, r)
	if !ok {
		return
	}
	p, ok := a.videoAgent(w, r, u, ids.AgentID(r.PathValue("id")))
	if !ok {
		return
	}
	v, ok := a.storeUpload(w, r)
	if !ok {
		return
	}
	a.setAgentVideo(w, r, u, p.ID, kind, v)
}

// deleteAgentVideo handles DELETE /api/agents/{id}/videos/{kind}.
func (a *API) deleteAgentVideo(w http.ResponseWriter, r *http.Request, u store.User) {
	kind, ok := videoKind(w, r)
	if !ok {
		return
	}
	p, ok := a.videoAgent(w, r, u, ids.AgentID(r.PathValue("id")))
	if !ok {
		return
	}
	a.setAgentVideo(w, r, u, p.ID, kind, media.Video{})
}

// setAgentVideo records v (none when its name is empty) as the profile's
// video of kind, then lets live routing see it.
func (a *API) setAgentVideo(w http.ResponseWriter, r *http.Request, u store.User,
	agent ids.AgentID, kind string, v media.Video) {
	p, err := a.store.SetAgentVideo(r.Context(), u.OrgID, agent, kind, v.Name)
	if errors.Is(err, store.ErrNotFound) {
		WriteError(w, http.StatusNotFound, CodeNotFound, "Agent not found")
		return
	}
	if err != nil {
		a.failed(w, r, err)
		return
	}

	a.reconfigure(r, u.OrgID)
	a.logVideoChange(r, u, "", agent, kind, v)
	WriteJSON(w, http.StatusOK, agentVideosResponse{
		Videos: toVideosJSON(a.publicBase(r), p.Video), VideosReady: p.VideosReady(),
	})
}

// putMemberVideo handles PUT /api/pools/{id}/members/{agentId}/videos/{kind}.
func (a *API) putMemberVideo(w http.ResponseWriter, r *http.Request, u store.User) {
	kind, ok := videoKind(w, r)
	if !ok {
		return
	}
	m, ok := a.videoMember(w, r, u)
	if !ok {
		return
	}
	v, ok := a.storeUpload(w, r)
	if !ok {
		return
	}
	a.setMemberVideo(w, r, u, m, kind, v)
}

// deleteMemberVideo handles DELETE
// /api/pools/{id}/members/{agentId}/videos/{kind}: visitors of the pool see
// the profile's video of that kind again.
func (a *API) deleteMemberVideo(w http.ResponseWriter, r *http.Request, u store.User) {
	kind, ok := videoKind(w, r)
	if !ok {
		return
	}
	m, ok := a.videoMember(w, r, u)
	if !ok {
		return
	}
	a.setMemberVideo(w, r, u, m, kind, media.Video{})
}

func (a *API) setMemberVideo(w http.ResponseWriter, r *http.Request, u store.User,
	m store.PoolMember, kind string, v media.Video) {
	m, err := a.store.SetPoolMemberVideo(r.Context(), u.OrgID, m.PoolID, m.AgentID, kind, v.Name)
	if errors.Is(err, store.ErrNotFound) {
		WriteError(w, http.StatusNotFound, CodeNotFound, "Pool member not found")
		return
	}
	if err != nil {
		a.failed(w, r, err)
		return
	}

	a.reconfigure(r, u.OrgID)
	a.logVideoChange(r, u, m.PoolID, m.AgentID, kind, v)
	WriteJSON(w, http.StatusOK, memberVideosResponse{Videos: toVideosJSON(a.publicBase(r), m.Video)})
}

// videoKind returns the {kind} of the path, answering 400 when it is not one.
func videoKind(w http.ResponseWriter, r *http.Request) (string, bool) {
	kind := r.PathValue("kind")
	if !slices.Contains(store.VideoKinds, kind) {
		WriteError(w, http.StatusBadRequest, CodeBadRequest,
			"The video kind must be wave, intro or loop")
		return "", false
	}
	return kind, true
}

// videoAgent loads the active agent whose videos u wants to see or change:
// their own, or any of the org's as an admin. An agent of another
// organization is not found, exactly like one that does not exist.
func (a *API) videoAgent(w http.ResponseWriter, r *http.Request, u store.User,
	id ids.AgentID) (store.AgentProfile, bool) {
	p, err := a.store.AgentProfile(r.Context(), u.OrgID, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !p.Active) {
		WriteError(w, http.StatusNotFound, CodeNotFound, "Agent not found")
		return store.AgentProfile{}, false
	}
	if err != nil {
		a.failed(w, r, err)
		return store.AgentProfile{}, false
	}

	if u.Role != store.RoleAdmin && p.UserID != u.ID {
		WriteError(w, http.StatusForbidden, CodeForbidden,
			"Only admins can change another agent's videos")
		return store.AgentProfile{}, false
	}
	return p, true
}

// videoMember loads the pool membership of the path, which an admin may
// change, and an agent when it is their own.
func (a *API) videoMember(w http.ResponseWriter, r *http.Request,
	u store.User) (store.PoolMember, bool) {
	pool, agent := ids.PoolID(r.PathValue("id")), ids.AgentID(r.PathValue("agentId"))
	m, err := a.store.PoolMember(r.Context(), u.OrgID, pool, agent)
	if errors.Is(err, store.ErrNotFound) {
		WriteError(w, http.StatusNotFound, CodeNotFound, "Pool member not found")
		return store.PoolMember{}, false
	}
	if err != nil {
		a.failed(w, r, err)
		return store.PoolMember{}, false
	}
	if u.Role == store.RoleAdmin {
		return m, true
	}

	p, err := a.store.AgentProfile(r.Context(), u.OrgID, agent)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		a.failed(w, r, err)
		return store.PoolMember{}, false
	}
	if err != nil || p.UserID != u.ID || !p.Active {
		WriteError(w, http.StatusForbidden, CodeForbidden,
			"Only admins can change another agent's videos")
		return store.PoolMember{}, false
	}
	return m, true
}

// storeUpload stores the request body as a greeting video. It answers 413
// over the size limit, 415 for anything but WebM or MP4, and 400 for an
// empty body or a declared duration over the limit.
func (a *API) storeUpload(w http.ResponseWriter, r *http.Request) (media.Video, bool) {
	if a.media == nil {
		a.failed(w, r, errors.New("httpapi: no media library to store uploads in"))
		return media.Video{}, false
	}
	tooLarge := fmt.Sprintf("The video is larger than %s", formatBytes(a.maxVideoBytes))
	if r.ContentLength > a.maxVideoBytes {
		WriteError(w, http.StatusRequestEntityTooLarge, CodePayloadTooLarge, tooLarge)
		return media.Video{}, false
	}

	body := &readRecorder{r: http.MaxBytesReader(w, r.Body, a.maxVideoBytes)}
	v, err := a.media.Put(body, a.maxVideoBytes)
	var tooLong *media.TooLongError
	var overLimit *http.MaxBytesError
	switch {
	case err == nil:
		return v, true
	case errors.As(body.err, &overLimit) || errors.Is(err, media.ErrTooLarge):
		WriteError(w, http.StatusRequestEntityTooLarge, CodePayloadTooLarge, tooLarge)
	case body.err != nil:
		// The client stopped sending; there is likely nobody left to read this.
		WriteError(w, http.StatusBadRequest, CodeBadRequest, "Unable to read the uploaded file")
	case errors.Is(err, media.ErrEmpty):
		WriteError(w, http.StatusBadRequest, CodeBadRequest,
			"The request body is empty: send the video file itself")
	case errors.Is(err, media.ErrUnsupported):
		WriteError(w, http.StatusUnsupportedMediaType, CodeUnsupportedMediaType,
			"Only WebM and MP4 videos can be uploaded")
	case errors.Is(err, media.ErrMalformed):
		WriteError(w, http.StatusUnsupportedMediaType, CodeUnsupportedMediaType,
			"The file is not a valid WebM or MP4 video")
	case errors.As(err, &tooLong):
		WriteError(w, http.StatusBadRequest, CodeBadRequest, fmt.Sprintf(
			"Greeting videos can be at most %d seconds long; this one is %d seconds",
			int(media.MaxVideoDuration.Seconds()), int(tooLong.Duration.Seconds()+0.5)))
	default:
		a.failed(w, r, err)
	}
	return media.Video{}, false
}

// readRecorder remembers the error of the request body, so that a client's
// failure (too large, gone) is told apart from a failure to store the file.
type readRecorder struct {
	r   io.Reader
	err error
}

func (rr *readRecorder) Read(p []byte) (int, error) {
	n, err := rr.r.Read(p)
	if err != nil && err != io.EOF {
		rr.err = err
	}
	return n, err
}

func (a *API) logVideoChange(r *http.Request, u store.User, pool ids.PoolID, agent ids.AgentID,
	kind string, v media.Video) {
	msg := "greeting video set"
	if v.Name == "" {
		msg = "greeting video removed"
	}
	attrs := []any{slog.String("org_id", string(u.OrgID)), slog.String("agent_id", string(agent)),
		slog.String("kind", kind), slog.String("by_user_id", string(u.ID))}
	if pool != "" {
		attrs = append(attrs, slog.String("pool_id", string(pool)))
	}
	if v.Name != "" {
		attrs = append(attrs, slog.String("media", v.Name), slog.Int64("bytes", v.Size))
	}
	a.log.InfoContext(r.Context(), msg, attrs...)
}

// toVideosJSON makes the URL of each kind's media name under origin; video
// returns the name of a kind.
func toVideosJSON(origin string, video func(kind string) string) videosJSON {
	url := func(kind string) *string {
		name := video(kind)
		if name == "" {
			return nil
		}
		u := realtime.MediaURL(origin, name)
		return &u
	}
	return videosJSON{Wave: url(store.VideoWave), Intro: url(store.VideoIntro),
		Loop: url(store.VideoLoop)}
}

// formatBytes names a size limit the way people read it: "50 MB", "16 KB".
func formatBytes(n int64) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%d MB", n>>20)
	}
	return fmt.Sprintf("%d KB", n>>10)
}
