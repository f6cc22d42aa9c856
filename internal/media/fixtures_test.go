package media

import (
	"encoding/binary"
	"math"
)

// Tiny WebM and MP4 files built byte by byte: just the structure Probe
// reads, with a few bytes standing in for the media.

// ebml encodes one EBML element with an 8-byte size.
func ebml(id uint32, body ...[]byte) []byte {
	var out []byte
	for shift := 24; shift >= 0; shift -= 8 {
		if b := byte(id >> shift); b != 0 || len(out) > 0 {
			out = append(out, b)
		}
	}
	var content []byte
	for _, b := range body {
		content = append(content, b...)
	}
	size := make([]byte, 8)
	binary.BigEndian.PutUint64(size, uint64(len(content)))
	size[0] = 0x01 // 8-byte size marker
	return append(append(out, size...), content...)
}

// ebmlOpen encodes the header of an element of unknown size; its children
// follow it.
func ebmlOpen(id uint32, children ...[]byte) []byte {
	out := ebml(id)
	out = out[:len(out)-8]
	out = append(out, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF)
	for _, c := range children {
		out = append(out, c...)
	}
	return out
}

func ebmlUint(id uint32, v uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, v)
	return ebml(id, b)
}

func ebmlFloat64(id uint32, v float64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, math.Float64bits(v))
	return ebml(id, b)
}

func ebmlFloat32(id uint32, v float32) []byte {
	b := make([]byte, 4)
	binary.BigEndian.PutUint32(b, math.Float32bits(v))
	return ebml(id, b)
}

func ebmlHeader(docType string) []byte {
	return ebml(idEBML, ebmlUint(0x4286, 1), ebml(idDocType, []byte(docType)))
}

// webmWithDuration is a WebM whose Info declares ms milliseconds.
func webmWithDuration(ms float64) []byte {
	return append(ebmlHeader("webm"), ebml(idSegment,
		ebml(0x114D9B74, []byte{0xEC, 0x81, 0x00}), // a SeekHead to skip
		ebml(idInfo, ebmlUint(idTimecodeScale, 1_000_000), ebmlFloat64(idDuration, ms)),
		ebml(idCluster, []byte("frames")))...)
}

// webmRecorded is a WebM as MediaRecorder writes it: Segment and Cluster of
// unknown size, and an Info without Duration.
func webmRecorded() []byte {
	return append(ebmlHeader("webm"), ebmlOpen(idSegment,
		ebml(idInfo, ebmlUint(idTimecodeScale, 1_000_000), ebml(0x4D80, []byte("Chrome"))),
		ebmlOpen(idCluster, []byte("frames")))...)
}

// box encodes an MP4 box with a 32-bit size.
func box(kind string, body ...[]byte) []byte {
	var content []byte
	for _, b := range body {
		content = append(content, b...)
	}
	out := binary.BigEndian.AppendUint32(nil, uint32(8+len(content)))
	return append(append(out, kind...), content...)
}

func ftyp() []byte {
	return box("ftyp", []byte("isom"), []byte{0, 0, 2, 0}, []byte("isomiso2mp41"))
}

// mvhd0 is a version 0 movie header.
func mvhd0(timescale, duration uint32) []byte {
	b := make([]byte, 100)
	binary.BigEndian.PutUint32(b[12:], timescale)
	binary.BigEndian.PutUint32(b[16:], duration)
	return box("mvhd", b)
}

// mvhd1 is a version 1 movie header, with 64-bit times.
func mvhd1(timescale uint32, duration uint64) []byte {
	b := make([]byte, 112)
	b[0] = 1
	binary.BigEndian.PutUint32(b[20:], timescale)
	binary.BigEndian.PutUint64(b[24:], duration)
	return box("mvhd", b)
}

// mp4With is an MP4 of ftyp, mdat and then moov holding mvhd, the order of
// a file that was not made "fast start".
func mp4With(mvhd []byte) []byte {
	return concat(ftyp(), box("mdat", make([]byte, 4096)),
		box("moov", box("trak", []byte("track")), mvhd))
}

func concat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}
