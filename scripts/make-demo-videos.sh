#!/bin/sh
# make-demo-videos.sh regenerates the demo greeting videos in internal/demo/media.
#
# The videos are committed; nothing at run time needs ffmpeg. This script is the
# record of how they were made: 320x240 WebM (VP8 + Opus), a few seconds each, a
# soft gradient with the agent's name drawn on it, a short three-note chime in the
# intro and silence in the loop. All four files together stay well under 1 MB.
#
# Usage: scripts/make-demo-videos.sh   (from the repository root; needs ffmpeg
# with libvpx, libopus, libfreetype and the DejaVu fonts)
set -eu

out=internal/demo/media
font=/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf
light=/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf
size=320x240
rate=24

# Encoder settings shared by every file: small, quick to start, seekable.
venc="-c:v libvpx -b:v 180k -crf 30 -g 48 -auto-alt-ref 0 -pix_fmt yuv420p"
aenc="-c:a libopus -b:a 32k -ac 1 -ar 48000"

# intro NAME C0 C1 FILE: 4 s; "Hi, I'm NAME" fades in over a three-note chime.
intro() {
	ffmpeg -hide_banner -loglevel error -y \
		-f lavfi -i "gradients=s=$size:r=$rate:c0=$2:c1=$3:x0=0:y0=0:x1=320:y1=240:d=4:speed=0.02" \
		-f lavfi -i "sine=f=523.25:d=0.5" \
		-f lavfi -i "sine=f=659.25:d=0.5" \
		-f lavfi -i "sine=f=783.99:d=1.4" \
		-f lavfi -i "anullsrc=r=48000:cl=mono:d=1.6" \
		-filter_complex "\
[0:v]drawtext=fontfile=$font:text='Hi, I'\\\\\\''m $1':fontsize=34:fontcolor=white:\
x=(w-text_w)/2:y=(h-text_h)/2-18:alpha='min(1,t/0.8)',\
drawtext=fontfile=$light:text='Recorded greeting':fontsize=15:fontcolor=white@0.85:\
x=(w-text_w)/2:y=(h/2)+24:alpha='min(1,max(0,(t-0.6)/0.8))',\
drawbox=x='(iw/2)-60':y='(ih/2)+52':w='120*min(1,t/3.5)':h=3:color=white@0.7:t=fill,\
fade=t=in:d=0.3,format=yuv420p[v];\
[1:a]afade=t=in:d=0.05,afade=t=out:st=0.3:d=0.2[a1];\
[2:a]afade=t=in:d=0.05,afade=t=out:st=0.3:d=0.2[a2];\
[3:a]afade=t=in:d=0.05,afade=t=out:st=0.6:d=0.8[a3];\
[a1][a2][a3][4:a]concat=n=4:v=0:a=1,volume=0.25[a]" \
		-map "[v]" -map "[a]" -t 4 $venc $aenc "$4"
}

# loop NAME C0 C1 FILE: 3 s that repeat seamlessly; the name gently breathes.
loop() {
	ffmpeg -hide_banner -loglevel error -y \
		-f lavfi -i "gradients=s=$size:r=$rate:c0=$2:c1=$3:x0=0:y0=0:x1=320:y1=240:d=3" \
		-f lavfi -i "anullsrc=r=48000:cl=mono" \
		-filter_complex "\
[0:v]drawtext=fontfile=$font:text='$1':fontsize=48:fontcolor=white:\
x=(w-text_w)/2:y=(h-text_h)/2-14:alpha='0.8+0.2*cos(2*PI*t/3)',\
drawtext=fontfile=$light:text='Happy to help':fontsize=15:fontcolor=white@0.85:\
x=(w-text_w)/2:y=(h/2)+30,format=yuv420p[v]" \
		-map "[v]" -map 1:a -t 3 $venc $aenc "$4"
}

intro Ava '#0f766e' '#14b8a6' "$out/ava-intro.webm"
loop Ava '#0f766e' '#14b8a6' "$out/ava-loop.webm"
intro Ben '#1e3a8a' '#6366f1' "$out/ben-intro.webm"
loop Ben '#1e3a8a' '#6366f1' "$out/ben-loop.webm"

ls -l "$out"/*.webm
