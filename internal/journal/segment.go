package journal

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// The segment format; see the package comment.
const (
	segmentMagic  = "GJRNL01\n"
	segmentSuffix = ".seg"
	recordHeader  = 16       // length, crc, seq
	maxRecord     = 16 << 20 // larger lengths can only be garbage
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// errCorrupt marks a record that is torn or damaged.
var errCorrupt = errors.New("corrupt record")

// encodeRecord appends the framed record of one event body to buf.
func encodeRecord(buf []byte, seq uint64, body []byte) []byte {
	var h [recordHeader]byte
	binary.BigEndian.PutUint32(h[0:4], uint32(len(body)))
	binary.BigEndian.PutUint64(h[8:16], seq)
	crc := crc32.Update(crc32.Checksum(h[8:16], castagnoli), castagnoli, body)
	binary.BigEndian.PutUint32(h[4:8], crc)
	return append(append(buf, h[:]...), body...)
}

// decodeRecord reads the record at the start of b and returns it with its
// size, or errCorrupt when b does not start with a whole, intact record.
func decodeRecord(b []byte) (Entry, int, error) {
	if len(b) < recordHeader {
		return Entry{}, 0, errCorrupt
	}
	n := binary.BigEndian.Uint32(b[0:4])
	if n == 0 || n > maxRecord || int(n) > len(b)-recordHeader {
		return Entry{}, 0, errCorrupt
	}

	body := b[recordHeader : recordHeader+int(n)]
	crc := crc32.Update(crc32.Checksum(b[8:16], castagnoli), castagnoli, body)
	if crc != binary.BigEndian.Uint32(b[4:8]) {
		return Entry{}, 0, errCorrupt
	}

	var e Entry
	if err := json.Unmarshal(body, &e); err != nil || e.ID == "" || e.Kind == "" {
		return Entry{}, 0, errCorrupt
	}
	e.Seq = binary.BigEndian.Uint64(b[8:16])
	return e, recordHeader + int(n), nil
}

// segmentPath names the segment whose first event is seq; the fixed width
// makes names sort in seq order.
func segmentPath(dir string, seq uint64) string {
	return filepath.Join(dir, fmt.Sprintf("%020d%s", seq, segmentSuffix))
}

// listSegments returns the segment files of dir, oldest first.
func listSegments(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("journal: unable to read %s: %w", dir, err)
	}

	type named struct {
		seq  uint64
		path string
	}
	var segs []named
	for _, e := range ents {
		base, ok := strings.CutSuffix(e.Name(), segmentSuffix)
		if !ok || e.IsDir() {
			continue
		}
		seq, err := strconv.ParseUint(base, 10, 64)
		if err != nil {
			continue // not ours
		}
		segs = append(segs, named{seq, filepath.Join(dir, e.Name())})
	}
	slices.SortFunc(segs, func(a, b named) int { return cmpUint(a.seq, b.seq) })

	paths := make([]string, len(segs))
	for i, s := range segs {
		paths[i] = s.path
	}
	return paths, nil
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// load reads the marker and every segment: it queues the events after the
// marker, cuts a torn tail off the last segment and deletes segments that
// hold nothing left to apply. It runs before the goroutines start.
func (j *Journal) load() error {
	marker, err := j.readMarker()
	if err != nil {
		return err
	}
	paths, err := listSegments(j.dir)
	if err != nil {
		return err
	}

	var seen uint64 // seq of the last event read
	for i, path := range paths {
		entries, err := j.readSegment(path, i == len(paths)-1, seen)
		if err != nil {
			return err
		}
		seg := segment{path: path}
		for _, e := range entries {
			if seg.last == 0 {
				seg.firstAt = e.At
			}
			seg.last, seen = e.Seq, e.Seq
			if e.Seq > marker {
				j.pending = append(j.pending, e)
			}
		}
		if seg.last > marker {
			j.segments = append(j.segments, seg)
			continue
		}
		if err := os.Remove(path); err != nil {
			j.log.Warn("journal: unable to delete an applied segment", "path", path, "err", err)
		}
	}

	j.applied, j.markerSeq, j.nextSeq = marker, marker, max(seen, marker)+1
	return nil
}

// readSegment returns the intact events of a segment whose seqs follow after.
// Damage ends the segment; the last segment is cut at the damage so that it
// is not met again.
func (j *Journal) readSegment(path string, last bool, after uint64) ([]Entry, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("journal: unable to read %s: %w", path, err)
	}
	if len(data) < len(segmentMagic) && bytes.HasPrefix([]byte(segmentMagic), data) {
		return nil, nil // created, then cut short by a crash: empty
	}
	if !bytes.HasPrefix(data, []byte(segmentMagic)) {
		return nil, fmt.Errorf("journal: unable to read %s: not a journal segment", path)
	}

	var entries []Entry
	off := len(segmentMagic)
	for off < len(data) {
		e, n, err := decodeRecord(data[off:])
		if err != nil || e.Seq <= after {
			break
		}
		entries = append(entries, e)
		off, after = off+n, e.Seq
	}
	if off == len(data) {
		return entries, nil
	}

	j.log.Warn("journal: ignoring a torn or damaged record and what follows it",
		"path", path, "offset", off, "ignored_bytes", len(data)-off)
	if last {
		if err := truncateFile(path, int64(off)); err != nil {
			return nil, err
		}
	}
	return entries, nil
}

func truncateFile(path string, size int64) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("journal: unable to repair %s: %w", path, err)
	}
	err = f.Truncate(size)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("journal: unable to repair %s: %w", path, err)
	}
	return nil
}

// startSegment creates the segment whose first event will be seq and makes it
// the active one.
func (j *Journal) startSegment(seq uint64) error {
	path := segmentPath(j.dir, seq)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("journal: unable to create a segment: %w", err)
	}

	_, err = f.WriteString(segmentMagic)
	if err == nil {
		err = f.Sync()
	}
	if err == nil {
		err = syncDir(j.dir) // so that the file itself survives a crash
	}
	if err != nil {
		j.discard(f, path)
		return fmt.Errorf("journal: unable to create a segment: %w", err)
	}

	j.file, j.size = f, int64(len(segmentMagic))
	j.mu.Lock()
	j.segments = append(j.segments, segment{path: path})
	j.active = path
	j.mu.Unlock()
	return nil
}

// discard closes and deletes a segment that never held an event.
func (j *Journal) discard(f *os.File, path string) {
	if err := f.Close(); err != nil {
		j.log.Warn("journal: unable to close a segment", "path", path, "err", err)
	}
	if err := os.Remove(path); err != nil {
		j.log.Warn("journal: unable to delete a segment", "path", path, "err", err)
	}
}

// closeFile closes the active segment; the writer goroutine must be gone.
func (j *Journal) closeFile() error {
	if j.file == nil {
		return nil
	}

	err := j.file.Close()
	j.file = nil
	j.mu.Lock()
	j.active = ""
	j.mu.Unlock()
	if err != nil {
		return fmt.Errorf("journal: unable to close a segment: %w", err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
