#!/usr/bin/env bash
# Turns a folder of videos in class subfolders (IN/<class>/<clip>.mp4) into per-clip frame folders
# (OUT/<class>/<clip>/frame_0001.jpg ...) with Debian's ffmpeg, ready for `group_by folder` splits.
#
#   scripts/video_to_frames.sh [--fps N] [--size N|WxH] [--max-frames N] [--quality Q] IN OUT
#
#   --fps N         frames taken per second of video (default 2; decimals allowed, e.g. 2.5)
#   --size N        scale so the shorter side is N pixels, keeping the aspect ratio (default: original size)
#   --size WxH      scale to exactly W x H
#   --max-frames N  at most N frames per clip (default 0: all)
#   --quality Q     JPEG quality for ffmpeg's -q:v, 2 (best) .. 31 (default 3)
#
# A clip whose frame folder exists is skipped, so an interrupted run can be repeated: frames go to a hidden
# OUT/<class>/.<clip>.partial folder that is renamed into place only when ffmpeg succeeded with at least one
# frame. Each failed clip is reported on one line ("FAILED <class>/<clip>: <reason>") and the run goes on; the
# last line counts clips done, skipped and failed. Exit status: 0 all fine, 1 some clip failed, 2 bad usage.
set -uo pipefail

usage() {
  sed -n '5,11p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

fps=2
size=""
max_frames=0
quality=3
while [[ $# -gt 0 ]]; do
  case "$1" in
    --fps) fps="${2:-}"; shift 2 || usage ;;
    --size) size="${2:-}"; shift 2 || usage ;;
    --max-frames) max_frames="${2:-}"; shift 2 || usage ;;
    --quality) quality="${2:-}"; shift 2 || usage ;;
    -h|--help) usage ;;
    --) shift; break ;;
    -*) echo "video_to_frames: unknown option $1" >&2; usage ;;
    *) break ;;
  esac
done
[[ $# -eq 2 ]] || usage
in_dir="$1"
out_dir="$2"

[[ "$fps" =~ ^[0-9]+([.][0-9]+)?$ && "$fps" != 0 ]] || { echo "video_to_frames: --fps must be a positive number, got '$fps'" >&2; exit 2; }
[[ "$max_frames" =~ ^[0-9]+$ ]] || { echo "video_to_frames: --max-frames must be a whole number, got '$max_frames'" >&2; exit 2; }
[[ "$quality" =~ ^[0-9]+$ && "$quality" -ge 2 && "$quality" -le 31 ]] || { echo "video_to_frames: --quality must be 2..31, got '$quality'" >&2; exit 2; }
filter="fps=$fps"
if [[ "$size" =~ ^[0-9]+$ && "$size" -gt 0 ]]; then
  # Shorter side = size; the other side keeps the aspect ratio, rounded to an even number.
  filter="$filter,scale='if(gt(iw,ih),-2,$size)':'if(gt(iw,ih),$size,-2)'"
elif [[ "$size" =~ ^([0-9]+)x([0-9]+)$ ]]; then
  filter="$filter,scale=${BASH_REMATCH[1]}:${BASH_REMATCH[2]}"
elif [[ -n "$size" ]]; then
  echo "video_to_frames: --size must be N or WxH, got '$size'" >&2
  exit 2
fi
[[ -d "$in_dir" ]] || { echo "video_to_frames: $in_dir: not a folder" >&2; exit 2; }
command -v ffmpeg >/dev/null 2>&1 || { echo "video_to_frames: ffmpeg not found (Debian: apt-get install ffmpeg)" >&2; exit 2; }
mkdir -p "$out_dir" || exit 2

done_count=0
skipped=0
failed=0
declare -A seen_clips
shopt -s nullglob nocasematch
for class_dir in "$in_dir"/*/; do
  class="$(basename "$class_dir")"
  [[ "$class" == .* ]] && continue
  for video in "$class_dir"*; do
    [[ -f "$video" ]] || continue
    name="$(basename "$video")"
    [[ "$name" == .* ]] && continue
    [[ "$name" =~ \.(mp4|m4v|mov|avi|mkv|webm|mpg|mpeg|wmv|flv|3gp|ts)$ ]] || continue
    clip="${name%.*}"
    if [[ -n "${seen_clips[$class/$clip]:-}" ]]; then
      echo "FAILED $class/$clip: another video of this class has the same name ($(basename "${seen_clips[$class/$clip]}"))"
      failed=$((failed + 1))
      continue
    fi
    seen_clips[$class/$clip]="$video"
    target="$out_dir/$class/$clip"
    if [[ -d "$target" ]]; then
      skipped=$((skipped + 1))
      continue
    fi
    partial="$out_dir/$class/.$clip.partial"
    rm -rf "$partial"
    mkdir -p "$partial" || { echo "FAILED $class/$clip: cannot create $partial"; failed=$((failed + 1)); continue; }
    limit=()
    [[ "$max_frames" -gt 0 ]] && limit=(-frames:v "$max_frames")
    if ! errors="$(ffmpeg -nostdin -hide_banner -v error -i "$video" -vf "$filter" "${limit[@]}" -q:v "$quality" \
                     "$partial/frame_%04d.jpg" 2>&1)"; then
      reason="$(printf '%s\n' "$errors" | grep -v '^[[:space:]]*$' | tail -n 1)"
      echo "FAILED $class/$clip: ${reason:-ffmpeg failed}"
      rm -rf "$partial"
      failed=$((failed + 1))
      continue
    fi
    frames=("$partial"/frame_*.jpg)
    if [[ ${#frames[@]} -eq 0 ]]; then
      echo "FAILED $class/$clip: ffmpeg wrote no frames"
      rm -rf "$partial"
      failed=$((failed + 1))
      continue
    fi
    mv "$partial" "$target" || { echo "FAILED $class/$clip: cannot rename $partial"; failed=$((failed + 1)); continue; }
    echo "done $class/$clip: ${#frames[@]} frames"
    done_count=$((done_count + 1))
  done
done
echo "video_to_frames: $done_count done, $skipped skipped, $failed failed"
[[ $failed -eq 0 ]]
