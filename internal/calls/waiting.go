package calls

import (
	"container/heap"

	"greeter/internal/ids"
)

// waitingSet holds the visitors of one pool that have no agent, oldest join
// first. It is a heap with lazy deletion: a visitor who leaves the set
// (assigned, requesting, gone, moved to another pool) stays in it until it
// reaches the top, so entering and serving cost O(log n) and a sweep never
// scans every visitor.
type waitingSet struct {
	pool ids.PoolID
	vs   []*visitor
}

func (w *waitingSet) Len() int           { return len(w.vs) }
func (w *waitingSet) Less(i, j int) bool { return w.vs[i].seq < w.vs[j].seq }
func (w *waitingSet) Swap(i, j int)      { w.vs[i], w.vs[j] = w.vs[j], w.vs[i] }
func (w *waitingSet) Push(x any)         { w.vs = append(w.vs, x.(*visitor)) }

func (w *waitingSet) Pop() any {
	old := w.vs
	v := old[len(old)-1]
	old[len(old)-1] = nil
	w.vs = old[:len(old)-1]
	return v
}

// top returns the oldest visitor still waiting in this pool, dropping stale
// entries on the way, or nil.
func (w *waitingSet) top() *visitor {
	for len(w.vs) > 0 {
		v := w.vs[0]
		if v.waits() && v.pool == w.pool {
			return v
		}
		heap.Pop(w)
		if v.queuedIn == w.pool {
			v.queuedIn = ""
		}
	}
	return nil
}

// waits reports whether v is in the waiting set: joined and still
// connected, with no agent, no request and no call.
func (v *visitor) waits() bool {
	return v.peer != nil && v.agent == nil && v.req == nil && v.call == nil
}

// enterWaiting puts v in the waiting set of its pool once.
func (l *orgLoop) enterWaiting(v *visitor) {
	if v.queuedIn == v.pool {
		return
	}
	w := l.waiting[v.pool]
	if w == nil {
		w = &waitingSet{pool: v.pool}
		l.waiting[v.pool] = w
	}
	v.queuedIn = v.pool
	heap.Push(w, v)
}

// oldestWaiting returns the visitor that has waited since the oldest join
// among pools, or nil.
func (l *orgLoop) oldestWaiting(pools []ids.PoolID) *visitor {
	var oldest *visitor
	for _, p := range pools {
		w := l.waiting[p]
		if w == nil {
			continue
		}
		if v := w.top(); v != nil && (oldest == nil || v.seq < oldest.seq) {
			oldest = v
		}
	}
	return oldest
}
