package httpapi

import (
	"context"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"io"
	"io/fs"
	"math"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"

	"greeter/internal/auth"
	"greeter/internal/calls"
	demomedia "greeter/internal/demo/media"
	"greeter/internal/ids"
	"greeter/internal/media"
	"greeter/internal/protocol"
	"greeter/internal/store"
)

// videoEnv is a live test server whose API stores uploads in a media folder
// the test can look into.
type videoEnv struct {
	*liveEnv
	dir string
}

func newVideoEnv(t *testing.T) *videoEnv {
	t.Helper()
	env := newLiveEnv(t, liveOptions{})
	dir := t.TempDir()
	lib, err := media.Open(dir)
	env.must(err)
	env.api.media = lib
	return &videoEnv{liveEnv: env, dir: dir}
}

// upload sends file as the raw body of method path, the way
// curl -T file -H 'Content-Type: video/webm' does.
func (e *videoEnv) upload(method, path, token string, file []byte) response {
	e.t.Helper()
	return e.do(request{method: method, path: path, token: token, body: string(file),
		header: map[string]string{"Content-Type": "video/webm"}})
}

// stored counts the files in the media folder.
func (e *videoEnv) stored() int {
	e.t.Helper()
	entries, err := os.ReadDir(e.dir)
	e.must(err)
	return len(entries)
}

func demoVideo(t *testing.T, name string) []byte {
	t.Helper()
	b, err := fs.ReadFile(demomedia.FS, name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// mp4Video is a minimal MP4 (ftyp, moov with a version 0 mvhd, mdat)
// declaring seconds.
func mp4Video(seconds uint32) []byte {
	box := func(kind string, body []byte) []byte {
		out := binary.BigEndian.AppendUint32(nil, uint32(8+len(body)))
		return append(append(out, kind...), body...)
	}
	mvhd := make([]byte, 100)
	binary.BigEndian.PutUint32(mvhd[12:], 1000)
	binary.BigEndian.PutUint32(mvhd[16:], seconds*1000)
	out := box("ftyp", []byte("isom\x00\x00\x02\x00isommp41"))
	out = append(out, box("moov", box("mvhd", mvhd))...)
	return append(out, box("mdat", make([]byte, 256))...)
}

// webmVideo is a minimal WebM whose Info declares ms milliseconds.
func webmVideo(ms float64) []byte {
	el := func(id []byte, body []byte) []byte {
		size := binary.BigEndian.AppendUint64(nil, uint64(len(body)))
		size[0] = 0x01 // an 8-byte EBML size
		return append(append(append([]byte{}, id...), size...), body...)
	}
	dur := binary.BigEndian.AppendUint64(nil, math.Float64bits(ms))
	header := el([]byte{0x1A, 0x45, 0xDF, 0xA3}, el([]byte{0x42, 0x82}, []byte("webm")))
	info := el([]byte{0x15, 0x49, 0xA9, 0x66}, el([]byte{0x44, 0x89}, dur))
	return append(header, el([]byte{0x18, 0x53, 0x80, 0x67}, info)...)
}

// mediaURL is a stored video's URL under the test server's public origin.
var mediaURL = regexp.MustCompile(
	`^https://greeter\.example\.test/media/[0-9a-f]{32}\.(webm|mp4)$`)

func agentVideosPath(agent ids.AgentID, kind string) string {
	return "/api/agents/" + string(agent) + "/videos/" + kind
}

func memberVideosPath(pool ids.PoolID, agent ids.AgentID, kind string) string {
	return "/api/pools/" + string(pool) + "/members/" + string(agent) + "/videos/" + kind
}

func TestUploadEachKindAsSelfAndAsAdmin(t *testing.T) {
	for _, who := range []string{"self", "admin"} {
		t.Run(who, func(t *testing.T) {
			env := newVideoEnv(t)
			user := env.a.agentUser
			if who == "admin" {
				user = env.a.admin
			}
			token := env.signIn(user)
			files := map[string][]byte{
				store.VideoWave:  mp4Video(5),
				store.VideoIntro: demoVideo(t, "ava-intro.webm"),
				store.VideoLoop:  demoVideo(t, "ava-loop.webm"),
			}

			var got response
			for i, kind := range store.VideoKinds {
				got = env.upload("PUT", agentVideosPath(env.a.agent.ID, kind), token, files[kind])
				if got.status != http.StatusOK {
					t.Fatalf("%s: %d %s", kind, got.status, got.body)
				}
				url, _ := got.json["videos"].(map[string]any)[kind].(string)
				if !mediaURL.MatchString(url) {
					t.Errorf("%s: url %q", kind, url)
				}
				// Intro and loop make the agent ready; the wave is optional.
				if ready := got.json["videosReady"]; ready != (i == 2) {
					t.Errorf("after %s: videosReady = %v", kind, ready)
				}
			}
			if !strings.HasSuffix(got.json["videos"].(map[string]any)["wave"].(string), ".mp4") {
				t.Errorf("the wave is not stored as MP4: %s", got.body)
			}
			p, err := env.store.AgentProfile(context.Background(), env.a.org.ID, env.a.agent.ID)
			env.must(err)
			if !p.VideosReady() || p.WaveVideo == "" || env.stored() != 3 {
				t.Errorf("profile %+v, %d files stored", p, env.stored())
			}

			del := env.do(request{method: "DELETE", token: token,
				path: agentVideosPath(env.a.agent.ID, store.VideoLoop)})
			if del.status != http.StatusOK || del.json["videosReady"] != false {
				t.Fatalf("delete: %d %s", del.status, del.body)
			}
			videos := del.json["videos"].(map[string]any)
			if v, ok := videos["loop"]; !ok || v != nil || videos["intro"] == nil {
				t.Errorf("after delete: %s", del.body)
			}
		})
	}
}

func TestGetAgentVideosListsProfileAndPools(t *testing.T) {
	env := newVideoEnv(t)
	ctx := context.Background()
	token := env.signIn(env.a.agentUser)
	sales, err := env.store.CreatePool(ctx, store.NewPool{OrgID: env.a.org.ID, Name: "Sales"})
	env.must(err)
	_, err = env.store.SetPoolMember(ctx, env.a.org.ID, sales.ID, env.a.agent.ID, 2)
	env.must(err)

	up := env.upload("PUT", memberVideosPath(sales.ID, env.a.agent.ID, "intro"), token,
		demoVideo(t, "ben-intro.webm"))
	if up.status != http.StatusOK {
		t.Fatalf("member upload: %d %s", up.status, up.body)
	}
	videos := up.json["videos"].(map[string]any)
	if !mediaURL.MatchString(videos["intro"].(string)) || videos["wave"] != nil ||
		videos["loop"] != nil || len(up.json) != 1 {
		t.Errorf("member upload answer: %s", up.body)
	}

	got := env.do(request{method: "GET", path: "/api/agents/" + string(env.a.agent.ID) + "/videos",
		token: token})
	if got.status != http.StatusOK {
		t.Fatalf("GET: %d %s", got.status, got.body)
	}
	pools := got.json["pools"].([]any)
	if len(pools) != 2 || got.json["videosReady"] != false {
		t.Fatalf("GET: %s", got.body)
	}
	catchAll, member := pools[0].(map[string]any), pools[1].(map[string]any)
	if catchAll["isCatchAll"] != true || catchAll["priorityRank"] != 1.0 ||
		member["poolId"] != string(sales.ID) || member["poolName"] != "Sales" ||
		member["priorityRank"] != 2.0 ||
		member["videos"].(map[string]any)["intro"] != videos["intro"] {
		t.Errorf("pools: %s", got.body)
	}
	assertJSON(t, "profile", mustJSON(t, got.json["profile"]),
		map[string]any{"wave": nil, "intro": nil, "loop": nil})

	// The admin console's pool listing carries the same overrides.
	list := env.do(request{method: "GET", path: "/api/pools", token: env.signIn(env.a.admin)})
	found := false
	for _, p := range list.json["pools"].([]any) {
		for _, m := range p.(map[string]any)["members"].([]any) {
			m := m.(map[string]any)
			v := m["videos"].(map[string]any)
			if m["poolId"] == string(sales.ID) && m["agentId"] == string(env.a.agent.ID) {
				found = strings.HasPrefix(v["intro"].(string), "/media/") && v["loop"] == nil
			} else if v["wave"] != nil || v["intro"] != nil || v["loop"] != nil {
				t.Errorf("member without overrides: %v", m)
			}
		}
	}
	if !found {
		t.Errorf("GET /api/pools lacks the member's intro: %s", list.body)
	}

	del := env.do(request{method: "DELETE", token: token,
		path: memberVideosPath(sales.ID, env.a.agent.ID, "intro")})
	if del.status != http.StatusOK || del.json["videos"].(map[string]any)["intro"] != nil {
		t.Errorf("member delete: %d %s", del.status, del.body)
	}
	m, err := env.store.PoolMember(ctx, env.a.org.ID, sales.ID, env.a.agent.ID)
	if err != nil || m.IntroVideo != "" {
		t.Errorf("member after delete: %+v, %v", m, err)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestVideoUploadRefusals(t *testing.T) {
	env := newVideoEnv(t)
	env.api.maxVideoBytes = 32 << 10 // the demo intro is 48 KB
	ctx := context.Background()
	agent := env.signIn(env.a.agentUser)
	admin := env.signIn(env.a.admin)
	sales, err := env.store.CreatePool(ctx, store.NewPool{OrgID: env.b.org.ID, Name: "Sales"})
	env.must(err)
	_, err = env.store.SetPoolMember(ctx, env.b.org.ID, sales.ID, env.b.agent.ID, 1)
	env.must(err)
	catchAllA, err := env.store.CatchAllPool(ctx, env.a.org.ID)
	env.must(err)
	loop := demoVideo(t, "ava-loop.webm")
	crossOrigin := map[string]string{"Origin": "https://evil.test", "Sec-Fetch-Site": "cross-site",
		"Content-Type": "video/webm"}

	tests := []struct {
		name   string
		method string
		path   string
		token  string
		body   []byte
		header map[string]string
		status int
		code   string
		msg    string
	}{
		{"unknown kind", "PUT", agentVideosPath(env.a.agent.ID, "poster"), agent, loop, nil,
			400, CodeBadRequest, "wave, intro or loop"},
		{"unknown kind on delete", "DELETE", agentVideosPath(env.a.agent.ID, "x"), agent, nil, nil,
			400, CodeBadRequest, "wave, intro or loop"},
		{"empty body", "PUT", agentVideosPath(env.a.agent.ID, "loop"), agent, nil, nil,
			400, CodeBadRequest, "empty"},
		{"not a video", "PUT", agentVideosPath(env.a.agent.ID, "loop"), agent,
			[]byte("GIF89a definitely a picture"), nil, 415, CodeUnsupportedMediaType,
			"Only WebM and MP4"},
		{"broken webm", "PUT", agentVideosPath(env.a.agent.ID, "loop"), agent, loop[:60], nil,
			415, CodeUnsupportedMediaType, "not a valid WebM or MP4"},
		{"over the size limit", "PUT", agentVideosPath(env.a.agent.ID, "intro"), agent,
			demoVideo(t, "ava-intro.webm"), nil, 413, CodePayloadTooLarge, "larger than 32 KB"},
		{"webm over 90 s", "PUT", agentVideosPath(env.a.agent.ID, "intro"), agent,
			webmVideo(95_000), nil, 400, CodeBadRequest, "at most 90 seconds long; this one is 95"},
		{"mp4 over 90 s", "PUT", memberVideosPath(catchAllA.ID, env.a.agent.ID, "intro"), agent,
			mp4Video(91), nil, 400, CodeBadRequest, "at most 90 seconds"},
		{"no session", "PUT", agentVideosPath(env.a.agent.ID, "loop"), "", loop, nil,
			401, CodeUnauthorized, ""},
		{"cross-origin", "PUT", agentVideosPath(env.a.agent.ID, "loop"), agent, loop,
			crossOrigin, 403, CodeForbidden, "Cross-origin"},
		{"cross-origin delete", "DELETE", agentVideosPath(env.a.agent.ID, "loop"), agent, nil,
			crossOrigin, 403, CodeForbidden, "Cross-origin"},
		{"agent on another agent", "PUT", agentVideosPath(env.a.adminAgent.ID, "loop"), agent,
			loop, nil, 403, CodeForbidden, "Only admins"},
		{"agent reads another agent", "GET", "/api/agents/" + string(env.a.adminAgent.ID) +
			"/videos", agent, nil, nil, 403, CodeForbidden, ""},
		{"agent on another's membership", "PUT",
			memberVideosPath(catchAllA.ID, env.a.adminAgent.ID, "loop"), agent, loop, nil,
			403, CodeForbidden, "Only admins"},
		{"admin on another org's agent", "PUT", agentVideosPath(env.b.agent.ID, "loop"), admin,
			loop, nil, 404, CodeNotFound, "Agent not found"},
		{"admin deletes another org's video", "DELETE", agentVideosPath(env.b.agent.ID, "loop"),
			admin, nil, nil, 404, CodeNotFound, "Agent not found"},
		{"admin reads another org's agent", "GET", "/api/agents/" + string(env.b.agent.ID) +
			"/videos", admin, nil, nil, 404, CodeNotFound, ""},
		{"admin on another org's member", "PUT", memberVideosPath(sales.ID, env.b.agent.ID, "loop"),
			admin, loop, nil, 404, CodeNotFound, "Pool member not found"},
		{"another org's member, own pool id", "PUT",
			memberVideosPath(catchAllA.ID, env.b.agent.ID, "loop"), admin, loop, nil,
			404, CodeNotFound, ""},
		{"admin deletes another org's member video", "DELETE",
			memberVideosPath(sales.ID, env.b.agent.ID, "loop"), admin, nil, nil,
			404, CodeNotFound, ""},
		{"unknown agent", "PUT", agentVideosPath("nobody", "loop"), admin, loop, nil,
			404, CodeNotFound, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			header := map[string]string{"Content-Type": "video/webm"}
			if tt.header != nil {
				header = tt.header
			}
			got := env.do(request{method: tt.method, path: tt.path, token: tt.token,
				body: string(tt.body), header: header})
			wantError(t, got, tt.status, tt.code)
			if msg, _ := got.json["error"].(string); !strings.Contains(msg, tt.msg) {
				t.Errorf("error = %q, want it to contain %q", msg, tt.msg)
			}
		})
	}
	env.assertNoVideos()
}

// assertNoVideos checks that no profile or membership of either org has a
// video and that no file was kept.
func (e *videoEnv) assertNoVideos() {
	e.t.Helper()
	ctx := context.Background()
	for _, tn := range []tenant{e.a, e.b} {
		for _, id := range []ids.AgentID{tn.agent.ID, tn.adminAgent.ID} {
			p, err := e.store.AgentProfile(ctx, tn.org.ID, id)
			e.must(err)
			if p.WaveVideo+p.IntroVideo+p.LoopVideo != "" {
				e.t.Errorf("agent %s has videos: %+v", id, p)
			}
		}
		members, err := e.store.ListPoolMembers(ctx, tn.org.ID)
		e.must(err)
		for _, m := range members {
			if m.WaveVideo+m.IntroVideo+m.LoopVideo != "" {
				e.t.Errorf("member has videos: %+v", m)
			}
		}
	}
	if n := e.stored(); n != 0 {
		e.t.Errorf("%d files stored", n)
	}
}

// A body of unknown length is cut off by the limit too, not only a
// Content-Length that announces too much.
func TestVideoUploadOverTheLimitWithoutContentLength(t *testing.T) {
	env := newVideoEnv(t)
	env.api.maxVideoBytes = 32 << 10
	file := demoVideo(t, "ava-intro.webm")

	r, err := http.NewRequest("PUT", env.srv.URL+agentVideosPath(env.a.agent.ID, "intro"),
		io.MultiReader(strings.NewReader(string(file))))
	env.must(err)
	r.ContentLength = -1 // sent chunked
	r.AddCookie(&http.Cookie{Name: auth.CookieName, Value: env.signIn(env.a.agentUser)})
	resp, err := env.srv.Client().Do(r)
	env.must(err)
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413", resp.StatusCode)
	}
	env.assertNoVideos()
}

func TestProductionVideoLimitsAre50MBAnd90Seconds(t *testing.T) {
	a := New(Deps{})
	if a.maxVideoBytes != media.MaxVideoBytes || media.MaxVideoBytes != 50<<20 ||
		media.MaxVideoDuration.Seconds() != 90 {
		t.Fatalf("limits: %d bytes (library %d), %s", a.maxVideoBytes, media.MaxVideoBytes,
			media.MaxVideoDuration)
	}
}

// A failure to record the video answers 500 and leaves the profile as it was.
func TestFailedVideoWriteChangesNothing(t *testing.T) {
	env := newVideoEnv(t)
	ctx := context.Background()
	db, err := sql.Open("sqlite", env.dbPath)
	env.must(err)
	defer db.Close()
	_, err = db.ExecContext(ctx, `CREATE TRIGGER fail_video BEFORE UPDATE ON agent_profiles
		BEGIN SELECT RAISE(ABORT, 'injected failure'); END`)
	env.must(err)

	token := env.signIn(env.a.agentUser)
	got := env.upload("PUT", agentVideosPath(env.a.agent.ID, "intro"), token,
		demoVideo(t, "ava-intro.webm"))
	wantError(t, got, http.StatusInternalServerError, CodeInternal)

	p, err := env.store.AgentProfile(ctx, env.a.org.ID, env.a.agent.ID)
	env.must(err)
	if p.IntroVideo != "" {
		t.Errorf("the intro was recorded: %+v", p)
	}
	view := env.do(request{method: "GET", token: token,
		path: "/api/agents/" + string(env.a.agent.ID) + "/videos"})
	if view.json["profile"].(map[string]any)["intro"] != nil {
		t.Errorf("the intro shows: %s", view.body)
	}
}

// An agent without videos cannot go live; once intro and loop are uploaded,
// the hub tells the agent at once and going live succeeds. Removing the loop
// tells the agent again.
func TestUploadedVideosReachTheLiveAgent(t *testing.T) {
	env := newVideoEnv(t)
	p := env.a.agent
	peer := &fakePeer{}
	env.submit(env.a.org.ID, calls.AgentConnect{Peer: peer, Agent: calls.AgentInfo{
		ID: p.ID, UserID: p.UserID, MaxViewers: 25, Active: true,
		Card: protocol.AgentCard{ID: p.ID, DisplayName: p.DisplayName},
	}})
	env.submit(env.a.org.ID, calls.AgentBack{Peer: peer, Ack: 1})
	if !ackRefused(peer, protocol.CodeVideosMissing) || lastVideosReady(t, peer) {
		t.Fatalf("an agent without videos went live: %+v", peer.frames)
	}

	token := env.signIn(env.a.agentUser)
	for _, kind := range []string{"intro", "loop"} {
		got := env.upload("PUT", agentVideosPath(p.ID, kind), token,
			demoVideo(t, "ava-"+kind+".webm"))
		if got.status != http.StatusOK {
			t.Fatalf("%s: %d %s", kind, got.status, got.body)
		}
	}
	if !lastVideosReady(t, peer) {
		t.Fatalf("agent:state still says videos are missing")
	}
	env.submit(env.a.org.ID, calls.AgentBack{Peer: peer, Ack: 2})
	if s := env.status(env.a.org.ID, p.ID); s != calls.StatusIdle {
		t.Fatalf("status after going live = %s", s)
	}

	// Removing the loop tells the agent; it keeps them live (docs/api.md).
	got := env.do(request{method: "DELETE", path: agentVideosPath(p.ID, "loop"), token: token})
	if got.status != http.StatusOK || lastVideosReady(t, peer) {
		t.Errorf("after removing the loop: %d, videosReady %v", got.status,
			lastVideosReady(t, peer))
	}
	if s := env.status(env.a.org.ID, p.ID); s != calls.StatusIdle {
		t.Errorf("status after removing the loop = %s", s)
	}
	env.submit(env.a.org.ID, calls.AgentLeave{Peer: peer})
}

// lastVideosReady is profile.videosReady of the agent's latest agent:state.
func lastVideosReady(t *testing.T, peer *fakePeer) bool {
	t.Helper()
	states := peer.events(protocol.EventAgentState)
	if len(states) == 0 {
		t.Fatal("no agent:state frame")
	}
	profile, _ := states[len(states)-1]["profile"].(map[string]any)
	return profile["videosReady"] == true
}

// ackRefused reports whether an ack refused a command with code.
func ackRefused(peer *fakePeer, code string) bool {
	for _, ack := range peer.events("ack") {
		e, _ := ack["error"].(map[string]any)
		if ack["ok"] == false && e["code"] == code {
			return true
		}
	}
	return false
}
