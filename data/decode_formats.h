// Internal interface between decode.cpp (files, limits, output conversion) and the per-format decoders
// (decode_jpeg.cpp, decode_stb.cpp, decode_gif.cpp, decode_webp.cpp) and container checks (decode_precheck.cpp).
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "data/image.h"

namespace vigil::data::detail {

// What a format decoder hands back: frames with 1 (gray), 2 (gray + alpha), 3 (RGB) or 4 (RGBA) channels, before
// compositing, grayscale conversion and orientation; `reason` has no file name (decode.cpp adds it).
struct RawDecode {
  DecodeStatus status = DecodeStatus::Ok;
  std::string reason;
  std::vector<Image> frames;
  int orientation = 1;  // EXIF orientation found in the container, 1..8

  static RawDecode failure(DecodeStatus status, std::string reason) {
    RawDecode r;
    r.status = status;
    r.reason = std::move(reason);
    return r;
  }
  bool ok() const { return status == DecodeStatus::Ok; }
};

// Ok when 1 <= width, height and both (and their product) are within the limits; `what` names the thing measured
// in the message (e.g. "PNG header", "GIF frame 3").
RawDecode check_dimensions(int64_t width, int64_t height, const DecodeLimits& limits, const std::string& what);

// Facts read from a container before handing it to a decoder: size, whether it is cut short, the EXIF orientation.
struct ContainerInfo {
  int64_t width = 0, height = 0;
  int orientation = 1;
};

// Walk the JPEG / PNG / BMP structure without decoding pixels: truncation, unsupported variants, header dimensions
// against the limits, PNG decompression bombs (with zlib), too many progressive scans. Ok or the failure to report.
RawDecode precheck_jpeg(const uint8_t* data, size_t size, const DecodeLimits& limits, ContainerInfo& info);
RawDecode precheck_png(const uint8_t* data, size_t size, const DecodeLimits& limits, ContainerInfo& info);
RawDecode precheck_bmp(const uint8_t* data, size_t size, const DecodeLimits& limits, ContainerInfo& info);

// stb_image decoding of a prechecked PNG or BMP into its natural channel count (1..4).
RawDecode decode_with_stb(const uint8_t* data, size_t size, ImageFormat format);

// libjpeg-turbo decoding of a prechecked JPEG: 1 (gray) or 3 (RGB; CMYK/YCCK converted) channels.
RawDecode decode_jpeg(const uint8_t* data, size_t size);

// Receives frames one at a time instead of RawDecode::frames (with the container's EXIF orientation); returns false
// to stop decoding there.
using RawFrameSink = std::function<bool(Image&& frame, int orientation)>;

// giflib / libwebp decoding; all_frames = false stops after the first frame. Frames are RGBA canvases (WebP stills
// without alpha: RGB). With a sink (all_frames must be true) every frame goes to the sink as soon as it is
// composited and none is kept, so the all-frames pixel total is not checked; max_frames still is.
RawDecode decode_gif(const uint8_t* data, size_t size, const DecodeLimits& limits, bool all_frames,
                     const RawFrameSink* sink = nullptr);
RawDecode decode_webp(const uint8_t* data, size_t size, const DecodeLimits& limits, bool all_frames,
                      const RawFrameSink* sink = nullptr);

// sniff.cpp: a human description of bytes that are not a supported image ("text", "a PDF document", "HEIF/AVIF",
// ...) and whether they are a strict prefix of a supported signature (a file cut off inside its magic number).
std::string describe_unknown(const uint8_t* data, size_t size);
bool is_partial_signature(const uint8_t* data, size_t size);

}  // namespace vigil::data::detail
