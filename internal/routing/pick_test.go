package routing

import (
	"testing"
	"time"

	"greeter/internal/ids"
)

func TestPick(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		cands   []Candidate
		purpose Purpose
		exclude []ids.AgentID
		prefer  ids.AgentID
		want    ids.AgentID
	}{
		{name: "none", purpose: Viewer, want: ""},
		{
			name:    "idle before broadcasting",
			purpose: Viewer,
			cands: []Candidate{
				{ID: "a", Tier: 1, Viewers: 1, MaxViewers: 25},
				{ID: "b", Tier: 1, Viewers: 0, MaxViewers: 25, LastAssigned: t0},
			},
			want: "b",
		},
		{
			name:    "round robin among idle by last assigned",
			purpose: Viewer,
			cands: []Candidate{
				{ID: "a", Tier: 1, MaxViewers: 25, LastAssigned: t0.Add(time.Second)},
				{ID: "b", Tier: 1, MaxViewers: 25, LastAssigned: t0},
			},
			want: "b",
		},
		{
			name:    "never assigned counts as oldest, ties to lower id",
			purpose: Viewer,
			cands: []Candidate{
				{ID: "c", Tier: 1, MaxViewers: 25},
				{ID: "b", Tier: 1, MaxViewers: 25},
				{ID: "a", Tier: 1, MaxViewers: 25, LastAssigned: t0},
			},
			want: "b",
		},
		{
			name:    "least loaded broadcasting agent",
			purpose: Viewer,
			cands: []Candidate{
				{ID: "a", Tier: 1, Viewers: 3, MaxViewers: 25},
				{ID: "b", Tier: 1, Viewers: 2, MaxViewers: 25},
			},
			want: "b",
		},
		{
			name:    "full agents get no viewers",
			purpose: Viewer,
			cands:   []Candidate{{ID: "a", Tier: 1, Viewers: 2, MaxViewers: 2}},
			want:    "",
		},
		{
			name:    "full agents can still be rung",
			purpose: Ring,
			cands:   []Candidate{{ID: "a", Tier: 1, Viewers: 2, MaxViewers: 2}},
			want:    "a",
		},
		{
			name:    "lowest tier with a candidate wins",
			purpose: Viewer,
			cands: []Candidate{
				{ID: "a", Tier: 2, MaxViewers: 25},
				{ID: "b", Tier: 1, Viewers: 5, MaxViewers: 25},
			},
			want: "b",
		},
		{
			name:    "ringing agents are not rung again",
			purpose: Ring,
			cands: []Candidate{
				{ID: "a", Tier: 1, Ringing: true, MaxViewers: 25},
				{ID: "b", Tier: 2, MaxViewers: 25},
			},
			want: "b",
		},
		{
			name:    "excluded agents are skipped",
			purpose: Ring,
			cands: []Candidate{
				{ID: "a", Tier: 1, MaxViewers: 25},
				{ID: "b", Tier: 1, Viewers: 4, MaxViewers: 25},
			},
			exclude: []ids.AgentID{"a"},
			want:    "b",
		},
		{
			name:    "ring prefers the current agent whatever its tier",
			purpose: Ring,
			cands: []Candidate{
				{ID: "a", Tier: 1, MaxViewers: 25},
				{ID: "b", Tier: 3, Viewers: 4, MaxViewers: 25},
			},
			prefer: "b",
			want:   "b",
		},
		{
			name:    "an excluded preferred agent is not rung",
			purpose: Ring,
			cands: []Candidate{
				{ID: "a", Tier: 1, MaxViewers: 25},
				{ID: "b", Tier: 1, MaxViewers: 25},
			},
			exclude: []ids.AgentID{"b"},
			prefer:  "b",
			want:    "a",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			excluded := func(id ids.AgentID) bool {
				for _, e := range tt.exclude {
					if e == id {
						return true
					}
				}
				return false
			}
			got, ok := Pick(tt.cands, tt.purpose, excluded, tt.prefer)
			if got != tt.want || ok != (tt.want != "") {
				t.Fatalf("Pick = %q, %v; want %q", got, ok, tt.want)
			}
		})
	}
}
