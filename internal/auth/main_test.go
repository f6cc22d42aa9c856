package auth

import (
	"os"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// TestMain makes hashing cheap: a cost-12 bcrypt takes seconds under the race
// detector. TestProductionPasswordCost checks the real settings.
func TestMain(m *testing.M) {
	passwordCost = bcrypt.MinCost
	h, err := bcrypt.GenerateFromPassword(prehash("nobody knows this"), passwordCost)
	if err != nil {
		panic(err)
	}
	dummyHash = string(h)
	os.Exit(m.Run())
}

func TestProductionPasswordCost(t *testing.T) {
	cost, err := bcrypt.Cost([]byte(productionDummyHash))
	if err != nil {
		t.Fatal(err)
	}
	if cost != DefaultPasswordCost || DefaultPasswordCost < 12 {
		t.Errorf("dummy hash cost %d, default cost %d; want both 12 or more",
			cost, DefaultPasswordCost)
	}
}
