package calls

import "container/heap"

// waitingSet holds the visitors that have no agent, oldest join first. It
// is a heap with lazy deletion: a visitor who leaves the set (assigned,
// requesting, gone) stays in it until it reaches the top, so entering and
// serving cost O(log n) and a sweep never scans every visitor.
type waitingSet []*visitor

func (w waitingSet) Len() int           { return len(w) }
func (w waitingSet) Less(i, j int) bool { return w[i].seq < w[j].seq }
func (w waitingSet) Swap(i, j int)      { w[i], w[j] = w[j], w[i] }
func (w *waitingSet) Push(x any)        { *w = append(*w, x.(*visitor)) }

func (w *waitingSet) Pop() any {
	old := *w
	v := old[len(old)-1]
	old[len(old)-1] = nil
	*w = old[:len(old)-1]
	return v
}

// waits reports whether v is in the waiting set: joined and still
// connected, with no agent, no request and no call.
func (v *visitor) waits() bool {
	return v.peer != nil && v.agent == nil && v.req == nil && v.call == nil
}

// enterWaiting puts v in the waiting set once.
func (l *orgLoop) enterWaiting(v *visitor) {
	if !v.queued {
		v.queued = true
		heap.Push(&l.waiting, v)
	}
}

// oldestWaiting returns the visitor that has waited since the oldest join,
// dropping stale entries on the way, or nil.
func (l *orgLoop) oldestWaiting() *visitor {
	for l.waiting.Len() > 0 {
		v := l.waiting[0]
		if v.waits() {
			return v
		}
		heap.Pop(&l.waiting)
		v.queued = false
	}
	return nil
}
