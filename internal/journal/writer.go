package journal

import "fmt"

// maxGroup is the most Append calls written with one fsync.
const maxGroup = 1024

// writeLoop is the only goroutine that writes segments. It takes every
// Append call that is waiting, writes them together and fsyncs once (group
// commit), then answers each of them.
func (j *Journal) writeLoop() {
	defer close(j.writerDone)
	for {
		var group []*appendRequest
		select {
		case r := <-j.appends:
			group = append(group, r)
		case <-j.quit:
			return
		}

	gather:
		for len(group) < maxGroup {
			select {
			case r := <-j.appends:
				group = append(group, r)
			default:
				break gather
			}
		}

		err := j.commit(group)
		for _, r := range group {
			r.done <- err
		}
	}
}

// commit writes and fsyncs the events of group, numbers them and queues them
// for the applier.
func (j *Journal) commit(group []*appendRequest) error {
	var buf []byte
	var entries []Entry
	first := j.nextSeq
	for _, r := range group {
		for i, e := range r.entries {
			e.Seq = j.nextSeq
			j.nextSeq++
			buf = encodeRecord(buf, e.Seq, r.bodies[i])
			entries = append(entries, e)
		}
	}
	// Seqs are used up even when the write fails: bytes of a failed write
	// may survive on disk, and seqs must never repeat.

	if err := j.rotateIfDue(first, int64(len(buf))); err != nil {
		return err
	}
	if err := j.write(buf); err != nil {
		return err
	}

	j.mu.Lock()
	seg := &j.segments[len(j.segments)-1]
	if seg.last == 0 {
		seg.firstAt = entries[0].At
	}
	seg.last = entries[len(entries)-1].Seq
	j.pending = append(j.pending, entries...)
	j.mu.Unlock()
	j.nudge()
	return nil
}

// rotateIfDue starts a new segment, whose first event will be seq, when there
// is no active segment, when n more bytes would make the active one too
// large, or when it is old and fully applied.
func (j *Journal) rotateIfDue(seq uint64, n int64) error {
	if j.file != nil {
		full := j.size > int64(len(segmentMagic)) && j.size+n > j.opts.SegmentSize

		j.mu.Lock()
		seg := j.segments[len(j.segments)-1]
		stale := seg.last != 0 && seg.last <= j.applied &&
			j.opts.Now().Sub(seg.firstAt) >= maxSegmentAge
		j.mu.Unlock()

		if !full && !stale {
			return nil
		}
		if err := j.closeFile(); err != nil {
			// Its events are already fsynced; the applier deletes it later.
			j.log.Warn("journal: unable to close a full segment", "err", err)
		}
	}
	return j.startSegment(seq)
}

// write appends buf to the active segment and fsyncs it. After a failure the
// segment is cut back to its last good size and given up, so that the next
// write goes to a fresh segment instead of following bytes of unknown state.
func (j *Journal) write(buf []byte) error {
	_, err := j.file.Write(buf)
	if err == nil {
		err = j.file.Sync()
	}
	if err == nil {
		j.size += int64(len(buf))
		return nil
	}

	j.log.Error("journal: unable to write; starting a new segment", "err", err)
	if terr := j.file.Truncate(j.size); terr != nil {
		// Replay stops at the damaged bytes, which hold no acknowledged event.
		j.log.Warn("journal: unable to cut a failed write", "err", terr)
	}
	if cerr := j.closeFile(); cerr != nil {
		j.log.Warn("journal: unable to close a failed segment", "err", cerr)
	}
	return fmt.Errorf("journal: unable to append: %w", err)
}
