package routing

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParsePage checks that any page URL either parses into a page whose
// parts are normalized as rules expect, or fails with ErrInvalidURL, and
// that a parsed page can be routed without a panic.
func FuzzParsePage(f *testing.F) {
	for _, s := range []string{
		"https://shop.example.com/pricing?plan=pro&utm_source=ad",
		"HTTP://Shop.Example.COM.:8080/",
		"https://a.test/%E2%82%AC?Q=%zz&q=second&=empty&x",
		"https://a.test",
		"ftp://a.test/",
		"/relative/path",
		"https://[::1]:443/x",
		"http://a.test/%zz",
		"  https://a.test/  ",
		"https://" + strings.Repeat("a", 2050),
	} {
		f.Add(s)
	}
	rules := []Rule{
		{ID: "r1", PoolID: "p1", Active: true, Priority: 5, Conditions: []Condition{
			{Type: TypePath, Match: MatchStartsWith, Value: "/pricing"}}},
		{ID: "r2", PoolID: "p2", Active: true, Conditions: []Condition{
			{Type: TypeQueryParam, Match: MatchIsExactly, Param: "plan", Value: "pro"},
			{Type: TypeDomain, Match: MatchEndsWith, Value: "example.com"}}},
		{ID: "r3", PoolID: "p3", Active: true, Conditions: []Condition{
			{Type: TypePath, Match: MatchDoesNotContain, Value: "€"}}},
	}

	f.Fuzz(func(t *testing.T, raw string) {
		p, err := ParsePage(raw)
		if err != nil {
			if !errors.Is(err, ErrInvalidURL) || err.Error() == "" {
				t.Fatalf("ParsePage(%q) error %v does not wrap ErrInvalidURL", raw, err)
			}
			return
		}

		if len(strings.TrimSpace(raw)) > MaxURLLength {
			t.Fatalf("ParsePage accepted %d characters", len(raw))
		}
		if p.Host == "" || p.Host != strings.ToLower(p.Host) || strings.HasSuffix(p.Host, ".") ||
			strings.Contains(p.Host, "..") {
			t.Fatalf("ParsePage(%q).Host = %q", raw, p.Host)
		}
		if p.Path == "" {
			t.Fatalf("ParsePage(%q).Path is empty", raw)
		}
		for name := range p.Query {
			if name == "" || name != strings.ToLower(name) {
				t.Fatalf("ParsePage(%q) query name %q", raw, name)
			}
		}

		// Parsing is a function of the URL: the same input, the same page.
		again, err := ParsePage(raw)
		if err != nil || again.Host != p.Host || again.Path != p.Path ||
			len(again.Query) != len(p.Query) {
			t.Fatalf("ParsePage(%q) is not deterministic: %+v, %+v, %v", raw, p, again, err)
		}

		ruleID, poolID, ok := Resolve(p, rules)
		if ok != (ruleID != "") || ok != (poolID != "") {
			t.Fatalf("Resolve = %q, %q, %v", ruleID, poolID, ok)
		}
	})
}

// FuzzValidateCondition checks that a condition is valid, and then stays
// valid trimmed and inside a rule, or is refused with a field and a reason.
func FuzzValidateCondition(f *testing.F) {
	f.Add(TypePath, MatchStartsWith, "/pricing", "")
	f.Add(TypeQueryParam, MatchIsExactly, "pro", "plan")
	f.Add(TypeDomain, MatchEndsWith, " example.com ", "")
	f.Add(TypeQueryParam, MatchContains, "x", "")
	f.Add(TypePath, MatchContains, "x", "plan")
	f.Add("url", MatchContains, "x", "")
	f.Add(TypePath, "regex", "x", "")
	f.Add(TypePath, MatchContains, "   ", "")
	f.Add(TypePath, MatchContains, strings.Repeat("€", 501), "")

	page, err := ParsePage("https://shop.example.com/pricing?plan=pro")
	if err != nil {
		f.Fatal(err)
	}

	f.Fuzz(func(t *testing.T, typ, match, value, param string) {
		c := Condition{Type: typ, Match: match, Value: value, Param: param}
		err := ValidateCondition(c)
		if err != nil {
			var invalid *InvalidError
			if !errors.As(err, &invalid) || invalid.Field == "" || invalid.Reason == "" {
				t.Fatalf("ValidateCondition(%+v) = %v, want an *InvalidError", c, err)
			}
			if ValidateRule(Rule{Conditions: []Condition{c}}) == nil {
				t.Fatalf("a rule with the invalid condition %+v is valid", c)
			}
			return
		}

		trimmed := c.Trimmed()
		if ValidateCondition(trimmed) != nil {
			t.Fatalf("%+v is valid but not once trimmed", c)
		}
		if n := utf8.RuneCountInString(trimmed.Value); n < 1 || n > MaxValueLength {
			t.Fatalf("valid condition with a value of %d characters", n)
		}
		if err := ValidateRule(Rule{Conditions: []Condition{trimmed}}); err != nil {
			t.Fatalf("a rule with the valid condition %+v: %v", trimmed, err)
		}
		// Matching never panics, whatever the value.
		page.meets(trimmed)
	})
}
