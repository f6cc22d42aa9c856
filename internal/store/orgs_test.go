package store

import (
	"context"
	"errors"
	"strings"
	"testing"

	"greeter/internal/ids"
)

func TestUpdateOrgSettings(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	f := newFixture(t, s, "Acme", "ada@example.test")
	other := newFixture(t, s, "Other", "olga@example.test")
	name, tz, rna, maxMin := "  Acme Bikes ", "Europe/Berlin", 25, 90

	got, err := s.UpdateOrgSettings(ctx, f.org.ID, OrgSettingsChanges{
		Name: &name, Timezone: &tz, RNASeconds: &rna, MaxCallMinutes: &maxMin,
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "Acme Bikes" || got.Timezone != tz || got.RNASeconds != rna ||
		got.MaxCallMinutes != maxMin || got.ID != f.org.ID {
		t.Errorf("UpdateOrgSettings = %+v", got)
	}

	rna = 10
	got, err = s.UpdateOrgSettings(ctx, f.org.ID, OrgSettingsChanges{RNASeconds: &rna})
	if err != nil {
		t.Fatal(err)
	}
	stored, err := s.OrgByID(ctx, f.org.ID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.Name != "Acme Bikes" || stored.RNASeconds != 10 || stored.MaxCallMinutes != 90 ||
		got.RNASeconds != 10 {
		t.Errorf("after a partial edit: stored %+v, answered %+v", stored, got)
	}

	untouched, err := s.OrgByID(ctx, other.org.ID)
	if err != nil {
		t.Fatal(err)
	}
	if untouched.Name != "Other" || untouched.RNASeconds != 15 || untouched.Timezone != "UTC" {
		t.Errorf("another organization changed: %+v", untouched)
	}
}

// The schema refuses what the API should have refused first, and then no
// field of the edit is stored.
func TestUpdateOrgSettingsIsAllOrNothing(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	f := newFixture(t, s, "Acme", "ada@example.test")
	name, long, rna, badMinutes := "Renamed", strings.Repeat("x", 101), 20, 300

	tests := []struct {
		name string
		c    OrgSettingsChanges
	}{
		{"minutes out of range", OrgSettingsChanges{
			Name: &name, RNASeconds: &rna, MaxCallMinutes: &badMinutes}},
		{"name too long", OrgSettingsChanges{Name: &long, RNASeconds: &rna}},
	}
	for _, tt := range tests {
		if _, err := s.UpdateOrgSettings(ctx, f.org.ID, tt.c); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", tt.name, err)
		}
	}

	o, err := s.OrgByID(ctx, f.org.ID)
	if err != nil {
		t.Fatal(err)
	}
	if o.Name != "Acme" || o.RNASeconds != 15 || o.MaxCallMinutes != 120 {
		t.Errorf("a refused edit was stored in part: %+v", o)
	}

	if _, err := s.UpdateOrgSettings(ctx, ids.OrgID("nope"),
		OrgSettingsChanges{RNASeconds: &rna}); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown organization: err = %v, want ErrNotFound", err)
	}
}
