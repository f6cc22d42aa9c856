package media

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io/fs"
	"math"
	"testing"
	"time"

	demomedia "greeter/internal/demo/media"
)

func TestProbe(t *testing.T) {
	bigMdat := concat(ftyp(), []byte{0, 0, 0, 1}, []byte("mdat"),
		binary.BigEndian.AppendUint64(nil, 16+64), make([]byte, 64),
		box("moov", mvhd0(1000, 45_000)))
	tests := []struct {
		name      string
		file      []byte
		container string
		duration  time.Duration // 0: none declared
		err       error
	}{
		{"webm declaring 12.5 s", webmWithDuration(12_500), ContainerWebM,
			12500 * time.Millisecond, nil},
		{"webm with a 4-byte duration", append(ebmlHeader("webm"), ebml(idSegment,
			ebml(idInfo, ebmlFloat32(idDuration, 3000)))...), ContainerWebM, 3 * time.Second, nil},
		{"webm with a 1 µs timecode scale", append(ebmlHeader("webm"), ebml(idSegment,
			ebml(idInfo, ebmlUint(idTimecodeScale, 1000), ebmlFloat64(idDuration, 2e6)))...),
			ContainerWebM, 2 * time.Second, nil},
		{"webm from MediaRecorder, no duration", webmRecorded(), ContainerWebM, 0, nil},
		{"webm header alone", ebmlHeader("webm"), ContainerWebM, 0, nil},
		{"matroska is not webm", append(ebmlHeader("matroska"), ebml(idSegment)...), "", 0,
			ErrUnsupported},
		{"webm cut short", webmWithDuration(1000)[:60], "", 0, ErrMalformed},
		{"webm with a zero timecode scale", append(ebmlHeader("webm"), ebml(idSegment,
			ebml(idInfo, ebmlUint(idTimecodeScale, 0), ebmlFloat64(idDuration, 1)))...), "", 0,
			ErrMalformed},
		{"webm with a NaN duration", webmWithDuration(math.NaN()), "", 0, ErrMalformed},
		{"webm with a negative duration", webmWithDuration(-5), "", 0, ErrMalformed},
		{"webm with a huge duration", webmWithDuration(1e300), ContainerWebM,
			time.Duration(math.MaxInt64), nil},
		{"mp4 v0, moov after mdat", mp4With(mvhd0(600, 600*30)), ContainerMP4, 30 * time.Second, nil},
		{"mp4 v1", mp4With(mvhd1(90_000, 90_000*91)), ContainerMP4, 91 * time.Second, nil},
		{"mp4 fast start", concat(ftyp(), box("moov", mvhd0(1000, 2500)), box("mdat")),
			ContainerMP4, 2500 * time.Millisecond, nil},
		{"mp4 with a 64-bit mdat size", bigMdat, ContainerMP4, 45 * time.Second, nil},
		{"mp4 fragmented, duration 0", mp4With(mvhd0(1000, 0)), ContainerMP4, 0, nil},
		{"mp4 duration unknown", mp4With(mvhd0(1000, math.MaxUint32)), ContainerMP4, 0, nil},
		{"mp4 without moov", concat(ftyp(), box("mdat", []byte("x"))), ContainerMP4, 0, nil},
		{"mp4 with a zero timescale", mp4With(mvhd0(0, 10)), "", 0, ErrMalformed},
		{"mp4 box overruns the file", concat(ftyp(), []byte{0, 0, 1, 0}, []byte("moov")), "", 0,
			ErrMalformed},
		{"mp4 box smaller than its header", concat(ftyp(), []byte{0, 0, 0, 4}, []byte("moov")), "",
			0, ErrMalformed},
		{"mp4 mvhd too short", mp4With(box("mvhd", []byte{0, 0, 0, 0})), "", 0, ErrMalformed},
		{"ogg", []byte("OggS\x00\x02\x00\x00\x00\x00\x00\x00"), "", 0, ErrUnsupported},
		{"text", []byte("hello, this is not a video"), "", 0, ErrUnsupported},
		{"three bytes", []byte{0x1A, 0x45, 0xDF}, "", 0, ErrUnsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, err := Probe(bytes.NewReader(tt.file), int64(len(tt.file)))
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err = %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if info.Container != tt.container || info.HasDuration != (tt.duration != 0) ||
				info.Duration != tt.duration {
				t.Errorf("info = %+v, want %s lasting %s", info, tt.container, tt.duration)
			}
		})
	}
}

// The demo organization's greeting videos are real WebM files, as a browser
// or an encoder writes them.
func TestProbeDemoVideos(t *testing.T) {
	names, err := fs.Glob(demomedia.FS, "*.webm")
	if err != nil || len(names) == 0 {
		t.Fatalf("demo videos: %v %v", names, err)
	}
	for _, name := range names {
		data, err := fs.ReadFile(demomedia.FS, name)
		if err != nil {
			t.Fatal(err)
		}
		info, err := Probe(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if info.Container != ContainerWebM || !info.HasDuration ||
			info.Duration <= 0 || info.Duration > MaxVideoDuration {
			t.Errorf("%s: %+v", name, info)
		}
	}
}

// FuzzProbe feeds Probe arbitrary bytes: it must never panic, and whatever
// it accepts it must name as WebM or MP4 with a sane duration. The seeds are
// the fixtures above and the corpus in testdata/fuzz/FuzzProbe.
func FuzzProbe(f *testing.F) {
	for _, seed := range [][]byte{
		webmWithDuration(5000), webmRecorded(), mp4With(mvhd0(1000, 5000)),
		mp4With(mvhd1(1000, 5000)), []byte("not a video"),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		info, err := Probe(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			if !errors.Is(err, ErrUnsupported) && !errors.Is(err, ErrMalformed) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		if info.Container != ContainerWebM && info.Container != ContainerMP4 {
			t.Fatalf("accepted as %q", info.Container)
		}
		if info.Duration < 0 || (!info.HasDuration && info.Duration != 0) {
			t.Fatalf("duration %+v", info)
		}
	})
}
