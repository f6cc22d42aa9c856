package routing

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Condition types: which part of the page a condition tests (SPEC §7.1).
const (
	TypeDomain     = "domain"
	TypePath       = "path"
	TypeQueryParam = "query_param"
)

// Match kinds: how a condition compares the page with its value.
const (
	MatchIsExactly      = "is_exactly"
	MatchContains       = "contains"
	MatchDoesNotContain = "does_not_contain"
	MatchStartsWith     = "starts_with"
	MatchEndsWith       = "ends_with"
)

// Limits of a rule (SPEC §3.1, §7.1).
const (
	MaxConditions  = 10
	MaxValueLength = 500
	MaxParamLength = 100
	MinPriority    = -1000
	MaxPriority    = 1000
)

var (
	conditionTypes = []string{TypeDomain, TypePath, TypeQueryParam}
	matchKinds     = []string{MatchIsExactly, MatchContains, MatchDoesNotContain,
		MatchStartsWith, MatchEndsWith}
)

// Condition is one test of a rule. Its JSON form is the one the API takes and
// the store keeps.
type Condition struct {
	Type  string `json:"type"`
	Match string `json:"match"`
	Value string `json:"value"`
	Param string `json:"param,omitempty"` // the query parameter's name, for TypeQueryParam
}

// Rule sends the visitors of the pages that meet all of its conditions to a
// pool.
type Rule struct {
	ID         string
	PoolID     string
	Priority   int // higher is tried first
	CreatedAt  time.Time
	Active     bool
	Conditions []Condition
}

// InvalidError says which field of a rule is invalid and why.
type InvalidError struct {
	Field  string // as the API names it: "priority", "conditions[2].value"
	Reason string // "must be 1 to 500 characters"
}

// Error implements error.
func (e *InvalidError) Error() string {
	return "routing: " + e.Message()
}

// Message is the error as an admin reads it: the field, then the reason.
func (e *InvalidError) Message() string {
	return e.Field + " " + e.Reason
}

// Trimmed returns c with the surrounding spaces of its value and parameter
// name removed, which is how a condition is stored and compared.
func (c Condition) Trimmed() Condition {
	c.Value = strings.TrimSpace(c.Value)
	c.Param = strings.TrimSpace(c.Param)
	return c
}

// ValidateCondition returns an *InvalidError naming the first invalid field
// of c, or nil. Value and parameter name are measured after trimming.
func ValidateCondition(c Condition) error {
	c = c.Trimmed()
	if !slices.Contains(conditionTypes, c.Type) {
		return &InvalidError{"type", "must be one of " + strings.Join(conditionTypes, ", ")}
	}
	if !slices.Contains(matchKinds, c.Match) {
		return &InvalidError{"match", "must be one of " + strings.Join(matchKinds, ", ")}
	}
	if n := utf8.RuneCountInString(c.Value); n < 1 || n > MaxValueLength {
		return &InvalidError{"value", fmt.Sprintf("must be 1 to %d characters", MaxValueLength)}
	}

	n := utf8.RuneCountInString(c.Param)
	switch {
	case c.Type == TypeQueryParam && (n < 1 || n > MaxParamLength):
		return &InvalidError{"param", fmt.Sprintf(
			"must be 1 to %d characters when type is %s", MaxParamLength, TypeQueryParam)}
	case c.Type != TypeQueryParam && n > 0:
		return &InvalidError{"param", "is only allowed when type is " + TypeQueryParam}
	}
	return nil
}

// ValidateRule returns an *InvalidError naming the first invalid field of r
// (its priority or one of its 1 to MaxConditions conditions), or nil.
func ValidateRule(r Rule) error {
	if r.Priority < MinPriority || r.Priority > MaxPriority {
		return &InvalidError{"priority",
			fmt.Sprintf("must be between %d and %d", MinPriority, MaxPriority)}
	}
	if n := len(r.Conditions); n < 1 || n > MaxConditions {
		return &InvalidError{"conditions",
			fmt.Sprintf("must hold 1 to %d conditions", MaxConditions)}
	}

	for i, c := range r.Conditions {
		var e *InvalidError
		if errors.As(ValidateCondition(c), &e) {
			return &InvalidError{fmt.Sprintf("conditions[%d].%s", i, e.Field), e.Reason}
		}
	}
	return nil
}

// Resolve returns the rule, and its pool, that routes page: the first active
// rule whose conditions all hold, taken by descending priority, then older
// first, then by id (SPEC §7.1 step 2). ok is false when no rule matches, in
// which case the caller uses the organization's catch-all pool.
func Resolve(page Page, rules []Rule) (ruleID string, poolID string, ok bool) {
	active := make([]Rule, 0, len(rules))
	for _, r := range rules {
		if r.Active {
			active = append(active, r)
		}
	}
	slices.SortFunc(active, compareRules)

	for _, r := range active {
		if page.meetsAll(r.Conditions) {
			return r.ID, r.PoolID, true
		}
	}
	return "", "", false
}

// compareRules orders rules as they are tried.
func compareRules(a, b Rule) int {
	if c := cmp.Compare(b.Priority, a.Priority); c != 0 {
		return c
	}
	if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
		return c
	}
	return strings.Compare(a.ID, b.ID)
}

// meetsAll reports whether every condition holds for the page. A rule
// without conditions cannot be stored; were one to get here, it would match
// nothing rather than every page.
func (p Page) meetsAll(conds []Condition) bool {
	if len(conds) == 0 {
		return false
	}
	for _, c := range conds {
		if !p.meets(c) {
			return false
		}
	}
	return true
}

// meets reports whether one condition holds for the page.
func (p Page) meets(c Condition) bool {
	c = c.Trimmed()
	var subject string
	switch c.Type {
	case TypeDomain:
		subject = p.Host
	case TypePath:
		subject = p.Path
	case TypeQueryParam:
		v, ok := p.Query[strings.ToLower(c.Param)]
		if !ok {
			return c.Match == MatchDoesNotContain
		}
		subject = v
	default:
		return false
	}
	return matches(c.Match, strings.ToLower(subject), strings.ToLower(c.Value))
}

// matches compares a lower-cased subject with a lower-cased value.
func matches(match, subject, value string) bool {
	switch match {
	case MatchIsExactly:
		return subject == value
	case MatchContains:
		return strings.Contains(subject, value)
	case MatchDoesNotContain:
		return !strings.Contains(subject, value)
	case MatchStartsWith:
		return strings.HasPrefix(subject, value)
	case MatchEndsWith:
		return strings.HasSuffix(subject, value)
	}
	return false
}
