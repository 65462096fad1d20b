// WebP decoding with libwebp: the container is parsed first (libwebpdemux) for the canvas size, frame count, EXIF
// and truncation; stills decode straight into a buffer vigil allocated, animations through WebPAnimDecoder, which
// composites every frame onto the full canvas.
#include <memory>
#include <string>

#include "data/decode_formats.h"
#include "data/exif.h"

#if VIGIL_WITH_WEBP
#include <webp/decode.h>
#include <webp/demux.h>
#endif

namespace vigil::data::detail {

#if VIGIL_WITH_WEBP
namespace {

struct DemuxDeleter {
  void operator()(WebPDemuxer* d) const { WebPDemuxDelete(d); }
};
struct AnimDeleter {
  void operator()(WebPAnimDecoder* d) const { WebPAnimDecoderDelete(d); }
};

RawDecode vp8_failure(VP8StatusCode code) {
  switch (code) {
    case VP8_STATUS_NOT_ENOUGH_DATA: return RawDecode::failure(DecodeStatus::Truncated, "WebP data is cut short");
    case VP8_STATUS_UNSUPPORTED_FEATURE:
      return RawDecode::failure(DecodeStatus::Unsupported, "WebP uses a feature libwebp does not support");
    case VP8_STATUS_OUT_OF_MEMORY: return RawDecode::failure(DecodeStatus::TooLarge, "WebP decoder ran out of memory");
    default: break;
  }
  return RawDecode::failure(DecodeStatus::Corrupt, "WebP bitstream is invalid (libwebp status " +
                                                        std::to_string(static_cast<int>(code)) + ")");
}

RawDecode decode_still(const uint8_t* data, size_t size, const DecodeLimits& limits) {
  WebPDecoderConfig config;
  if (!WebPInitDecoderConfig(&config)) return RawDecode::failure(DecodeStatus::Unsupported, "libwebp version mismatch");
  const VP8StatusCode features = WebPGetFeatures(data, size, &config.input);
  if (features != VP8_STATUS_OK) return vp8_failure(features);
  RawDecode dims = check_dimensions(config.input.width, config.input.height, limits, "WebP header");
  if (!dims.ok()) return dims;
  Image img;
  img.width = config.input.width;
  img.height = config.input.height;
  img.channels = config.input.has_alpha ? 4 : 3;
  img.pixels.resize(static_cast<size_t>(img.width) * img.height * img.channels);
  config.output.colorspace = config.input.has_alpha ? MODE_RGBA : MODE_RGB;
  config.output.is_external_memory = 1;
  config.output.u.RGBA.rgba = img.pixels.data();
  config.output.u.RGBA.stride = img.width * img.channels;
  config.output.u.RGBA.size = img.pixels.size();
  const VP8StatusCode status = WebPDecode(data, size, &config);
  WebPFreeDecBuffer(&config.output);
  if (status != VP8_STATUS_OK) return vp8_failure(status);
  RawDecode out;
  out.frames.push_back(std::move(img));
  return out;
}

// Every frame (or the first) into out.frames, or each to `sink` as it is decoded (max_frames checked per frame).
RawDecode decode_animation(const uint8_t* data, size_t size, int width, int height, int frame_count,
                           bool all_frames, const DecodeLimits& limits, const RawFrameSink* sink, int orientation) {
  WebPAnimDecoderOptions options;
  if (!WebPAnimDecoderOptionsInit(&options))
    return RawDecode::failure(DecodeStatus::Unsupported, "libwebp version mismatch");
  options.color_mode = MODE_RGBA;
  options.use_threads = 0;
  WebPData input{data, size};
  std::unique_ptr<WebPAnimDecoder, AnimDeleter> decoder(WebPAnimDecoderNew(&input, &options));
  if (!decoder) return RawDecode::failure(DecodeStatus::Corrupt, "WebP animation cannot be decoded");
  RawDecode out;
  const int wanted = all_frames ? frame_count : 1;
  int decoded = 0;
  for (int i = 0; i < wanted && WebPAnimDecoderHasMoreFrames(decoder.get()); ++i) {
    if (sink != nullptr && i >= limits.max_frames)
      return RawDecode::failure(DecodeStatus::TooLarge, "WebP animation has more than " +
                                                            std::to_string(limits.max_frames) + " frames");
    uint8_t* canvas = nullptr;
    int timestamp = 0;
    if (!WebPAnimDecoderGetNext(decoder.get(), &canvas, &timestamp))
      return RawDecode::failure(DecodeStatus::Corrupt, "WebP animation frame " + std::to_string(i + 1) +
                                                           " cannot be decoded");
    Image img;
    img.width = width;
    img.height = height;
    img.channels = 4;
    img.pixels.assign(canvas, canvas + static_cast<size_t>(width) * height * 4);
    ++decoded;
    if (sink == nullptr) {
      out.frames.push_back(std::move(img));
    } else if (!(*sink)(std::move(img), orientation)) {
      break;
    }
  }
  if (decoded == 0) return RawDecode::failure(DecodeStatus::Corrupt, "WebP animation has no frames");
  return out;
}

}  // namespace

RawDecode decode_webp(const uint8_t* data, size_t size, const DecodeLimits& limits, bool all_frames,
                      const RawFrameSink* sink) {
  WebPData input{data, size};
  WebPDemuxState state = WEBP_DEMUX_PARSE_ERROR;
  std::unique_ptr<WebPDemuxer, DemuxDeleter> demux(WebPDemuxPartial(&input, &state));
  if (state == WEBP_DEMUX_PARSING_HEADER || state == WEBP_DEMUX_PARSED_HEADER || (demux && state != WEBP_DEMUX_DONE))
    return RawDecode::failure(DecodeStatus::Truncated, "WebP data ends inside its container");
  if (!demux || state != WEBP_DEMUX_DONE)
    return RawDecode::failure(DecodeStatus::Corrupt, "WebP container is malformed");
  const int width = static_cast<int>(WebPDemuxGetI(demux.get(), WEBP_FF_CANVAS_WIDTH));
  const int height = static_cast<int>(WebPDemuxGetI(demux.get(), WEBP_FF_CANVAS_HEIGHT));
  const uint32_t flags = WebPDemuxGetI(demux.get(), WEBP_FF_FORMAT_FLAGS);
  const uint32_t frames = WebPDemuxGetI(demux.get(), WEBP_FF_FRAME_COUNT);
  RawDecode dims = check_dimensions(width, height, limits, "WebP canvas");
  if (!dims.ok()) return dims;
  int orientation = 1;
  if (flags & EXIF_FLAG) {
    WebPChunkIterator chunk;
    if (WebPDemuxGetChunk(demux.get(), "EXIF", 1, &chunk)) orientation = exif_orientation(chunk.chunk.bytes, chunk.chunk.size);
    WebPDemuxReleaseChunkIterator(&chunk);
  }
  RawDecode out;
  if (flags & ANIMATION_FLAG) {
    if (all_frames && sink == nullptr && frames > static_cast<uint32_t>(limits.max_frames))
      return RawDecode::failure(DecodeStatus::TooLarge, "WebP animation has " + std::to_string(frames) +
                                                            " frames, over the limit of " +
                                                            std::to_string(limits.max_frames));
    if (all_frames && sink == nullptr && static_cast<uint64_t>(width) * height * frames > 4 * limits.max_pixels)
      return RawDecode::failure(DecodeStatus::TooLarge, "WebP frames hold more than " +
                                                            std::to_string(4 * limits.max_pixels) + " pixels in all");
    out = decode_animation(data, size, width, height, static_cast<int>(frames), all_frames, limits, sink,
                           orientation);
  } else {
    out = decode_still(data, size, limits);  // a still stays in out.frames, with or without a sink
  }
  out.orientation = orientation;
  return out;
}

#else

RawDecode decode_webp(const uint8_t*, size_t, const DecodeLimits&, bool, const RawFrameSink*) {
  return RawDecode::failure(DecodeStatus::Unsupported, "WebP: built without libwebp (apt-get install libwebp-dev)");
}

#endif

}  // namespace vigil::data::detail
