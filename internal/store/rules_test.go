package store

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"greeter/internal/ids"
	"greeter/internal/routing"
)

var pricing = []routing.Condition{
	{Type: routing.TypePath, Match: routing.MatchStartsWith, Value: "/pricing"},
}

// newPool creates a pool of org or fails the test.
func newPool(t *testing.T, s *Store, org ids.OrgID, name string) Pool {
	t.Helper()
	p, err := s.CreatePool(context.Background(), NewPool{OrgID: org, Name: name})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// newRule creates an active rule on pool or fails the test.
func newRule(t *testing.T, s *Store, org ids.OrgID, pool ids.PoolID, name string) Rule {
	t.Helper()
	r, err := s.CreateRule(context.Background(), NewRule{OrgID: org, PoolID: pool,
		Name: name, Conditions: pricing, Active: true})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// countRows counts the rows of a table that a query's condition selects.
func countRows(t *testing.T, s *Store, query string, args ...any) int {
	t.Helper()
	var n int
	if err := s.db.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestPoolNamesAreUniquePerOrgInAnyCase(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	f := newFixture(t, s, "Acme", "ada@example.test")
	other := newFixture(t, s, "Other", "otto@example.test")

	sales, err := s.CreatePool(ctx, NewPool{OrgID: f.org.ID, Name: "  Sales ",
		Description: " Buyers ", OverflowToCatchAll: true})
	if err != nil {
		t.Fatal(err)
	}
	if sales.Name != "Sales" || sales.Description != "Buyers" || !sales.OverflowToCatchAll ||
		sales.IsCatchAll || sales.CreatedAt.IsZero() {
		t.Errorf("pool = %+v", sales)
	}

	if _, err := s.CreatePool(ctx, NewPool{OrgID: f.org.ID, Name: "sales"}); !errors.Is(err,
		ErrConflict) {
		t.Errorf("duplicate name: err = %v, want ErrConflict", err)
	}
	if _, err := s.CreatePool(ctx, NewPool{OrgID: f.org.ID, Name: "ALL"}); !errors.Is(err,
		ErrConflict) {
		t.Errorf("the catch-all's name: err = %v, want ErrConflict", err)
	}
	newPool(t, s, other.org.ID, "Sales") // another organization may use it

	support := newPool(t, s, f.org.ID, "Support")
	rename := func(name string) PoolChanges { return PoolChanges{Name: &name} }
	_, err = s.UpdatePool(ctx, f.org.ID, support.ID, rename("SALES"))
	if !errors.Is(err, ErrConflict) {
		t.Errorf("rename to a taken name: err = %v, want ErrConflict", err)
	}
	got, err := s.UpdatePool(ctx, f.org.ID, sales.ID, rename("SALES"))
	if err != nil || got.Name != "SALES" || !got.OverflowToCatchAll {
		t.Errorf("rename to its own name in capitals: %+v, %v", got, err)
	}
	if _, err := s.CreatePool(ctx, NewPool{OrgID: f.org.ID, Name: "  "}); !errors.Is(err,
		ErrInvalid) {
		t.Errorf("blank name: err = %v, want ErrInvalid", err)
	}

	pools, err := s.ListPools(ctx, f.org.ID)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range pools {
		names = append(names, p.Name)
	}
	if want := []string{"All", "SALES", "Support"}; !reflect.DeepEqual(names, want) {
		t.Errorf("pools = %v, want %v", names, want)
	}
}

func TestCatchAllPoolIsProtected(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	f := newFixture(t, s, "Acme", "ada@example.test")
	all, err := s.CatchAllPool(ctx, f.org.ID)
	if err != nil {
		t.Fatal(err)
	}

	if err := s.DeletePool(ctx, f.org.ID, all.ID); !errors.Is(err, ErrCatchAll) {
		t.Errorf("delete: err = %v, want ErrCatchAll", err)
	}
	_, err = s.CreateRule(ctx, NewRule{OrgID: f.org.ID, PoolID: all.ID, Name: "r",
		Conditions: pricing, Active: true})
	if !errors.Is(err, ErrCatchAll) {
		t.Errorf("rule: err = %v, want ErrCatchAll", err)
	}
	on := true
	_, err = s.UpdatePool(ctx, f.org.ID, all.ID, PoolChanges{OverflowToCatchAll: &on})
	if !errors.Is(err, ErrCatchAll) {
		t.Errorf("overflow: err = %v, want ErrCatchAll", err)
	}

	name, desc := "Everyone", "The rest"
	got, err := s.UpdatePool(ctx, f.org.ID, all.ID, PoolChanges{Name: &name, Description: &desc})
	if err != nil || got.Name != name || got.Description != desc || !got.IsCatchAll {
		t.Errorf("rename the catch-all: %+v, %v", got, err)
	}

	// The schema refuses both as well, whatever the code above it does.
	_, err = s.db.Exec(`INSERT INTO routing_rules (`+ruleColumns+`)
		VALUES ('r1', ?, ?, 'r', '[{}]', 0, 1, ?)`, f.org.ID, all.ID, formatTime(time.Now()))
	if err == nil {
		t.Error("the schema took a rule on the catch-all pool")
	}
	if _, err := s.db.Exec(`DELETE FROM pools WHERE id = ?`, all.ID); err == nil {
		t.Error("the schema let the catch-all pool be deleted")
	}
	sales := newPool(t, s, f.org.ID, "Sales")
	r := newRule(t, s, f.org.ID, sales.ID, "Pricing")
	if _, err := s.db.Exec(`UPDATE routing_rules SET pool_id = ? WHERE id = ?`,
		all.ID, r.ID); err == nil {
		t.Error("the schema let a rule move to the catch-all pool")
	}
	if n := countRows(t, s, `SELECT count(*) FROM pools WHERE id = ?`, all.ID); n != 1 {
		t.Errorf("%d catch-all pools", n)
	}
}

func TestDeletePoolDeletesItsRulesAndMemberships(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	f := newFixture(t, s, "Acme", "ada@example.test")
	sales := newPool(t, s, f.org.ID, "Sales")
	support := newPool(t, s, f.org.ID, "Support")
	newRule(t, s, f.org.ID, sales.ID, "Pricing")
	newRule(t, s, f.org.ID, sales.ID, "Plans")
	kept := newRule(t, s, f.org.ID, support.ID, "Help")
	for _, p := range []Pool{sales, support} {
		if _, err := s.SetPoolMember(ctx, f.org.ID, p.ID, f.agent.ID, 2); err != nil {
			t.Fatal(err)
		}
	}

	if err := s.DeletePool(ctx, f.org.ID, sales.ID); err != nil {
		t.Fatal(err)
	}

	if n := countRows(t, s, `SELECT count(*) FROM routing_rules WHERE pool_id = ?`,
		sales.ID); n != 0 {
		t.Errorf("%d rules of the deleted pool remain", n)
	}
	if n := countRows(t, s, `SELECT count(*) FROM pool_members WHERE pool_id = ?`,
		sales.ID); n != 0 {
		t.Errorf("%d memberships of the deleted pool remain", n)
	}
	rules, err := s.ListRules(ctx, f.org.ID)
	if err != nil || len(rules) != 1 || rules[0].ID != kept.ID {
		t.Errorf("rules = %+v, %v; want only %s", rules, err, kept.ID)
	}
	members, err := s.ListPoolMembers(ctx, f.org.ID)
	if err != nil || len(members) != 2 { // the catch-all and Support
		t.Errorf("members = %+v, %v", members, err)
	}
	if err := s.DeletePool(ctx, f.org.ID, sales.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("delete again: err = %v, want ErrNotFound", err)
	}
}

func TestSetPoolMemberUpsertsAndChecksTheAgent(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	f := newFixture(t, s, "Acme", "ada@example.test")
	sales := newPool(t, s, f.org.ID, "Sales")

	m, err := s.SetPoolMember(ctx, f.org.ID, sales.ID, f.agent.ID, 2)
	if err != nil || m.PoolID != sales.ID || m.AgentID != f.agent.ID || m.PriorityRank != 2 {
		t.Fatalf("add: %+v, %v", m, err)
	}
	m, err = s.SetPoolMember(ctx, f.org.ID, sales.ID, f.agent.ID, 99)
	if err != nil || m.PriorityRank != 99 {
		t.Fatalf("move: %+v, %v", m, err)
	}
	members, err := s.PoolMembers(ctx, f.org.ID, sales.ID)
	if err != nil || len(members) != 1 || members[0].PriorityRank != 99 {
		t.Errorf("members = %+v, %v", members, err)
	}

	for _, rank := range []int{0, 100, -1} {
		_, err := s.SetPoolMember(ctx, f.org.ID, sales.ID, f.agent.ID, rank)
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("rank %d: err = %v, want ErrInvalid", rank, err)
		}
	}

	_, removed, _ := addAgentUser(t, s, f.org.ID, "bo@example.test")
	if err := s.RemoveAgentProfile(ctx, f.org.ID, removed.ID, f.admin.ID,
		time.Now()); err != nil {
		t.Fatal(err)
	}
	_, err = s.SetPoolMember(ctx, f.org.ID, sales.ID, removed.ID, 1)
	if !errors.Is(err, ErrAgentNotFound) || !errors.Is(err, ErrNotFound) {
		t.Errorf("removed agent: err = %v, want ErrAgentNotFound", err)
	}
	_, err = s.SetPoolMember(ctx, f.org.ID, "no-such-pool", f.agent.ID, 1)
	if !errors.Is(err, ErrNotFound) || errors.Is(err, ErrAgentNotFound) {
		t.Errorf("unknown pool: err = %v, want ErrNotFound", err)
	}

	if err := s.RemovePoolMember(ctx, f.org.ID, sales.ID, f.agent.ID); err != nil {
		t.Fatal(err)
	}
	err = s.RemovePoolMember(ctx, f.org.ID, sales.ID, f.agent.ID)
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("remove again: err = %v, want ErrNotFound", err)
	}
}

func TestRulesAreValidatedTrimmedAndOrdered(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	f := newFixture(t, s, "Acme", "ada@example.test")
	sales := newPool(t, s, f.org.ID, "Sales")
	t0 := time.Date(2026, 2, 1, 9, 0, 0, 0, time.UTC)

	low, err := s.CreateRule(ctx, NewRule{OrgID: f.org.ID, PoolID: sales.ID, Name: " Ads ",
		Conditions: []routing.Condition{{Type: routing.TypeQueryParam,
			Match: routing.MatchIsExactly, Value: " google ", Param: " utm_source "}},
		Priority: -5, Active: true, CreatedAt: t0})
	if err != nil {
		t.Fatal(err)
	}
	wantConds := []routing.Condition{{Type: routing.TypeQueryParam,
		Match: routing.MatchIsExactly, Value: "google", Param: "utm_source"}}
	if low.Name != "Ads" || !reflect.DeepEqual(low.Conditions, wantConds) {
		t.Errorf("rule = %+v", low)
	}
	high, err := s.CreateRule(ctx, NewRule{OrgID: f.org.ID, PoolID: sales.ID, Name: "Pricing",
		Conditions: pricing, Priority: 10, Active: false, CreatedAt: t0.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}

	rules, err := s.ListRules(ctx, f.org.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(rules) != 2 || !reflect.DeepEqual(rules[0], high) || !reflect.DeepEqual(rules[1], low) {
		t.Errorf("rules = %+v\nwant %+v and %+v", rules, high, low)
	}

	// An update changes only what it names.
	prio, active := 20, true
	got, err := s.UpdateRule(ctx, f.org.ID, low.ID, RuleChanges{Priority: &prio, Active: &active})
	if err != nil || got.Priority != 20 || got.Name != "Ads" ||
		!reflect.DeepEqual(got.Conditions, wantConds) {
		t.Errorf("update: %+v, %v", got, err)
	}
	rules, _ = s.ListRules(ctx, f.org.ID)
	if len(rules) != 2 || rules[0].ID != low.ID {
		t.Errorf("after the update, rules = %+v", rules)
	}

	if err := s.DeleteRule(ctx, f.org.ID, high.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteRule(ctx, f.org.ID, high.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("delete again: err = %v, want ErrNotFound", err)
	}
}

func TestInvalidRulesAreRefused(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	f := newFixture(t, s, "Acme", "ada@example.test")
	sales := newPool(t, s, f.org.ID, "Sales")
	r := newRule(t, s, f.org.ID, sales.ID, "Pricing")

	bad := []routing.Condition{{Type: routing.TypeDomain, Match: "equals", Value: "x"}}
	tests := []struct {
		name    string
		n       NewRule
		message string // of the *routing.InvalidError, when there is one
	}{
		{"no conditions", NewRule{Name: "r", Conditions: []routing.Condition{}},
			"conditions must hold 1 to 10 conditions"},
		{"bad match", NewRule{Name: "r", Conditions: bad},
			"conditions[0].match must be one of is_exactly, contains, does_not_contain, " +
				"starts_with, ends_with"},
		{"priority", NewRule{Name: "r", Conditions: pricing, Priority: 1001},
			"priority must be between -1000 and 1000"},
		{"blank name", NewRule{Name: " ", Conditions: pricing}, ""},
		{"long name", NewRule{Name: string(make([]byte, 81)), Conditions: pricing}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.n.OrgID, tt.n.PoolID = f.org.ID, sales.ID
			_, err := s.CreateRule(ctx, tt.n)
			checkRuleInvalid(t, err, tt.message)

			_, err = s.UpdateRule(ctx, f.org.ID, r.ID, RuleChanges{Name: &tt.n.Name,
				Conditions: tt.n.Conditions, Priority: &tt.n.Priority})
			checkRuleInvalid(t, err, tt.message)
		})
	}

	rules, _ := s.ListRules(ctx, f.org.ID)
	if len(rules) != 1 || !reflect.DeepEqual(rules[0], r) {
		t.Errorf("rules = %+v, want only %+v", rules, r)
	}
}

func checkRuleInvalid(t *testing.T, err error, message string) {
	t.Helper()
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("err = %v, want ErrInvalid", err)
	}
	if message == "" {
		return
	}
	var invalid *routing.InvalidError
	if !errors.As(err, &invalid) || invalid.Message() != message {
		t.Errorf("err = %v, want the message %q", err, message)
	}
}

func TestRoutingWritesRefuseAnotherOrgsIDs(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	a := newFixture(t, s, "Acme", "ada@example.test")
	b := newFixture(t, s, "Other", "otto@example.test")
	poolA := newPool(t, s, a.org.ID, "Sales")
	poolB := newPool(t, s, b.org.ID, "Sales")
	ruleB := newRule(t, s, b.org.ID, poolB.ID, "Pricing")
	if _, err := s.SetPoolMember(ctx, b.org.ID, poolB.ID, b.agent.ID, 1); err != nil {
		t.Fatal(err)
	}
	name, prio := "Mine", 5
	before := routingState(t, s, b.org.ID)

	tests := []struct {
		name string
		do   func() error
	}{
		{"update pool", func() error {
			_, err := s.UpdatePool(ctx, a.org.ID, poolB.ID, PoolChanges{Name: &name})
			return err
		}},
		{"delete pool", func() error { return s.DeletePool(ctx, a.org.ID, poolB.ID) }},
		{"rule on the pool", func() error {
			_, err := s.CreateRule(ctx, NewRule{OrgID: a.org.ID, PoolID: poolB.ID, Name: "r",
				Conditions: pricing})
			return err
		}},
		{"update rule", func() error {
			_, err := s.UpdateRule(ctx, a.org.ID, ruleB.ID, RuleChanges{Priority: &prio})
			return err
		}},
		{"delete rule", func() error { return s.DeleteRule(ctx, a.org.ID, ruleB.ID) }},
		{"member of the pool", func() error {
			_, err := s.SetPoolMember(ctx, a.org.ID, poolB.ID, a.agent.ID, 1)
			return err
		}},
		{"the agent in an own pool", func() error {
			_, err := s.SetPoolMember(ctx, a.org.ID, poolA.ID, b.agent.ID, 1)
			return err
		}},
		{"remove member", func() error {
			return s.RemovePoolMember(ctx, a.org.ID, poolB.ID, b.agent.ID)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.do(); !errors.Is(err, ErrNotFound) {
				t.Errorf("err = %v, want ErrNotFound", err)
			}
		})
	}

	if after := routingState(t, s, b.org.ID); !reflect.DeepEqual(before, after) {
		t.Errorf("organization B changed:\n%+v\n%+v", before, after)
	}
	if members, _ := s.PoolMembers(ctx, a.org.ID, poolA.ID); len(members) != 0 {
		t.Errorf("pool of A has members %+v", members)
	}
	if rules := mustRules(t, s, a.org.ID); len(rules) != 0 {
		t.Errorf("A has rules %+v", rules)
	}
}

// routingState is everything an organization's routing is made of.
func routingState(t *testing.T, s *Store, org ids.OrgID) []any {
	t.Helper()
	ctx := context.Background()
	pools, err := s.ListPools(ctx, org)
	if err != nil {
		t.Fatal(err)
	}
	members, err := s.ListPoolMembers(ctx, org)
	if err != nil {
		t.Fatal(err)
	}
	return []any{pools, members, mustRules(t, s, org)}
}

func mustRules(t *testing.T, s *Store, org ids.OrgID) []Rule {
	t.Helper()
	rules, err := s.ListRules(context.Background(), org)
	if err != nil {
		t.Fatal(err)
	}
	return rules
}
