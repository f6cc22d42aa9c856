package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"greeter/internal/ids"
)

var logEpoch = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// newLog returns a call log of f's organization rung with f's agent.
func newLog(f fixture, id ids.CallLogID, status string) CallLog {
	ring := logEpoch
	return CallLog{
		ID:            id,
		OrgID:         f.org.ID,
		RequestID:     "req_1",
		SiteID:        f.site.ID,
		PoolID:        "pool-1",
		AgentID:       f.agent.ID,
		VisitorID:     "v_1",
		Status:        status,
		PageURL:       "https://example.com/pricing",
		RingStartedAt: &ring,
		CreatedAt:     logEpoch,
	}
}

func saveLog(t *testing.T, s *Store, f fixture, id ids.CallLogID, status string) CallLog {
	t.Helper()
	l := newLog(f, id, status)
	if err := s.SaveCallLog(context.Background(), l); err != nil {
		t.Fatal(err)
	}
	return l
}

func ptr[T any](v T) *T { return &v }

func TestSaveCallLogFollowsTheLifecycle(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	f := newFixture(t, s, "Acme", "ada@example.test")

	pending := newLog(f, "log-1", CallPending)
	accepted := pending
	accepted.Status = CallAccepted
	accepted.AnsweredAt = ptr(logEpoch.Add(4 * time.Second))
	accepted.AnswerSeconds = ptr(4)
	accepted.StartedAt = accepted.AnsweredAt
	completed := accepted
	completed.Status = CallCompleted
	completed.EndedAt = ptr(logEpoch.Add(94 * time.Second))
	completed.DurationSeconds = ptr(90)
	completed.EndReason = "visitor_ended"
	completed.EndedBy = EndedByVisitor

	steps := []struct {
		name string
		save CallLog
		want CallLog
	}{
		{"insert pending", pending, pending},
		{"same snapshot again", pending, pending},
		{"accepted", accepted, accepted},
		{"older pending snapshot replayed", pending, accepted},
		{"completed", completed, completed},
		{"completed again", completed, completed},
		{"older accepted snapshot replayed", accepted, completed},
	}
	for _, st := range steps {
		if err := s.SaveCallLog(ctx, st.save); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		got, err := s.CallLog(ctx, f.org.ID, "log-1")
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if !sameLog(got, st.want) {
			t.Errorf("%s: got %+v\nwant %+v", st.name, got, st.want)
		}
	}
}

func TestSaveCallLogEndingsWithoutAgent(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	f := newFixture(t, s, "Acme", "ada@example.test")

	for _, status := range []string{CallRejected, CallMissed, CallCancelled, CallAbandoned} {
		l := newLog(f, ids.CallLogID("log-"+status), CallPending)
		l.AgentID = ""
		if err := s.SaveCallLog(ctx, l); err != nil {
			t.Fatal(err)
		}

		l.Status = status
		l.EndedBy = EndedBySystem
		if err := s.SaveCallLog(ctx, l); err != nil {
			t.Fatalf("%s: %v", status, err)
		}
		got, err := s.CallLog(ctx, f.org.ID, l.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != status || got.AgentID != "" || got.EndedBy != EndedBySystem {
			t.Errorf("%s: got %+v", status, got)
		}
	}
}

func TestSaveCallLogRefusesAnotherOrgsID(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	a := newFixture(t, s, "A", "a@example.test")
	b := newFixture(t, s, "B", "b@example.test")
	saveLog(t, s, a, "shared", CallPending)

	err := s.SaveCallLog(ctx, newLog(b, "shared", CallCompleted))
	if !errors.Is(err, ErrConflict) {
		t.Fatalf("err = %v, want ErrConflict", err)
	}
	got, err := s.CallLog(ctx, a.org.ID, "shared")
	if err != nil || got.Status != CallPending {
		t.Errorf("org A's row changed: %+v, %v", got, err)
	}
}

func TestListCallLogsNewestFirstScopedByOrgAndAgent(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	a := newFixture(t, s, "A", "a@example.test")
	b := newFixture(t, s, "B", "b@example.test")

	for i, id := range []ids.CallLogID{"a1", "a2", "a3"} {
		l := newLog(a, id, CallMissed)
		l.CreatedAt = logEpoch.Add(time.Duration(i) * time.Minute)
		if id == "a2" {
			l.AgentID = ""
		}
		if err := s.SaveCallLog(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	saveLog(t, s, b, "b1", CallMissed)

	tests := []struct {
		name   string
		filter CallLogFilter
		want   []ids.CallLogID
		total  int
	}{
		{"all", CallLogFilter{}, []ids.CallLogID{"a3", "a2", "a1"}, 3},
		{"agent", CallLogFilter{AgentID: a.agent.ID}, []ids.CallLogID{"a3", "a1"}, 2},
		{"other org's agent", CallLogFilter{AgentID: b.agent.ID}, nil, 0},
		{"page", CallLogFilter{Limit: 1, Offset: 1}, []ids.CallLogID{"a2"}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			list, err := s.ListCallLogs(ctx, a.org.ID, tt.filter)
			if err != nil {
				t.Fatal(err)
			}
			var got []ids.CallLogID
			for _, l := range list {
				got = append(got, l.ID)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("got %v, want %v", got, tt.want)
				}
			}

			n, err := s.CountCallLogs(ctx, a.org.ID, tt.filter)
			if err != nil || n != tt.total {
				t.Errorf("count = %d, %v; want %d", n, err, tt.total)
			}
		})
	}
}

// sameLog compares two call logs field by field, times by instant.
func sameLog(a, b CallLog) bool {
	sameTime := func(x, y *time.Time) bool {
		return (x == nil) == (y == nil) && (x == nil || x.Equal(*y))
	}
	sameInt := func(x, y *int) bool {
		return (x == nil) == (y == nil) && (x == nil || *x == *y)
	}
	return a.ID == b.ID && a.OrgID == b.OrgID && a.RequestID == b.RequestID &&
		a.SiteID == b.SiteID && a.PoolID == b.PoolID && a.AgentID == b.AgentID &&
		a.VisitorID == b.VisitorID && a.Status == b.Status && a.EndReason == b.EndReason &&
		a.EndedBy == b.EndedBy && a.PageURL == b.PageURL &&
		a.VisitorCountry == b.VisitorCountry && a.VisitorRegion == b.VisitorRegion &&
		a.VisitorCity == b.VisitorCity && sameTime(a.RingStartedAt, b.RingStartedAt) &&
		sameTime(a.AnsweredAt, b.AnsweredAt) && sameInt(a.AnswerSeconds, b.AnswerSeconds) &&
		sameTime(a.StartedAt, b.StartedAt) && sameTime(a.EndedAt, b.EndedAt) &&
		sameInt(a.DurationSeconds, b.DurationSeconds) && a.DispositionID == b.DispositionID &&
		sameTime(a.DispositionAt, b.DispositionAt) && a.RecordingID == b.RecordingID &&
		a.RecordingStatus == b.RecordingStatus &&
		sameTime(a.RecordingNoticeAt, b.RecordingNoticeAt) && a.CreatedAt.Equal(b.CreatedAt)
}
