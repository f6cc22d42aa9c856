package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestSetAgentVideoSetsAndClearsOneKind(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	f := newFixture(t, s, "Acme", "ada@acme.test")

	for _, kind := range VideoKinds {
		a, err := s.SetAgentVideo(ctx, f.org.ID, f.agent.ID, kind, kind+".webm")
		if err != nil {
			t.Fatal(err)
		}
		if a.Video(kind) != kind+".webm" {
			t.Errorf("%s: profile = %+v", kind, a)
		}
	}
	a, err := s.AgentProfile(ctx, f.org.ID, f.agent.ID)
	if err != nil || a.WaveVideo != "wave.webm" || a.IntroVideo != "intro.webm" ||
		a.LoopVideo != "loop.webm" || !a.VideosReady() {
		t.Fatalf("stored profile = %+v, %v", a, err)
	}

	a, err = s.SetAgentVideo(ctx, f.org.ID, f.agent.ID, VideoIntro, "")
	if err != nil || a.IntroVideo != "" || a.WaveVideo != "wave.webm" || a.VideosReady() {
		t.Fatalf("after clearing the intro: %+v, %v", a, err)
	}
}

func TestSetAgentVideoRefusals(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	a := newFixture(t, s, "Acme", "ada@acme.test")
	b := newFixture(t, s, "Bolt", "bo@bolt.test")
	removed := newFixture(t, s, "Gone", "gone@gone.test")
	err := s.RemoveAgentProfile(ctx, removed.org.ID, removed.agent.ID, removed.admin.ID,
		time.Now())
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		f    fixture
		id   AgentProfile
		kind string
		want error
	}{
		{"another org's agent", a, b.agent, VideoLoop, ErrAgentNotFound},
		{"unknown agent", a, AgentProfile{ID: "nope"}, VideoLoop, ErrAgentNotFound},
		{"removed agent", removed, removed.agent, VideoLoop, ErrAgentNotFound},
		{"unknown kind", a, a.agent, "poster", ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.SetAgentVideo(ctx, tt.f.org.ID, tt.id.ID, tt.kind, "x.webm")
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
	got, err := s.AgentProfile(ctx, b.org.ID, b.agent.ID)
	if err != nil || got.LoopVideo != "" {
		t.Errorf("another org's agent changed: %+v, %v", got, err)
	}
}

func TestSetPoolMemberVideo(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	a := newFixture(t, s, "Acme", "ada@acme.test")
	b := newFixture(t, s, "Bolt", "bo@bolt.test")
	sales := newPool(t, s, a.org.ID, "Sales")
	if _, err := s.SetPoolMember(ctx, a.org.ID, sales.ID, a.agent.ID, 2); err != nil {
		t.Fatal(err)
	}
	other := newPool(t, s, a.org.ID, "Support") // the agent is no member

	m, err := s.SetPoolMemberVideo(ctx, a.org.ID, sales.ID, a.agent.ID, VideoIntro, "i.mp4")
	if err != nil || m.IntroVideo != "i.mp4" || m.PriorityRank != 2 || m.LoopVideo != "" {
		t.Fatalf("member = %+v, %v", m, err)
	}
	if p, err := s.AgentProfile(ctx, a.org.ID, a.agent.ID); err != nil || p.IntroVideo != "" {
		t.Errorf("the profile changed too: %+v, %v", p, err)
	}

	for name, call := range map[string]func() error{
		"another org's pool": func() error {
			_, err := s.SetPoolMemberVideo(ctx, b.org.ID, sales.ID, a.agent.ID, VideoIntro, "x")
			return err
		},
		"not a member": func() error {
			_, err := s.SetPoolMemberVideo(ctx, a.org.ID, other.ID, a.agent.ID, VideoIntro, "x")
			return err
		},
	} {
		if err := call(); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: err = %v, want ErrNotFound", name, err)
		}
	}
	if _, err := s.SetPoolMemberVideo(ctx, a.org.ID, sales.ID, a.agent.ID, "x", ""); !errors.Is(
		err, ErrInvalid) {
		t.Errorf("unknown kind: err = %v", err)
	}

	got, err := s.PoolMember(ctx, a.org.ID, sales.ID, a.agent.ID)
	if err != nil || got.IntroVideo != "i.mp4" {
		t.Fatalf("PoolMember = %+v, %v", got, err)
	}
	if _, err := s.PoolMember(ctx, b.org.ID, sales.ID, a.agent.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("PoolMember of another org: %v", err)
	}

	m, err = s.SetPoolMemberVideo(ctx, a.org.ID, sales.ID, a.agent.ID, VideoIntro, "")
	if err != nil || m.IntroVideo != "" {
		t.Fatalf("after clearing: %+v, %v", m, err)
	}
}

func TestAgentMembershipsCatchAllFirstScopedByOrg(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	a := newFixture(t, s, "Acme", "ada@acme.test")
	b := newFixture(t, s, "Bolt", "bo@bolt.test")
	for _, name := range []string{"Zeta", "Alpha"} {
		p := newPool(t, s, a.org.ID, name)
		if _, err := s.SetPoolMember(ctx, a.org.ID, p.ID, a.agent.ID, 3); err != nil {
			t.Fatal(err)
		}
		if name == "Alpha" {
			if _, err := s.SetPoolMemberVideo(ctx, a.org.ID, p.ID, a.agent.ID, VideoLoop,
				"l.webm"); err != nil {
				t.Fatal(err)
			}
		}
	}

	ms, err := s.AgentMemberships(ctx, a.org.ID, a.agent.ID)
	if err != nil || len(ms) != 3 {
		t.Fatalf("memberships = %+v, %v", ms, err)
	}
	if !ms[0].IsCatchAll || ms[1].PoolName != "Alpha" || ms[1].LoopVideo != "l.webm" ||
		ms[1].PriorityRank != 3 || ms[2].PoolName != "Zeta" {
		t.Errorf("memberships = %+v", ms)
	}
	if ms, err := s.AgentMemberships(ctx, b.org.ID, a.agent.ID); err != nil || len(ms) != 0 {
		t.Errorf("another org sees %+v, %v", ms, err)
	}
}
