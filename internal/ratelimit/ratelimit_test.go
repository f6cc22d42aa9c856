package ratelimit

import (
	"net/http"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

func TestASetAllowsItsBurstPerKeyThenRefills(t *testing.T) {
	s := NewSet(5, time.Minute, 1)
	for i := range 5 {
		if ok, _ := s.Take("1.2.3.4", t0); !ok {
			t.Fatalf("event %d refused", i+1)
		}
	}
	ok, wait := s.Take("1.2.3.4", t0)
	if ok || wait != 12*time.Second {
		t.Fatalf("sixth event: %v, wait %v; want refused for 12 s", ok, wait)
	}
	if ok, _ := s.Take("5.6.7.8", t0); !ok {
		t.Fatal("another key shares the bucket")
	}
	if ok, _ := s.Take("1.2.3.4", t0.Add(12*time.Second)); !ok {
		t.Fatal("no event back after 12 s")
	}
}

func TestScaleMultipliesTheLimit(t *testing.T) {
	for _, tc := range []struct {
		scale float64
		want  int
	}{{1, 3}, {2, 6}, {0.5, 2}, {0, 3}, {-1, 3}} {
		s := NewSet(3, time.Minute, tc.scale)
		n := 0
		for {
			if ok, _ := s.Take("k", t0); !ok {
				break
			}
			n++
		}
		if n != tc.want {
			t.Errorf("scale %v: %d events, want %d", tc.scale, n, tc.want)
		}
	}
}

func TestTakeAllSpendsFromEveryBucketOrFromNone(t *testing.T) {
	ip := NewSet(2, time.Minute, 1)
	org := NewSet(10, time.Minute, 1)
	both := func() bool {
		ok, _ := TakeAll(t0, Check{ip, "ip"}, Check{org, "org"})
		return ok
	}
	if !both() || !both() {
		t.Fatal("refused within both limits")
	}
	if both() {
		t.Fatal("the per-IP limit did not hold")
	}
	// The refused event spent nothing from the organization's bucket: eight
	// of its ten are left.
	for i := range 8 {
		if ok, _ := org.Take("org", t0); !ok {
			t.Fatalf("organization event %d refused: the refusal spent from it", i+1)
		}
	}
	if ok, _ := org.Take("org", t0); ok {
		t.Fatal("the organization's bucket holds more than it should")
	}
	// Skipped checks: no set, or no key.
	if ok, _ := TakeAll(t0, Check{nil, "x"}, Check{ip, ""}); !ok {
		t.Fatal("skipped checks refused the event")
	}
}

func TestExhaustedAndSpendCountOnlyWhatIsSpent(t *testing.T) {
	s := NewSet(2, time.Minute, 1)
	if over, _ := s.Exhausted("ip", t0); over {
		t.Fatal("a fresh key is exhausted")
	}
	s.Spend("ip", t0)
	s.Spend("ip", t0)
	s.Spend("ip", t0) // nothing left: spends nothing
	over, wait := s.Exhausted("ip", t0)
	if !over || wait != 30*time.Second {
		t.Fatalf("after two failures: %v, wait %v", over, wait)
	}
	if over, _ := s.Exhausted("ip", t0.Add(30*time.Second)); over {
		t.Fatal("still exhausted after the wait")
	}
}

func TestIdleBucketsAreForgotten(t *testing.T) {
	s := NewSet(1, time.Second, 1)
	for i := range 100 {
		s.Take(string(rune('a'+i%26))+string(rune('a'+i/26)), t0)
	}
	s.Take("late", t0.Add(time.Hour))
	s.mu.Lock()
	n := len(s.buckets)
	s.mu.Unlock()
	if n != 1 {
		t.Fatalf("%d buckets kept after an hour, want 1", n)
	}
}

func TestSecondsAndClientIP(t *testing.T) {
	for d, want := range map[time.Duration]int{0: 1, time.Millisecond: 1, 1500 * time.Millisecond: 2,
		30 * time.Second: 30} {
		if got := Seconds(d); got != want {
			t.Errorf("Seconds(%v) = %d, want %d", d, got, want)
		}
	}
	for addr, want := range map[string]string{"10.0.0.1:5000": "10.0.0.1",
		"[::1]:80": "::1", "weird": "weird"} {
		if got := ClientIP(&http.Request{RemoteAddr: addr}); got != want {
			t.Errorf("ClientIP(%q) = %q, want %q", addr, got, want)
		}
	}
}
