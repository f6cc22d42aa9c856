package routing

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// testPage has a subdomain host with a port, an escaped path, a parameter
// given twice and one present without a value.
const testPage = "https://Shop.Example.com:8443/Pricing/Plans%20Pro" +
	"?UTM_Source=Google&utm_source=bing&ref="

func cond(typ, match, value string) Condition {
	return Condition{Type: typ, Match: match, Value: value}
}

func param(name, match, value string) Condition {
	return Condition{Type: TypeQueryParam, Match: match, Value: value, Param: name}
}

func TestConditionsOnTheirOwn(t *testing.T) {
	tests := []struct {
		name string
		c    Condition
		want bool
	}{
		{"domain is_exactly", cond(TypeDomain, MatchIsExactly, "shop.example.com"), true},
		{"domain is_exactly ignores case", cond(TypeDomain, MatchIsExactly, "SHOP.Example.com"),
			true},
		{"domain is_exactly trims the value", cond(TypeDomain, MatchIsExactly,
			"  shop.example.com "), true},
		{"domain is_exactly is not a subdomain match", cond(TypeDomain, MatchIsExactly,
			"example.com"), false},
		{"domain is_exactly ignores the port", cond(TypeDomain, MatchIsExactly,
			"shop.example.com:8443"), false},
		{"domain contains", cond(TypeDomain, MatchContains, "EXAMPLE"), true},
		{"domain contains, no", cond(TypeDomain, MatchContains, "other"), false},
		{"domain does_not_contain", cond(TypeDomain, MatchDoesNotContain, "other"), true},
		{"domain does_not_contain, no", cond(TypeDomain, MatchDoesNotContain, "Example"),
			false},
		{"domain starts_with", cond(TypeDomain, MatchStartsWith, "shop."), true},
		{"domain starts_with, no", cond(TypeDomain, MatchStartsWith, "example"), false},
		{"domain ends_with", cond(TypeDomain, MatchEndsWith, ".example.com"), true},
		{"domain ends_with, no", cond(TypeDomain, MatchEndsWith, ".org"), false},

		{"path is_exactly, decoded", cond(TypePath, MatchIsExactly, "/pricing/plans pro"),
			true},
		{"path is_exactly, no", cond(TypePath, MatchIsExactly, "/pricing"), false},
		{"path contains", cond(TypePath, MatchContains, "PLANS PRO"), true},
		{"path contains tests the decoded path", cond(TypePath, MatchContains, "%20"), false},
		{"path does_not_contain", cond(TypePath, MatchDoesNotContain, "checkout"), true},
		{"path does_not_contain, no", cond(TypePath, MatchDoesNotContain, "pricing"), false},
		{"path starts_with", cond(TypePath, MatchStartsWith, "/Pricing/"), true},
		{"path starts_with, no", cond(TypePath, MatchStartsWith, "/plans"), false},
		{"path ends_with", cond(TypePath, MatchEndsWith, " pro "), true},
		{"path ends_with, no", cond(TypePath, MatchEndsWith, "plans"), false},

		{"query is_exactly, first occurrence", param("utm_source", MatchIsExactly, "google"),
			true},
		{"query is_exactly, a later occurrence", param("utm_source", MatchIsExactly, "bing"),
			false},
		{"query name ignores case", param("UTM_SOURCE", MatchIsExactly, "Google"), true},
		{"query contains", param("utm_source", MatchContains, "OOG"), true},
		{"query contains, no", param("utm_source", MatchContains, "bing"), false},
		{"query does_not_contain", param("utm_source", MatchDoesNotContain, "bing"), true},
		{"query does_not_contain, no", param("utm_source", MatchDoesNotContain, "goo"), false},
		{"query starts_with", param("utm_source", MatchStartsWith, "goo"), true},
		{"query starts_with, no", param("utm_source", MatchStartsWith, "gle"), false},
		{"query ends_with", param("utm_source", MatchEndsWith, "GLE"), true},
		{"query ends_with, no", param("utm_source", MatchEndsWith, "goo"), false},

		{"missing is_exactly", param("campaign", MatchIsExactly, "x"), false},
		{"missing contains", param("campaign", MatchContains, "x"), false},
		{"missing does_not_contain", param("campaign", MatchDoesNotContain, "x"), true},
		{"missing starts_with", param("campaign", MatchStartsWith, "x"), false},
		{"missing ends_with", param("campaign", MatchEndsWith, "x"), false},
		{"empty value is present", param("ref", MatchDoesNotContain, "x"), true},
		{"empty value contains nothing", param("ref", MatchContains, "x"), false},
	}
	page, err := ParsePage(testPage)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := ValidateCondition(tt.c); err != nil {
				t.Fatalf("the test's condition is invalid: %v", err)
			}
			rules := []Rule{{ID: "r", PoolID: "p", Active: true, Conditions: []Condition{tt.c}}}
			ruleID, poolID, ok := Resolve(page, rules)
			if ok != tt.want || (ok && (ruleID != "r" || poolID != "p")) {
				t.Errorf("Resolve = %q, %q, %v; want match %v", ruleID, poolID, ok, tt.want)
			}
		})
	}
}

func TestConditionsCombine(t *testing.T) {
	domain := cond(TypeDomain, MatchEndsWith, "example.com")
	path := cond(TypePath, MatchStartsWith, "/pricing")
	query := param("utm_source", MatchIsExactly, "google")
	missing := param("campaign", MatchDoesNotContain, "spring")
	tests := []struct {
		name  string
		conds []Condition
		want  bool
	}{
		{"domain and path", []Condition{domain, path}, true},
		{"all three types", []Condition{domain, path, query}, true},
		{"with a missing parameter's does_not_contain", []Condition{domain, missing}, true},
		{"one failing condition fails the rule",
			[]Condition{domain, path, cond(TypePath, MatchContains, "checkout")}, false},
		{"the same type twice", []Condition{path, cond(TypePath, MatchDoesNotContain, "pro")},
			false},
		{"a missing parameter's contains fails the rule",
			[]Condition{domain, param("campaign", MatchContains, "x")}, false},
	}
	page, err := ParsePage(testPage)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, ok := Resolve(page, []Rule{{ID: "r", PoolID: "p", Active: true,
				Conditions: tt.conds}})
			if ok != tt.want {
				t.Errorf("match = %v, want %v", ok, tt.want)
			}
		})
	}
}

func TestResolveOrder(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	hit := []Condition{cond(TypeDomain, MatchContains, "example")}
	none := []Condition{cond(TypeDomain, MatchContains, "nowhere")}
	rule := func(id string, priority int, age time.Duration, active bool,
		conds []Condition) Rule {
		return Rule{ID: id, PoolID: "pool-" + id, Priority: priority,
			CreatedAt: t0.Add(-age), Active: active, Conditions: conds}
	}
	tests := []struct {
		name  string
		rules []Rule
		want  string // the rule id, "" for no match
	}{
		{"no rules", nil, ""},
		{"no rule matches", []Rule{rule("a", 5, 0, true, none)}, ""},
		{"higher priority first", []Rule{
			rule("a", 1, 2*time.Hour, true, hit),
			rule("b", 10, 0, true, hit),
			rule("c", -5, 3*time.Hour, true, hit),
		}, "b"},
		{"negative priorities after zero", []Rule{
			rule("a", -1, time.Hour, true, hit),
			rule("b", 0, 0, true, hit),
		}, "b"},
		{"a higher rule that does not match is passed over", []Rule{
			rule("a", 100, 0, true, none),
			rule("b", 1, 0, true, hit),
		}, "b"},
		{"equal priority: older first", []Rule{
			rule("a", 3, time.Minute, true, hit),
			rule("b", 3, time.Hour, true, hit),
		}, "b"},
		{"equal priority and age: lower id first", []Rule{
			rule("b", 3, time.Hour, true, hit),
			rule("a", 3, time.Hour, true, hit),
		}, "a"},
		{"inactive rules are skipped", []Rule{
			rule("a", 100, time.Hour, false, hit),
			rule("b", 1, 0, true, hit),
		}, "b"},
		{"only inactive rules match nothing", []Rule{rule("a", 1, 0, false, hit)}, ""},
		{"a rule without conditions matches nothing", []Rule{
			rule("a", 9, 0, true, nil),
			rule("b", 1, 0, true, hit),
		}, "b"},
	}
	page, err := ParsePage("https://www.example.com/")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ruleID, poolID, ok := Resolve(page, tt.rules)
			if ruleID != tt.want || ok != (tt.want != "") ||
				(ok && poolID != "pool-"+tt.want) {
				t.Errorf("Resolve = %q, %q, %v; want rule %q", ruleID, poolID, ok, tt.want)
			}
		})
	}
}

func TestValidateCondition(t *testing.T) {
	long := func(n int) string { return strings.Repeat("é", n) }
	tests := []struct {
		name string
		c    Condition
		want string // the message, "" when valid
	}{
		{"domain", cond(TypeDomain, MatchIsExactly, "example.com"), ""},
		{"query parameter", param("utm_source", MatchContains, "ads"), ""},
		{"longest value and name", param(long(100), MatchContains, long(500)), ""},
		{"unknown type", cond("host", MatchContains, "x"),
			"type must be one of domain, path, query_param"},
		{"type in capitals", cond("DOMAIN", MatchContains, "x"),
			"type must be one of domain, path, query_param"},
		{"unknown match", cond(TypePath, "equals", "x"), "match must be one of is_exactly, " +
			"contains, does_not_contain, starts_with, ends_with"},
		{"empty value", cond(TypePath, MatchContains, ""), "value must be 1 to 500 characters"},
		{"blank value", cond(TypePath, MatchContains, "   "),
			"value must be 1 to 500 characters"},
		{"value too long", cond(TypePath, MatchContains, long(501)),
			"value must be 1 to 500 characters"},
		{"long value with spaces around", cond(TypePath, MatchContains, " "+long(500)+" "), ""},
		{"query parameter without a name", param(" ", MatchContains, "x"),
			"param must be 1 to 100 characters when type is query_param"},
		{"parameter name too long", param(long(101), MatchContains, "x"),
			"param must be 1 to 100 characters when type is query_param"},
		{"param on a path condition", Condition{Type: TypePath, Match: MatchContains,
			Value: "x", Param: "p"}, "param is only allowed when type is query_param"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkInvalid(t, ValidateCondition(tt.c), tt.want)
		})
	}
}

func TestValidateRule(t *testing.T) {
	ok := cond(TypeDomain, MatchIsExactly, "example.com")
	many := func(n int) []Condition {
		list := make([]Condition, n)
		for i := range list {
			list[i] = ok
		}
		return list
	}
	tests := []struct {
		name string
		r    Rule
		want string
	}{
		{"one condition", Rule{Conditions: many(1)}, ""},
		{"ten conditions, extreme priorities", Rule{Priority: -1000, Conditions: many(10)}, ""},
		{"highest priority", Rule{Priority: 1000, Conditions: many(1)}, ""},
		{"no conditions", Rule{}, "conditions must hold 1 to 10 conditions"},
		{"eleven conditions", Rule{Conditions: many(11)},
			"conditions must hold 1 to 10 conditions"},
		{"priority too high", Rule{Priority: 1001, Conditions: many(1)},
			"priority must be between -1000 and 1000"},
		{"priority too low", Rule{Priority: -1001, Conditions: many(1)},
			"priority must be between -1000 and 1000"},
		{"a bad condition is named by its index",
			Rule{Conditions: []Condition{ok, cond(TypePath, MatchContains, "")}},
			"conditions[1].value must be 1 to 500 characters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkInvalid(t, ValidateRule(tt.r), tt.want)
		})
	}
}

// checkInvalid checks that err is nil when want is empty, and otherwise an
// *InvalidError with the message want.
func checkInvalid(t *testing.T, err error, want string) {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Errorf("err = %v, want nil", err)
		}
		return
	}

	var invalid *InvalidError
	if !errors.As(err, &invalid) {
		t.Fatalf("err = %v, want an *InvalidError", err)
	}
	if invalid.Message() != want {
		t.Errorf("message = %q, want %q", invalid.Message(), want)
	}
	if err.Error() != "routing: "+want {
		t.Errorf("Error() = %q", err.Error())
	}
}
