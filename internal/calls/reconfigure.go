package calls

import (
	"context"

	"greeter/internal/ids"
)

// Reconfigure makes org's loop see the organization's configuration as the
// database now holds it: pools, rules, memberships, tiers, agent profiles
// (names, capacities, videos) and call settings (SPEC §7.6). Admin handlers
// call it after their change commits; it returns once the loop has applied
// it, so the next routing decision sees the change.
func (h *Hub) Reconfigure(ctx context.Context, org ids.OrgID) error {
	if h.running(org) == nil {
		return nil // the loop loads the configuration when it starts
	}
	// TODO: reload and apply the routing mirror.
	return nil
}
