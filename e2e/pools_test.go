package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"greeter/internal/demo"
	"greeter/internal/ids"
	"greeter/internal/routing"
	"greeter/internal/store"
)

const benEmail = "ben@demo.greeter.test"

// The admin builds a Sales pool on the pools page: a rule for the pricing
// pages written with the condition builder and its preview, Ben as Primary,
// and the "Test a URL" box sends a pricing page to Sales and another page to
// the catch-all pool. A duplicate pool name shows the server's refusal, and
// the store holds what the page showed.
func TestPoolsPageBuildsAPoolWithARuleAndAMember(t *testing.T) {
	requireChromium(t)
	srv := startServer(t)
	admin := newPage(t, "admin")
	artifacts(t, admin)
	const sales = `#pools article[data-pool-name="Sales"]`
	const editor = sales + ` form[data-rule-editor="new"]`
	ben := agentID(t, srv, benEmail)
	catchAll := catchAllPool(t, srv)

	signInAdmin(admin, srv.dashURL)
	admin.click(`#nav a[data-page=pools]`)
	admin.waitFor("the pools page with the catch-all pool", 10*time.Second, `(() => {
		if (location.pathname !== '/admin/pools') return 'at ' + location.pathname;
		const all = document.querySelector('#pools article[data-catch-all="true"]');
		if (!all) return 'no catch-all pool';
		return all.querySelector('.catch-all-note').textContent
			.includes('receives every visitor no other rule matches') &&
			!all.querySelector('[data-action=delete-pool], [data-action=new-rule]');
	})()`)
	nav := mustEval[string](admin, `[...document.querySelectorAll('#nav a')]
		.map((a) => a.dataset.page).join(',')`)
	if !strings.Contains(nav, "team,pools") {
		t.Errorf("the admin's navigation is %q, want Pools right after Team", nav)
	}

	admin.do("create the Sales pool",
		chromedp.SendKeys(chromedp.ID("pool-name"), "Sales"),
		chromedp.SendKeys(chromedp.ID("pool-description"), "Pricing and checkout"),
		chromedp.Click(chromedp.ID("pool-overflow")),
		chromedp.Click(chromedp.ID("pool-submit")))
	admin.waitFor("the Sales pool", 10*time.Second, `(() => {
		const card = document.querySelector('`+sales+`');
		return !!card && card.querySelector('[data-action=overflow]').checked &&
			document.querySelector('#page-notice').textContent.includes('“Sales” was created');
	})()`)

	admin.click(sales + ` [data-action=new-rule]`)
	admin.waitFor("the rule builder", 5*time.Second, `!!document.querySelector('`+editor+`')`)
	admin.do("name the rule and test the path",
		chromedp.SendKeys(chromedp.CSS(editor+` input[data-field=name]`), "Pricing pages"),
		chromedp.SendKeys(chromedp.CSS(editor+` li[data-condition="0"] input[data-field=value]`),
			"/pricing"))
	choose(admin, editor+` li[data-condition="0"] select`, "path")
	admin.waitFor("the preview", 5*time.Second, previewIs(editor, "Path starts with “/pricing”"))

	admin.click(editor + ` [data-action=add-condition]`)
	choose(admin, editor+` li[data-condition="1"] select`, "query_param")
	admin.waitFor("the parameter field and the longer preview", 5*time.Second, `(() => {
		const row = document.querySelector('`+editor+` li[data-condition="1"]');
		return !!row && !row.querySelector('input[data-field=param]').hidden &&
			document.querySelector('`+editor+` [data-role=preview]').textContent ===
			'Path starts with “/pricing” and query parameter … starts with “…”';
	})()`)
	admin.snap("rule-builder")
	admin.click(editor + ` li[data-condition="1"] [data-action=remove-condition]`)
	admin.waitFor("one condition again", 5*time.Second,
		previewIs(editor, "Path starts with “/pricing”"))
	admin.click(editor + ` [data-action=save-rule]`)
	admin.waitFor("the rule in the list", 10*time.Second, `(() => {
		const rule = document.querySelector('`+sales+` li[data-rule-name="Pricing pages"]');
		return !!rule && !document.querySelector('`+editor+`') &&
			rule.querySelector('.rule-sentence').textContent === 'Path starts with “/pricing”';
	})()`)

	choose(admin, sales+` select[data-field=agent]`, string(ben))
	choose(admin, sales+` form.pool-add select[data-field=tier]`, "1")
	admin.click(sales + ` [data-action=add-member]`)
	admin.waitFor("Ben as Primary", 10*time.Second, `(() => {
		const row = document.querySelector('`+sales+` tr[data-agent-name="Ben"]');
		if (!row) return 'no row for Ben';
		const tier = row.querySelector('select[data-field=tier]');
		return tier.value === '1' && tier.selectedOptions[0].textContent === 'Primary' &&
			row.querySelectorAll('details.greeting input[type=file]').length === 3;
	})()`)

	testURL(admin, "http://shop.example/pricing/team")
	admin.waitFor("Sales and its rule", 10*time.Second, testResultIs("Sales", "Pricing pages"))
	testURL(admin, "/about")
	admin.waitFor("the catch-all pool", 10*time.Second, `document.querySelector('#test-page')
		.textContent === 'http://shop.example/about' && `+
		testResultIs(catchAll.Name, "no rule matched: the catch-all pool"))
	admin.snap("tested")

	admin.do("create Sales again",
		chromedp.SendKeys(chromedp.ID("pool-name"), "sales"),
		chromedp.Click(chromedp.ID("pool-submit")))
	admin.waitFor("the duplicate-name error", 10*time.Second, `(() => {
		const e = document.querySelector('#pool-error');
		return !e.hidden && e.textContent === 'A pool with this name already exists' &&
			document.querySelectorAll('#pools article').length === 2 || e.textContent;
	})()`)

	assertSalesStored(t, srv, ben)
}

// choose picks value in the select a CSS selector finds, as a person would:
// the page hears the change.
func choose(p *page, selector, value string) {
	p.t.Helper()
	p.waitFor("to choose "+value+" in "+selector, 5*time.Second, fmt.Sprintf(`(() => {
		const s = document.querySelector(%q);
		if (!s || ![...s.options].some((o) => o.value === %q)) return false;
		s.value = %q;
		s.dispatchEvent(new Event('change', { bubbles: true }));
		return true;
	})()`, selector, value, value))
}

// testURL types a URL into the emptied "Test a URL" box and submits it.
func testURL(p *page, url string) {
	p.t.Helper()
	mustEval[any](p, `(() => { document.querySelector('#test-url').value = ''; return null; })()`)
	p.do("test "+url,
		chromedp.SendKeys(chromedp.ID("test-url"), url),
		chromedp.Click(chromedp.ID("test-submit")))
}

func previewIs(editor, want string) string {
	return fmt.Sprintf(`(() => {
		const text = document.querySelector(%q).textContent;
		return text === %q || text;
	})()`, editor+` [data-role=preview]`, want)
}

func testResultIs(pool, rule string) string {
	return fmt.Sprintf(`(() => {
		if (document.querySelector('#test-result').hidden) return 'no result';
		const text = (id) => document.querySelector('#' + id).textContent;
		return text('test-pool') === %q && text('test-rule') === %q ||
			text('test-pool') + ' / ' + text('test-rule');
	})()`, pool, rule)
}

func catchAllPool(t *testing.T, srv *server) store.Pool {
	t.Helper()
	ctx := context.Background()
	org, err := srv.app.Store().OrgByName(ctx, demo.OrgName)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := srv.app.Store().CatchAllPool(ctx, org.ID)
	if err != nil {
		t.Fatal(err)
	}
	return pool
}

// assertSalesStored checks that the store holds exactly one Sales pool, with
// overflow on, the pricing rule and Ben at tier 1.
func assertSalesStored(t *testing.T, srv *server, ben ids.AgentID) {
	t.Helper()
	ctx := context.Background()
	st := srv.app.Store()
	org, err := st.OrgByName(ctx, demo.OrgName)
	if err != nil {
		t.Fatal(err)
	}
	pools, err := st.ListPools(ctx, org.ID)
	if err != nil {
		t.Fatal(err)
	}
	var salesPools []store.Pool
	for _, p := range pools {
		if strings.EqualFold(p.Name, "Sales") {
			salesPools = append(salesPools, p)
		}
	}
	if len(salesPools) != 1 {
		t.Fatalf("%d pools named Sales, want 1", len(salesPools))
	}
	sales := salesPools[0]
	if !sales.OverflowToCatchAll || sales.Description != "Pricing and checkout" {
		t.Errorf("Sales is stored as %+v", sales)
	}

	rules, err := st.ListRules(ctx, org.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := routing.Condition{Type: "path", Match: "starts_with", Value: "/pricing"}
	if len(rules) != 1 || rules[0].PoolID != sales.ID || rules[0].Name != "Pricing pages" ||
		!rules[0].Active || len(rules[0].Conditions) != 1 || rules[0].Conditions[0] != want {
		t.Errorf("rules stored: %+v", rules)
	}

	members, err := st.PoolMembers(ctx, org.ID, sales.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(members) != 1 || members[0].AgentID != ben || members[0].PriorityRank != 1 {
		t.Errorf("members of Sales: %+v", members)
	}
}
