package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"greeter/internal/ids"
	"greeter/internal/routing"
)

// RuleID identifies a routing rule.
type RuleID string

// Rule is a routing rule: the pages that meet all of its conditions go to its
// pool (SPEC §7.1).
type Rule struct {
	ID         RuleID
	OrgID      ids.OrgID
	PoolID     ids.PoolID
	Name       string
	Conditions []routing.Condition
	Priority   int // -1000 to 1000, higher first
	Active     bool
	CreatedAt  time.Time
}

// NewRule is what it takes to create a rule. A zero CreatedAt means now.
type NewRule struct {
	OrgID      ids.OrgID
	PoolID     ids.PoolID
	Name       string
	Conditions []routing.Condition
	Priority   int
	Active     bool
	CreatedAt  time.Time
}

// RuleChanges is an edit of a rule; nil fields stay as they are.
type RuleChanges struct {
	Name       *string
	Conditions []routing.Condition
	Priority   *int
	Active     *bool
}

const ruleColumns = `id, org_id, pool_id, name, conditions, priority, active, created_at`

// Routing returns the rule as internal/routing resolves it.
func (r Rule) Routing() routing.Rule {
	return routing.Rule{
		ID:         string(r.ID),
		PoolID:     string(r.PoolID),
		Priority:   r.Priority,
		CreatedAt:  r.CreatedAt,
		Active:     r.Active,
		Conditions: r.Conditions,
	}
}

// CreateRule adds a rule to one of the organization's pools. Conditions
// and priority are validated with routing.ValidateRule: an invalid one is
// ErrInvalid wrapping the *routing.InvalidError. An unknown pool is
// ErrNotFound; the catch-all pool ErrCatchAll.
func (s *Store) CreateRule(ctx context.Context, n NewRule) (Rule, error) {
	r := Rule{
		ID:         RuleID(ids.NewRow()),
		OrgID:      n.OrgID,
		PoolID:     n.PoolID,
		Name:       strings.TrimSpace(n.Name),
		Conditions: trimConditions(n.Conditions),
		Priority:   n.Priority,
		Active:     n.Active,
		CreatedAt:  n.CreatedAt.UTC(),
	}
	if n.CreatedAt.IsZero() {
		r.CreatedAt = time.Now().UTC()
	}

	err := s.inTx(ctx, func(tx *sql.Tx) error {
		p, err := poolInTx(ctx, tx, r.OrgID, r.PoolID)
		if err != nil {
			return err
		}
		if p.IsCatchAll {
			return ErrCatchAll
		}
		conds, err := encodeRule(r)
		if err != nil {
			return err
		}

		_, err = tx.ExecContext(ctx, `INSERT INTO routing_rules (`+ruleColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			r.ID, r.OrgID, r.PoolID, r.Name, conds, r.Priority, r.Active,
			formatTime(r.CreatedAt))
		return err
	})
	if err != nil {
		return Rule{}, fmt.Errorf("store: unable to create rule: %w", classify(err))
	}
	return r, nil
}

// UpdateRule edits a rule of the organization, validated as by CreateRule.
func (s *Store) UpdateRule(
	ctx context.Context, orgID ids.OrgID, ruleID RuleID, c RuleChanges,
) (Rule, error) {
	var r Rule
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		r, err = scanRule(tx.QueryRowContext(ctx, `SELECT `+ruleColumns+` FROM routing_rules
			WHERE id = ? AND org_id = ?`, ruleID, orgID))
		if err != nil {
			return notFoundIfNoRows(err)
		}
		applyRuleChanges(&r, c)
		conds, err := encodeRule(r)
		if err != nil {
			return err
		}

		_, err = tx.ExecContext(ctx, `UPDATE routing_rules
			SET name = ?, conditions = ?, priority = ?, active = ?
			WHERE id = ? AND org_id = ?`,
			r.Name, conds, r.Priority, r.Active, ruleID, orgID)
		return err
	})
	if err != nil {
		return Rule{}, fmt.Errorf("store: unable to update rule: %w", classify(err))
	}
	return r, nil
}

func applyRuleChanges(r *Rule, c RuleChanges) {
	if c.Name != nil {
		r.Name = strings.TrimSpace(*c.Name)
	}
	if c.Conditions != nil {
		r.Conditions = trimConditions(c.Conditions)
	}
	if c.Priority != nil {
		r.Priority = *c.Priority
	}
	if c.Active != nil {
		r.Active = *c.Active
	}
}

// DeleteRule deletes a rule of the organization.
func (s *Store) DeleteRule(ctx context.Context, orgID ids.OrgID, ruleID RuleID) error {
	res, err := s.db.ExecContext(ctx,
		`DELETE FROM routing_rules WHERE id = ? AND org_id = ?`, ruleID, orgID)
	if err == nil {
		err = mustAffectOne(res)
	}
	if err != nil {
		return fmt.Errorf("store: unable to delete rule: %w", err)
	}
	return nil
}

// ListRules returns the organization's rules, active or not, in the order
// they are tried: by descending priority, then oldest first, then by id.
func (s *Store) ListRules(ctx context.Context, orgID ids.OrgID) ([]Rule, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+ruleColumns+` FROM routing_rules
		WHERE org_id = ? ORDER BY priority DESC, created_at, id`, orgID)
	return collect(rows, err, "list rules", scanRule)
}

// encodeRule validates the rule's conditions and priority, and returns its
// conditions as stored JSON. The name is left to the schema's check.
func encodeRule(r Rule) (string, error) {
	if err := routing.ValidateRule(r.Routing()); err != nil {
		return "", fmt.Errorf("%w: %w", ErrInvalid, err)
	}

	b, err := json.Marshal(r.Conditions)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

func trimConditions(conds []routing.Condition) []routing.Condition {
	if conds == nil {
		return nil
	}
	out := make([]routing.Condition, len(conds))
	for i, c := range conds {
		out[i] = c.Trimmed()
	}
	return out
}

func scanRule(row scanner) (Rule, error) {
	var (
		r     Rule
		conds string
	)
	err := row.Scan(&r.ID, &r.OrgID, &r.PoolID, &r.Name, &conds, &r.Priority, &r.Active,
		timeCol{&r.CreatedAt})
	if err != nil {
		return Rule{}, err
	}
	if err := json.Unmarshal([]byte(conds), &r.Conditions); err != nil {
		return Rule{}, fmt.Errorf("store: rule %s has unreadable conditions: %w", r.ID, err)
	}
	return r, nil
}
