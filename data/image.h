// Hardened image decoding: JPEG/PNG/BMP (stb_image), GIF (giflib), WebP (libwebp) from bytes or files into HWC
// uint8 RGB or grayscale, with limits checked before any large allocation and every failure reported as a status
// plus a message naming the file and the reason. Nothing here throws for bad input.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace vigil::data {

enum class ImageFormat { Unknown, Jpeg, Png, Bmp, Gif, Webp };
const char* format_name(ImageFormat);  // "unknown", "JPEG", "PNG", "BMP", "GIF", "WebP"
// The format from the leading bytes (magic numbers), never from a file name.
ImageFormat sniff_format(const uint8_t* data, size_t size);

struct Image {
  int width = 0, height = 0, channels = 0;
  std::vector<uint8_t> pixels;  // HWC, row-major, width * height * channels bytes
};

// Checked before reading a file (file size) and before decoding (the dimensions in the header), so a hostile
// header cannot make the decoder allocate. For decode_frames_*, the frame count is limited by max_frames and all
// frames together by 4 * max_pixels pixels.
struct DecodeLimits {
  uint64_t max_file_bytes = 64ull << 20;
  int max_width = 16384, max_height = 16384;
  uint64_t max_pixels = 64ull << 20;
  int max_frames = 1000;
};

struct DecodeOptions {
  int channels = 3;                          // 1 or 3: output channels (grayscale or RGB)
  uint8_t background[3] = {255, 255, 255};   // alpha is composited onto this
  bool apply_exif_orientation = true;        // EXIF orientation 2..8 (JPEG APP1, PNG eXIf, WebP EXIF)
  DecodeLimits limits;
};

enum class DecodeStatus { Ok, Unsupported, Truncated, TooLarge, Corrupt, IoError, Empty };
// "ok", "unsupported", "truncated", "too_large", "corrupt", "io_error", "empty"
const char* status_name(DecodeStatus);

struct DecodeResult {
  DecodeStatus status = DecodeStatus::Ok;
  std::string error;  // "<name>: <status>: <reason>", empty when ok
  ImageFormat format = ImageFormat::Unknown;
  Image image;  // the first frame
  bool ok() const { return status == DecodeStatus::Ok; }
};

DecodeResult decode_memory(const uint8_t* data, size_t size, const std::string& name, const DecodeOptions& o = {});
DecodeResult decode_file(const std::string& path, const DecodeOptions& o = {});  // never throws for bad files

// Every frame of an animated GIF or WebP, each composited to a full canvas (other formats: one frame); more than
// limits.max_frames frames is a too_large error rather than a silently shortened animation. A GIF that ends between
// two frames (no trailer) gives the frames before the end, as browsers and PIL show it; a cut inside a frame is
// truncated.
struct FramesResult {
  DecodeStatus status = DecodeStatus::Ok;
  std::string error;
  ImageFormat format = ImageFormat::Unknown;
  std::vector<Image> frames;
  bool ok() const { return status == DecodeStatus::Ok; }
};
FramesResult decode_frames_file(const std::string& path, const DecodeOptions& o = {});
FramesResult decode_frames_memory(const uint8_t* data, size_t size, const std::string& name,
                                  const DecodeOptions& o = {});

// Frame by frame, for long animations: each frame, composited and converted as decode_frames_* does it, goes to
// on_frame(frame, index) as soon as it is decoded, and none is kept, so memory stays at one canvas and one frame
// however many frames there are (the all-frames pixel total therefore does not apply; limits.max_frames does:
// reaching frame max_frames + 1 is a too_large error). on_frame returns false to stop decoding there (nothing
// after that frame is read). A still image is one frame. The result is the decode status: a failure after some
// frames were handed over (a GIF cut inside frame 5) still reports them in `frames`. Exceptions thrown by
// on_frame end the scan and propagate to the caller.
struct FrameScan {
  DecodeStatus status = DecodeStatus::Ok;
  std::string error;  // "<name>: <status>: <reason>", empty when ok
  ImageFormat format = ImageFormat::Unknown;
  int frames = 0;        // frames handed to on_frame
  bool stopped = false;  // on_frame returned false
  bool ok() const { return status == DecodeStatus::Ok; }
};
using FrameVisitor = std::function<bool(Image&& frame, int index)>;
FrameScan scan_frames_memory(const uint8_t* data, size_t size, const std::string& name, const DecodeOptions& o,
                             const FrameVisitor& on_frame);

}  // namespace vigil::data
