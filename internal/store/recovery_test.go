package store

import (
	"context"
	"testing"
	"time"

	"greeter/internal/ids"
)

func TestCloseInterruptedCallLogs(t *testing.T) {
	st := newTestStore(t)
	ctx := context.Background()
	org, _, err := st.CreateOrg(ctx, NewOrg{Name: "Acme", AdminEmail: "a@acme.test",
		AdminFullName: "A", AdminPasswordHash: "x"})
	if err != nil {
		t.Fatal(err)
	}
	site, err := st.CreateSite(ctx, NewSite{OrgID: org.ID, Name: "Shop",
		AllowedOrigins: []string{"https://shop.test"}})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	restart := start.Add(90 * time.Second)
	rows := []CallLog{
		{ID: "ring", Status: CallPending, RingStartedAt: &start},
		{ID: "call", Status: CallAccepted, RingStartedAt: &start, AnsweredAt: &start,
			StartedAt: &start},
		{ID: "live", Status: CallAccepted, RingStartedAt: &start, AnsweredAt: &start,
			StartedAt: &start, CallID: "call_1", VisitorTokenHash: "aa", AgentTokenHash: "bb"},
		{ID: "half", Status: CallAccepted, RingStartedAt: &start, AnsweredAt: &start,
			StartedAt: &start, CallID: "call_2", VisitorTokenHash: "aa"},
		{ID: "done", Status: CallCompleted, EndReason: "visitor_ended", EndedBy: EndedByVisitor,
			StartedAt: &start, EndedAt: &start},
	}
	for _, r := range rows {
		r.OrgID, r.SiteID, r.RequestID, r.VisitorID = org.ID, site.ID, "req_1", "v_1"
		r.CreatedAt = start
		if err := st.SaveCallLog(ctx, r); err != nil {
			t.Fatal(err)
		}
	}

	n, err := st.CloseInterruptedCallLogs(ctx, restart)
	if err != nil || n != 3 {
		t.Fatalf("closed %d rows, %v; want 3", n, err)
	}
	get := func(id ids.CallLogID) CallLog {
		l, err := st.CallLog(ctx, org.ID, id)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	if r := get("ring"); r.Status != CallAbandoned || r.EndReason != InterruptedEndReason {
		t.Fatalf("ring row = %+v", r)
	}
	r := get("call")
	if r.Status != CallCompleted || r.EndedBy != EndedBySystem || r.DurationSeconds == nil ||
		*r.DurationSeconds != 90 || r.EndedAt == nil || !r.EndedAt.Equal(restart) {
		t.Fatalf("call row = %+v", r)
	}
	if r := get("done"); r.EndReason != "visitor_ended" {
		t.Fatalf("finished row changed: %+v", r)
	}
	if r := get("half"); r.Status != CallCompleted {
		t.Fatalf("a call with one token hash was left open: %+v", r)
	}

	// The call with both hashes is left for the live state to reload.
	live, err := st.ResumableCallLogs(ctx)
	if err != nil || len(live) != 1 {
		t.Fatalf("resumable = %+v, %v; want the live row", live, err)
	}
	if l := live[0]; l.ID != "live" || l.Status != CallAccepted || l.CallID != "call_1" ||
		l.VisitorTokenHash != "aa" || l.AgentTokenHash != "bb" {
		t.Fatalf("resumable row = %+v", l)
	}
}
