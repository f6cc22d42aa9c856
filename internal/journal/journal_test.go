package journal

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// recorder is an apply function that remembers what it applied and can be
// told to fail.
type recorder struct {
	mu      sync.Mutex
	applied []Entry
	fail    func(e Entry) error // nil: succeed
}

func (r *recorder) apply(_ context.Context, e Entry) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		if err := r.fail(e); err != nil {
			return err
		}
	}
	r.applied = append(r.applied, e)
	return nil
}

func (r *recorder) setFail(f func(Entry) error) {
	r.mu.Lock()
	r.fail = f
	r.mu.Unlock()
}

func (r *recorder) ids() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, len(r.applied))
	for i, e := range r.applied {
		out[i] = e.ID
	}
	return out
}

var errDown = errors.New("database is down")

func failAll(Entry) error { return errDown }

func open(t *testing.T, dir string, r *recorder, opts Options) *Journal {
	t.Helper()
	opts.Apply = r.apply
	opts.Logger = slog.New(slog.DiscardHandler)
	if opts.MinBackoff == 0 {
		opts.MinBackoff, opts.MaxBackoff = time.Millisecond, 5*time.Millisecond
	}
	j, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Abandon() })
	return j
}

func event(n int) Entry {
	return Entry{ID: fmt.Sprintf("ev-%03d", n), Kind: "test",
		Data: json.RawMessage(fmt.Sprintf(`{"n":%d}`, n))}
}

func eventIDs(from, to int) []string {
	var out []string
	for n := from; n <= to; n++ {
		out = append(out, event(n).ID)
	}
	return out
}

func appendEvents(t *testing.T, j *Journal, from, to int) {
	t.Helper()
	for n := from; n <= to; n++ {
		if err := j.Append(event(n)); err != nil {
			t.Fatal(err)
		}
	}
}

// stopNow closes j without giving the applier any time.
func stopNow(t *testing.T, j *Journal) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := j.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

// waitFor polls cond until it holds or a generous deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func segmentFiles(t *testing.T, dir string) []string {
	t.Helper()
	paths, err := listSegments(dir)
	if err != nil {
		t.Fatal(err)
	}
	return paths
}

func TestAppendedEventsApplyInOrder(t *testing.T) {
	r := &recorder{}
	j := open(t, t.TempDir(), r, Options{})

	appendEvents(t, j, 1, 10)
	if err := j.Append(event(11), event(12), event(13)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "every event applied", func() bool { return j.Depth() == 0 && len(r.ids()) == 13 })

	if got, want := r.ids(), eventIDs(1, 13); !slices.Equal(got, want) {
		t.Fatalf("applied %v, want %v", got, want)
	}
	for i, e := range r.applied[1:] {
		if e.Seq <= r.applied[i].Seq {
			t.Fatalf("seq %d follows %d", e.Seq, r.applied[i].Seq)
		}
	}
}

func TestConcurrentAppendsKeepEachCallersOrder(t *testing.T) {
	r := &recorder{}
	j := open(t, t.TempDir(), r, Options{})

	const callers, each = 8, 50
	var wg sync.WaitGroup
	for c := range callers {
		wg.Go(func() {
			for n := range each {
				e := Entry{ID: fmt.Sprintf("c%d-%03d", c, n), Kind: "test", Data: []byte("{}")}
				if err := j.Append(e); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	waitFor(t, "every event applied", func() bool { return len(r.ids()) == callers*each })

	last := map[string]string{}
	for _, id := range r.ids() {
		caller := id[:strings.Index(id, "-")]
		if prev, ok := last[caller]; ok && id <= prev {
			t.Fatalf("%s applied after %s", id, prev)
		}
		last[caller] = id
	}
}

func TestAppendDoesNotWaitForTheApplier(t *testing.T) {
	release := make(chan struct{})
	var applied sync.Map
	j, err := Open(t.TempDir(), Options{
		Logger: slog.New(slog.DiscardHandler),
		// An apply that hangs, like a database that does not answer.
		Apply: func(ctx context.Context, e Entry) error {
			select {
			case <-release:
			case <-ctx.Done():
				return ctx.Err()
			}
			applied.Store(e.ID, true)
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(j.Abandon)

	done := make(chan struct{})
	go func() {
		defer close(done)
		appendEvents(t, j, 1, 100)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Append blocked behind a stuck applier")
	}
	if got := j.Depth(); got != 100 {
		t.Fatalf("Depth = %d while the applier is stuck, want 100", got)
	}

	close(release)
	waitFor(t, "the queue drained", func() bool { return j.Depth() == 0 })
	if _, ok := applied.Load("ev-100"); !ok {
		t.Fatal("ev-100 was not applied")
	}
}

func TestFailedEventIsRetriedUntilItLands(t *testing.T) {
	r := &recorder{}
	attempts := 0
	r.setFail(func(e Entry) error {
		if e.ID == "ev-002" && attempts < 4 {
			attempts++
			return errDown
		}
		return nil
	})
	j := open(t, t.TempDir(), r, Options{})

	appendEvents(t, j, 1, 5)
	waitFor(t, "every event applied", func() bool { return len(r.ids()) == 5 })
	if got, want := r.ids(), eventIDs(1, 5); !slices.Equal(got, want) {
		t.Fatalf("applied %v, want %v", got, want)
	}
}

func TestReopenReplaysOnlyUnappliedEvents(t *testing.T) {
	dir := t.TempDir()
	r := &recorder{}
	r.setFail(func(e Entry) error {
		if e.ID >= "ev-006" {
			return errDown
		}
		return nil
	})
	j := open(t, dir, r, Options{})
	appendEvents(t, j, 1, 10)
	waitFor(t, "five events applied", func() bool { return len(r.ids()) == 5 })
	if got := j.Depth(); got != 5 {
		t.Fatalf("Depth = %d, want 5", got)
	}
	stopNow(t, j)
	if err := j.Append(event(11)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Append after Close: %v, want ErrClosed", err)
	}

	r2 := &recorder{}
	j2 := open(t, dir, r2, Options{})
	waitFor(t, "the replay", func() bool { return len(r2.ids()) == 5 })
	if got, want := r2.ids(), eventIDs(6, 10); !slices.Equal(got, want) {
		t.Fatalf("replayed %v, want %v", got, want)
	}

	// The next event numbers on from the replayed ones.
	appendEvents(t, j2, 11, 11)
	waitFor(t, "the new event", func() bool { return len(r2.ids()) == 6 })
	if r2.applied[5].Seq <= r2.applied[4].Seq {
		t.Fatalf("seq %d reused after reopen", r2.applied[5].Seq)
	}
}

func TestTornTailIsIgnored(t *testing.T) {
	body, err := json.Marshal(event(99))
	if err != nil {
		t.Fatal(err)
	}
	whole := encodeRecord(nil, 99, body)
	flipped := bytes.Clone(whole)
	flipped[len(flipped)-3] ^= 0x40

	cases := []struct {
		name string
		tail []byte
	}{
		{"half a header", whole[:7]},
		{"header without all of its body", whole[:len(whole)-5]},
		{"bad checksum", flipped},
		{"zeros", make([]byte, 64)},
		{"absurd length", append([]byte{0xff, 0xff, 0xff, 0xff}, whole[4:]...)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			j := open(t, dir, &recorder{fail: failAll}, Options{})
			appendEvents(t, j, 1, 3)
			stopNow(t, j)

			segs := segmentFiles(t, dir)
			f, err := os.OpenFile(segs[len(segs)-1], os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.Write(tc.tail); err != nil {
				t.Fatal(err)
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}

			// Later appends still work and are not hidden behind the damage.
			j = open(t, dir, &recorder{fail: failAll}, Options{})
			if got := j.Depth(); got != 3 {
				t.Fatalf("Depth after reopen = %d, want 3", got)
			}
			appendEvents(t, j, 4, 5)
			stopNow(t, j)

			r := &recorder{}
			open(t, dir, r, Options{})
			waitFor(t, "the replay", func() bool { return len(r.ids()) == 5 })
			if got, want := r.ids(), eventIDs(1, 5); !slices.Equal(got, want) {
				t.Fatalf("replayed %v, want %v", got, want)
			}
		})
	}
}

func TestDecodeRecordRefusesEveryTruncation(t *testing.T) {
	body, err := json.Marshal(event(1))
	if err != nil {
		t.Fatal(err)
	}
	rec := encodeRecord(nil, 7, body)

	for n := range len(rec) {
		if _, _, err := decodeRecord(rec[:n]); !errors.Is(err, errCorrupt) {
			t.Fatalf("%d of %d bytes decoded: %v", n, len(rec), err)
		}
	}
	e, n, err := decodeRecord(rec)
	if err != nil || n != len(rec) || e.Seq != 7 || e.ID != "ev-001" {
		t.Fatalf("decodeRecord = %+v, %d, %v", e, n, err)
	}
}

func TestAppliedSegmentsAreDeleted(t *testing.T) {
	dir := t.TempDir()
	const segmentSize = 2048
	r := &recorder{}
	j := open(t, dir, r, Options{SegmentSize: segmentSize})

	appendEvents(t, j, 1, 400) // about 40 KiB: 20 segments' worth
	waitFor(t, "every event applied", func() bool { return len(r.ids()) == 400 })

	waitFor(t, "applied segments deleted and progress marked", func() bool {
		segs := segmentFiles(t, dir)
		m, err := j.readMarker()
		return len(segs) == 1 && fileSize(t, segs[0]) <= segmentSize && err == nil && m == 400
	})

	// Nothing is replayed, and the spent active segment goes too.
	stopNow(t, j)
	r2 := &recorder{}
	j2 := open(t, dir, r2, Options{SegmentSize: segmentSize})
	if got := j2.Depth(); got != 0 {
		t.Fatalf("Depth after reopen = %d, want 0", got)
	}
	if segs := segmentFiles(t, dir); len(segs) != 0 {
		t.Fatalf("segments after reopen: %v", segs)
	}
}

func TestOldAppliedSegmentIsReplacedOnTheNextAppend(t *testing.T) {
	dir := t.TempDir()
	var mu sync.Mutex
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return now
	}
	r := &recorder{}
	j := open(t, dir, r, Options{Now: clock})

	appendEvents(t, j, 1, 3)
	waitFor(t, "applied", func() bool { return len(r.ids()) == 3 })
	first := segmentFiles(t, dir)

	mu.Lock()
	now = now.Add(maxSegmentAge)
	mu.Unlock()
	appendEvents(t, j, 4, 4)
	waitFor(t, "the old segment deleted", func() bool {
		segs := segmentFiles(t, dir)
		return len(segs) == 1 && segs[0] != first[0]
	})
}

func TestLostMarkerReplaysEverythingOnDisk(t *testing.T) {
	cases := []struct {
		name   string
		marker func(path string) error
	}{
		{"missing", os.Remove},
		{"damaged", func(path string) error { return os.WriteFile(path, []byte(`{"appl`), 0o600) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			r := &recorder{}
			j := open(t, dir, r, Options{})
			appendEvents(t, j, 1, 4)
			waitFor(t, "applied", func() bool { return j.Depth() == 0 })
			waitFor(t, "the marker", func() bool {
				_, err := os.Stat(filepath.Join(dir, markerName))
				return err == nil
			})
			j.Abandon()

			if err := tc.marker(filepath.Join(dir, markerName)); err != nil {
				t.Fatal(err)
			}
			// Replaying applied events is the safe side: the destination
			// recognizes them by id.
			r2 := &recorder{}
			open(t, dir, r2, Options{})
			waitFor(t, "the replay", func() bool { return len(r2.ids()) == 4 })
			if got, want := r2.ids(), eventIDs(1, 4); !slices.Equal(got, want) {
				t.Fatalf("replayed %v, want %v", got, want)
			}
		})
	}
}

func TestRejectedEventIsSetAside(t *testing.T) {
	dir := t.TempDir()
	r := &recorder{}
	r.setFail(func(e Entry) error {
		if e.ID == "ev-002" {
			return fmt.Errorf("bad row: %w", ErrRejected)
		}
		return nil
	})
	j := open(t, dir, r, Options{})

	appendEvents(t, j, 1, 3)
	waitFor(t, "the queue drained", func() bool { return j.Depth() == 0 })
	if got, want := r.ids(), []string{"ev-001", "ev-003"}; !slices.Equal(got, want) {
		t.Fatalf("applied %v, want %v", got, want)
	}

	b, err := os.ReadFile(filepath.Join(dir, rejectedName))
	if err != nil {
		t.Fatal(err)
	}
	var rej rejection
	if err := json.Unmarshal(b, &rej); err != nil {
		t.Fatal(err)
	}
	if rej.ID != "ev-002" || string(rej.Data) != `{"n":2}` ||
		!strings.Contains(rej.Error, "bad row") {
		t.Fatalf("rejected.jsonl holds %s", b)
	}
}

func TestOldestAgeCountsFromTheOldestUnappliedEvent(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	r := &recorder{fail: failAll}
	j := open(t, t.TempDir(), r, Options{Now: func() time.Time { return now }})

	if got := j.OldestAge(); got != 0 {
		t.Fatalf("OldestAge of an empty journal = %v", got)
	}
	e := event(1)
	e.At = now.Add(-90 * time.Second)
	if err := j.Append(e, event(2)); err != nil {
		t.Fatal(err)
	}
	if got := j.OldestAge(); got != 90*time.Second {
		t.Fatalf("OldestAge = %v, want 1m30s", got)
	}
}

func TestOpenRefusesAForeignFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(segmentPath(dir, 1), []byte("not a journal at all"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Open(dir, Options{Apply: (&recorder{}).apply,
		Logger: slog.New(slog.DiscardHandler)})
	if err == nil {
		t.Fatal("Open accepted a foreign segment")
	}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}
