package media

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"time"
)

// Containers a greeting video may come in.
const (
	ContainerWebM = "webm"
	ContainerMP4  = "mp4"
)

// Why a file was refused as a greeting video. Returned errors wrap them.
var (
	// ErrUnsupported means the file is neither WebM nor MP4 by its first bytes.
	ErrUnsupported = errors.New("media: not a WebM or MP4 file")
	// ErrMalformed means the file starts like WebM or MP4 but its structure
	// is broken where Probe had to read it.
	ErrMalformed = errors.New("media: malformed video file")
)

// Info is what Probe learns from a file's container without decoding it.
type Info struct {
	Container string // ContainerWebM or ContainerMP4
	// Duration is the duration the container declares; it is meaningful only
	// when HasDuration is set.
	Duration    time.Duration
	HasDuration bool
}

// Bounds on what Probe reads, so that a hostile file costs little: a few
// element or box headers and one small header body, never a media payload.
const (
	maxProbeElements = 64       // headers walked per level
	maxEBMLHeader    = 4 << 10  // the EBML header element's body
	maxInfoBody      = 64 << 10 // WebM Segment→Info's body
)

// Probe identifies the container of the size bytes in r by their magic
// bytes (WebM: an EBML header with DocType "webm"; MP4: an ftyp box at
// offset 4) and reads the duration the container declares, if any: MP4
// moov→mvhd, WebM Segment→Info→Duration scaled by TimecodeScale. It returns
// ErrUnsupported for anything else and ErrMalformed for a broken structure.
//
// TODO: a file that declares no duration is accepted without one. Chrome's
// MediaRecorder writes WebM without Info→Duration (and fragmented MP4 with
// a zero mvhd duration), so its recordings pass the 90-second rule
// unchecked; measuring them needs walking every Cluster's timecodes.
func Probe(r io.ReaderAt, size int64) (Info, error) {
	head := make([]byte, 12)
	n, err := r.ReadAt(head, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return Info{}, fmt.Errorf("media: unable to read the file: %w", err)
	}
	head = head[:n]

	switch {
	case len(head) >= 4 && binary.BigEndian.Uint32(head) == idEBML:
		return probeWebM(r, size)
	case len(head) >= 8 && string(head[4:8]) == "ftyp":
		return probeMP4(r, size)
	}
	return Info{}, ErrUnsupported
}

// EBML element ids (Matroska/WebM) that Probe reads.
const (
	idEBML          = 0x1A45DFA3
	idDocType       = 0x4282
	idSegment       = 0x18538067
	idInfo          = 0x1549A966
	idTimecodeScale = 0x2AD7B1
	idDuration      = 0x4489
	idCluster       = 0x1F43B675
)

// unknownSize marks an EBML element whose size is left open (live streams
// and MediaRecorder write Segment and Cluster so).
const unknownSize = -1

// ebmlElement is the header of one EBML element.
type ebmlElement struct {
	id   uint32
	size int64 // unknownSize, or the length of the body
	body int64 // offset of the body
}

// probeWebM checks the EBML header's DocType, then looks for Info among
// the Segment's children up to the first Cluster.
func probeWebM(r io.ReaderAt, size int64) (Info, error) {
	hdr, err := readElement(r, 0, size)
	if err != nil {
		return Info{}, err
	}
	if hdr.size == unknownSize || hdr.size > maxEBMLHeader {
		return Info{}, fmt.Errorf("%w: EBML header of %d bytes", ErrMalformed, hdr.size)
	}
	body, err := readBody(r, hdr)
	if err != nil {
		return Info{}, err
	}
	docType, err := findChild(body, idDocType)
	if errors.Is(err, errNoChild) {
		// EBML's default DocType is "matroska".
		return Info{}, fmt.Errorf("%w: EBML header without a document type", ErrUnsupported)
	}
	if err != nil {
		return Info{}, err
	}
	if string(docType) != "webm" {
		return Info{}, fmt.Errorf("%w: EBML document type %q", ErrUnsupported, docType)
	}

	info := Info{Container: ContainerWebM}
	seg, err := readElement(r, hdr.body+hdr.size, size)
	if errors.Is(err, io.EOF) {
		return info, nil // a header alone declares nothing
	}
	if err != nil {
		return Info{}, err
	}
	if seg.id != idSegment {
		return Info{}, fmt.Errorf("%w: element %#x where the Segment belongs", ErrMalformed, seg.id)
	}
	end := size
	if seg.size != unknownSize {
		end = min(size, seg.body+seg.size)
	}
	return findWebMInfo(r, seg.body, end, info)
}

// findWebMInfo walks the Segment's children in [off, end) until Info, the
// first Cluster, an element of unknown size or the walking bound.
func findWebMInfo(r io.ReaderAt, off, end int64, info Info) (Info, error) {
	for range maxProbeElements {
		if off >= end {
			return info, nil
		}
		el, err := readElement(r, off, end)
		if errors.Is(err, io.EOF) {
			return info, nil // a file cut short before Info declares nothing
		}
		if err != nil {
			return Info{}, err
		}
		if el.id == idCluster || el.size == unknownSize {
			return info, nil
		}
		if el.id == idInfo {
			return parseWebMInfo(r, el, info)
		}
		off = el.body + el.size
	}
	return info, nil
}

// parseWebMInfo reads Duration (a float in TimecodeScale units, which
// default to 1 ms) from the body of Info.
func parseWebMInfo(r io.ReaderAt, el ebmlElement, info Info) (Info, error) {
	if el.size > maxInfoBody {
		return Info{}, fmt.Errorf("%w: Info of %d bytes", ErrMalformed, el.size)
	}
	body, err := readBody(r, el)
	if err != nil {
		return Info{}, err
	}

	scale := uint64(time.Millisecond)
	if raw, err := findChild(body, idTimecodeScale); err == nil {
		if len(raw) == 0 || len(raw) > 8 {
			return Info{}, fmt.Errorf("%w: TimecodeScale of %d bytes", ErrMalformed, len(raw))
		}
		scale = 0
		for _, b := range raw {
			scale = scale<<8 | uint64(b)
		}
	} else if !errors.Is(err, errNoChild) {
		return Info{}, err
	}
	if scale == 0 {
		return Info{}, fmt.Errorf("%w: TimecodeScale of 0", ErrMalformed)
	}

	raw, err := findChild(body, idDuration)
	if errors.Is(err, errNoChild) {
		return info, nil
	}
	if err != nil {
		return Info{}, err
	}
	var ticks float64
	switch len(raw) {
	case 4:
		ticks = float64(math.Float32frombits(binary.BigEndian.Uint32(raw)))
	case 8:
		ticks = math.Float64frombits(binary.BigEndian.Uint64(raw))
	default:
		return Info{}, fmt.Errorf("%w: Duration of %d bytes", ErrMalformed, len(raw))
	}
	d, err := declaredDuration(ticks * float64(scale) / 1e9)
	if err != nil {
		return Info{}, err
	}
	info.Duration, info.HasDuration = d, true
	return info, nil
}

// declaredDuration turns seconds from a container into a Duration, refusing
// what no real file declares and saturating what would overflow.
func declaredDuration(seconds float64) (time.Duration, error) {
	if math.IsNaN(seconds) || math.IsInf(seconds, 0) || seconds < 0 {
		return 0, fmt.Errorf("%w: duration %v s", ErrMalformed, seconds)
	}
	if seconds >= float64(math.MaxInt64)/1e9 {
		return time.Duration(math.MaxInt64), nil
	}
	return time.Duration(seconds * 1e9), nil
}

// readElement reads the header of the EBML element at off, which must end
// by end. It returns io.EOF when no header starts before end.
func readElement(r io.ReaderAt, off, end int64) (ebmlElement, error) {
	if off >= end {
		return ebmlElement{}, io.EOF
	}
	buf := make([]byte, min(12, end-off))
	if n, err := r.ReadAt(buf, off); n < len(buf) {
		return ebmlElement{}, shortRead(err)
	}

	id, idLen, err := elementID(buf)
	if err != nil {
		return ebmlElement{}, err
	}
	size, sizeLen, err := elementSize(buf[idLen:])
	if err != nil {
		return ebmlElement{}, err
	}
	el := ebmlElement{id: id, size: size, body: off + int64(idLen+sizeLen)}
	if size != unknownSize && size > end-el.body {
		return ebmlElement{}, fmt.Errorf("%w: element %#x overruns its parent", ErrMalformed, id)
	}
	return el, nil
}

// shortRead is the error of a read that got fewer bytes than the structure
// promised: the file is cut short, or the disk failed.
func shortRead(err error) error {
	if err == nil || errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: %w", ErrMalformed, io.ErrUnexpectedEOF)
	}
	return fmt.Errorf("media: unable to read the file: %w", err)
}

// readBody reads the whole body of a known-size element; callers bound the
// size first.
func readBody(r io.ReaderAt, el ebmlElement) ([]byte, error) {
	body := make([]byte, el.size)
	if n, err := r.ReadAt(body, el.body); n < len(body) {
		return nil, shortRead(err)
	}
	return body, nil
}

// errNoChild means findChild found no element with the id.
var errNoChild = errors.New("media: no such element")

// findChild returns the body of the first direct child with id in body, a
// master element's content held in memory.
func findChild(body []byte, id uint32) ([]byte, error) {
	for range maxProbeElements {
		if len(body) == 0 {
			return nil, errNoChild
		}
		got, idLen, err := elementID(body)
		if err != nil {
			return nil, err
		}
		size, sizeLen, err := elementSize(body[idLen:])
		if err != nil {
			return nil, err
		}
		start := int64(idLen + sizeLen)
		if size == unknownSize || size > int64(len(body))-start {
			return nil, fmt.Errorf("%w: element %#x overruns its parent", ErrMalformed, got)
		}
		if got == id {
			return body[start : start+size], nil
		}
		body = body[start+size:]
	}
	return nil, errNoChild
}

// elementID decodes an EBML id (1 to 4 bytes, marker bit kept).
func elementID(b []byte) (uint32, int, error) {
	if len(b) == 0 || b[0] == 0 {
		return 0, 0, fmt.Errorf("%w: invalid element id", ErrMalformed)
	}
	n := 1
	for mask := byte(0x80); b[0]&mask == 0; mask >>= 1 {
		n++
	}
	if n > 4 || n > len(b) {
		return 0, 0, fmt.Errorf("%w: invalid element id", ErrMalformed)
	}
	var id uint32
	for _, c := range b[:n] {
		id = id<<8 | uint32(c)
	}
	return id, n, nil
}

// elementSize decodes an EBML size (1 to 8 bytes, marker bit dropped); all
// value bits set means unknownSize.
func elementSize(b []byte) (int64, int, error) {
	if len(b) == 0 || b[0] == 0 {
		return 0, 0, fmt.Errorf("%w: invalid element size", ErrMalformed)
	}
	n := 1
	for mask := byte(0x80); b[0]&mask == 0; mask >>= 1 {
		n++
	}
	if n > len(b) {
		return 0, 0, fmt.Errorf("%w: invalid element size", ErrMalformed)
	}
	v := uint64(b[0] & (0xFF >> n))
	for _, c := range b[1:n] {
		v = v<<8 | uint64(c)
	}
	if v == 1<<(7*n)-1 {
		return unknownSize, n, nil
	}
	if v > math.MaxInt64 {
		return 0, 0, fmt.Errorf("%w: invalid element size", ErrMalformed)
	}
	return int64(v), n, nil
}

// mp4Box is the header of one ISO base media (MP4) box.
type mp4Box struct {
	kind string
	body int64 // offset of the body
	end  int64 // offset just past the box
}

// probeMP4 finds moov among the top-level boxes and mvhd inside it, seeking
// over every other box (mdat included) without reading it.
func probeMP4(r io.ReaderAt, size int64) (Info, error) {
	info := Info{Container: ContainerMP4}
	moov, found, err := findBox(r, 0, size, "moov")
	if err != nil || !found {
		return info, err
	}
	mvhd, found, err := findBox(r, moov.body, moov.end, "mvhd")
	if err != nil || !found {
		return info, err
	}

	buf := make([]byte, min(32, mvhd.end-mvhd.body))
	if n, err := r.ReadAt(buf, mvhd.body); n < len(buf) {
		return Info{}, shortRead(err)
	}
	var timescale, duration, unknown uint64
	switch {
	case len(buf) >= 20 && buf[0] == 0:
		timescale = uint64(binary.BigEndian.Uint32(buf[12:]))
		duration = uint64(binary.BigEndian.Uint32(buf[16:]))
		unknown = math.MaxUint32
	case len(buf) >= 32 && buf[0] == 1:
		timescale = uint64(binary.BigEndian.Uint32(buf[20:]))
		duration = binary.BigEndian.Uint64(buf[24:])
		unknown = math.MaxUint64
	default:
		return Info{}, fmt.Errorf("%w: mvhd box of %d bytes", ErrMalformed, mvhd.end-mvhd.body)
	}
	if timescale == 0 {
		return Info{}, fmt.Errorf("%w: mvhd timescale of 0", ErrMalformed)
	}
	// Fragmented files (MediaRecorder's among them) leave the duration 0 or
	// all ones: it is not declared.
	if duration == 0 || duration == unknown {
		return info, nil
	}
	d, err := declaredDuration(float64(duration) / float64(timescale))
	if err != nil {
		return Info{}, err
	}
	info.Duration, info.HasDuration = d, true
	return info, nil
}

// findBox walks the boxes in [off, end) for the first of kind.
func findBox(r io.ReaderAt, off, end int64, kind string) (mp4Box, bool, error) {
	for range maxProbeElements {
		if off >= end {
			return mp4Box{}, false, nil
		}
		b, err := readBox(r, off, end)
		if err != nil {
			return mp4Box{}, false, err
		}
		if b.kind == kind {
			return b, true, nil
		}
		off = b.end
	}
	return mp4Box{}, false, nil
}

// readBox reads the header of the box at off, which must end by end. A size
// of 0 means the box runs to end; a size of 1 is followed by a 64-bit size.
func readBox(r io.ReaderAt, off, end int64) (mp4Box, error) {
	var hdr [16]byte
	n, err := r.ReadAt(hdr[:min(16, end-off)], off)
	if n < 8 {
		return mp4Box{}, shortRead(err)
	}

	b := mp4Box{kind: string(hdr[4:8]), body: off + 8}
	size := uint64(binary.BigEndian.Uint32(hdr[:4]))
	switch size {
	case 0:
		size = uint64(end - off)
	case 1:
		if n < 16 {
			return mp4Box{}, fmt.Errorf("%w: box %q without its 64-bit size", ErrMalformed, b.kind)
		}
		size = binary.BigEndian.Uint64(hdr[8:])
		b.body += 8
	}
	if size < uint64(b.body-off) || size > uint64(end-off) {
		return mp4Box{}, fmt.Errorf("%w: box %q of %d bytes at %d", ErrMalformed, b.kind, size, off)
	}
	b.end = off + int64(size)
	return b, nil
}
