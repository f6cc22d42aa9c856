package httpapi

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"greeter/internal/ids"
	"greeter/internal/store"
)

// callsPageSize is how many call logs a page of GET /api/calls holds.
const callsPageSize = 50

// callLogJSON is a call log as the API shows it. Optional fields are null.
type callLogJSON struct {
	ID              ids.CallLogID `json:"id"`
	RequestID       ids.RequestID `json:"requestId"`
	SiteID          ids.SiteID    `json:"siteId"`
	PoolID          ids.PoolID    `json:"poolId"`
	AgentID         *ids.AgentID  `json:"agentId"`
	AgentName       *string       `json:"agentName"` // display name, also of a removed agent
	VisitorID       ids.VisitorID `json:"visitorId"`
	Status          string        `json:"status"`
	EndReason       *string       `json:"endReason"`
	EndedBy         *string       `json:"endedBy"`
	PageURL         string        `json:"pageUrl"`
	VisitorCountry  *string       `json:"visitorCountry"`
	VisitorRegion   *string       `json:"visitorRegion"`
	VisitorCity     *string       `json:"visitorCity"`
	RingStartedAt   *string       `json:"ringStartedAt"`
	AnsweredAt      *string       `json:"answeredAt"`
	AnswerSeconds   *int          `json:"answerSeconds"`
	StartedAt       *string       `json:"startedAt"`
	EndedAt         *string       `json:"endedAt"`
	DurationSeconds *int          `json:"durationSeconds"`
	DispositionID   *string       `json:"dispositionId"`
	DispositionAt   *string       `json:"dispositionAt"`
	RecordingStatus *string       `json:"recordingStatus"`
	CreatedAt       string        `json:"createdAt"`
}

type callsResponse struct {
	Items    []callLogJSON `json:"items"`
	Page     int           `json:"page"`
	PageSize int           `json:"pageSize"`
	Total    int           `json:"total"`
}

// maxCallsPage keeps (page-1)*callsPageSize far from overflowing.
const maxCallsPage = 1_000_000

// listCalls handles GET /api/calls?page=. Admins see their organization's
// call logs; everyone else only the rows of their own agent profile.
func (a *API) listCalls(w http.ResponseWriter, r *http.Request, u store.User) {
	page := 1
	if p := r.URL.Query().Get("page"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > maxCallsPage {
			WriteError(w, http.StatusBadRequest, CodeBadRequest,
				"page must be a whole number from 1 to 1000000")
			return
		}
		page = n
	}
	resp := callsResponse{Items: []callLogJSON{}, Page: page, PageSize: callsPageSize}

	filter := store.CallLogFilter{Limit: callsPageSize, Offset: (page - 1) * callsPageSize}
	if u.Role != store.RoleAdmin {
		agent, err := a.store.AgentProfileByUserID(r.Context(), u.ID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			a.internalError(w, r, err)
			return
		}
		if err != nil || agent.OrgID != u.OrgID {
			WriteJSON(w, http.StatusOK, resp) // no profile, so no rows of their own
			return
		}
		filter.AgentID = agent.ID
	}

	logs, err := a.store.ListCallLogs(r.Context(), u.OrgID, filter)
	if err != nil {
		a.internalError(w, r, err)
		return
	}
	total, err := a.store.CountCallLogs(r.Context(), u.OrgID, filter)
	if err != nil {
		a.internalError(w, r, err)
		return
	}

	names, err := a.agentNames(r, u.OrgID, logs)
	if err != nil {
		a.internalError(w, r, err)
		return
	}
	for _, l := range logs {
		row := toCallLogJSON(l)
		if name, ok := names[l.AgentID]; ok {
			row.AgentName = &name
		}
		resp.Items = append(resp.Items, row)
	}
	resp.Total = total
	WriteJSON(w, http.StatusOK, resp)
}

// agentNames returns the display names of the agents a page of call logs
// names. Removed profiles keep their names, so old rows still say who took
// the call; a profile that is gone altogether is left out.
func (a *API) agentNames(
	r *http.Request, org ids.OrgID, logs []store.CallLog,
) (map[ids.AgentID]string, error) {
	names := map[ids.AgentID]string{}
	looked := map[ids.AgentID]bool{}
	for _, l := range logs {
		if l.AgentID == "" || looked[l.AgentID] {
			continue
		}
		looked[l.AgentID] = true

		p, err := a.store.AgentProfile(r.Context(), org, l.AgentID)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		names[l.AgentID] = p.DisplayName
	}
	return names, nil
}

func toCallLogJSON(l store.CallLog) callLogJSON {
	return callLogJSON{
		ID:              l.ID,
		RequestID:       l.RequestID,
		SiteID:          l.SiteID,
		PoolID:          l.PoolID,
		AgentID:         optional(l.AgentID),
		VisitorID:       l.VisitorID,
		Status:          l.Status,
		EndReason:       optional(l.EndReason),
		EndedBy:         optional(l.EndedBy),
		PageURL:         l.PageURL,
		VisitorCountry:  optional(l.VisitorCountry),
		VisitorRegion:   optional(l.VisitorRegion),
		VisitorCity:     optional(l.VisitorCity),
		RingStartedAt:   timestamp(l.RingStartedAt),
		AnsweredAt:      timestamp(l.AnsweredAt),
		AnswerSeconds:   l.AnswerSeconds,
		StartedAt:       timestamp(l.StartedAt),
		EndedAt:         timestamp(l.EndedAt),
		DurationSeconds: l.DurationSeconds,
		DispositionID:   optional(l.DispositionID),
		DispositionAt:   timestamp(l.DispositionAt),
		RecordingStatus: optional(l.RecordingStatus),
		CreatedAt:       *timestamp(&l.CreatedAt),
	}
}

// timestampLayout is RFC 3339 in UTC with milliseconds (SPEC §1.3).
const timestampLayout = "2006-01-02T15:04:05.000Z07:00"

func timestamp(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := t.UTC().Format(timestampLayout)
	return &s
}

// optional returns nil for "" so that it is written as null.
func optional[T ~string](s T) *T {
	if s == "" {
		return nil
	}
	return &s
}
