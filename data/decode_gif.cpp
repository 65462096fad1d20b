// GIF decoding with giflib, record by record (never DGifSlurp, which allocates every frame before any check):
// screen and frame sizes are checked against the limits before their buffers exist, frames are composited onto
// an RGBA canvas with their transparency and disposal, and clipped to the screen.
#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "data/decode_formats.h"

#if VIGIL_WITH_GIF
#include <gif_lib.h>
#endif

namespace vigil::data::detail {

#if VIGIL_WITH_GIF
namespace {

struct MemoryInput {
  const uint8_t* data;
  size_t size;
  size_t pos;
  bool ran_out;  // a read asked for more than was left: any giflib error after it means "truncated"
};

int read_from_memory(GifFileType* gif, GifByteType* out, int wanted) {
  auto* in = static_cast<MemoryInput*>(gif->UserData);
  if (wanted <= 0) return 0;
  const size_t take = std::min(static_cast<size_t>(wanted), in->size - in->pos);
  if (take < static_cast<size_t>(wanted)) in->ran_out = true;
  std::memcpy(out, in->data + in->pos, take);
  in->pos += take;
  return static_cast<int>(take);
}

struct GifCloser {
  void operator()(GifFileType* gif) const {
    int ignored = 0;
    DGifCloseFile(gif, &ignored);
  }
};
using GifPtr = std::unique_ptr<GifFileType, GifCloser>;

RawDecode gif_failure(int code, const std::string& where, const MemoryInput& input) {
  DecodeStatus status = DecodeStatus::Corrupt;
  if (input.ran_out || code == D_GIF_ERR_READ_FAILED || code == D_GIF_ERR_EOF_TOO_SOON) {
    status = DecodeStatus::Truncated;
    if (code != D_GIF_ERR_READ_FAILED && code != D_GIF_ERR_EOF_TOO_SOON)
      return RawDecode::failure(status, "GIF " + where + ": data ends early");
  }
  if (code == D_GIF_ERR_NOT_ENOUGH_MEM) status = DecodeStatus::TooLarge;
  const char* text = GifErrorString(code);
  return RawDecode::failure(status, "GIF " + where + ": " + (text ? text : "giflib error " + std::to_string(code)));
}

// Reads the frame's colour indices, de-interlacing when needed (rows arrive as 0,8,16.. then 4,12.. 2,6.. 1,3..).
bool read_indices(GifFileType* gif, const GifImageDesc& d, std::vector<GifPixelType>& indices) {
  const int w = d.Width, h = d.Height;
  indices.resize(static_cast<size_t>(w) * h);
  if (!d.Interlace) {
    for (int y = 0; y < h; ++y)
      if (DGifGetLine(gif, &indices[static_cast<size_t>(y) * w], w) == GIF_ERROR) return false;
    return true;
  }
  static const int first[4] = {0, 4, 2, 1}, step[4] = {8, 8, 4, 2};
  for (int pass = 0; pass < 4; ++pass)
    for (int y = first[pass]; y < h; y += step[pass])
      if (DGifGetLine(gif, &indices[static_cast<size_t>(y) * w], w) == GIF_ERROR) return false;
  return true;
}

// Skips a frame's LZW data block by block (used for frames with no area).
bool skip_image_data(GifFileType* gif) {
  int code_size = 0;
  GifByteType* block = nullptr;
  if (DGifGetCode(gif, &code_size, &block) == GIF_ERROR) return false;
  while (block != nullptr)
    if (DGifGetCodeNext(gif, &block) == GIF_ERROR) return false;
  return true;
}

struct Canvas {
  int width = 0, height = 0;
  std::vector<uint8_t> rgba;  // starts fully transparent; decode.cpp composites it onto the background

  void draw(const GifImageDesc& d, const std::vector<GifPixelType>& indices, const ColorMapObject& colors,
            int transparent) {
    for (int y = 0; y < d.Height; ++y) {
      const int cy = d.Top + y;
      if (cy < 0 || cy >= height) continue;
      for (int x = 0; x < d.Width; ++x) {
        const int cx = d.Left + x;
        if (cx < 0 || cx >= width) continue;
        const int index = indices[static_cast<size_t>(y) * d.Width + x];
        if (index == transparent) continue;
        uint8_t* p = &rgba[(static_cast<size_t>(cy) * width + cx) * 4];
        if (index < colors.ColorCount) {  // an index past the table is drawn black, as browsers do
          p[0] = colors.Colors[index].Red;
          p[1] = colors.Colors[index].Green;
          p[2] = colors.Colors[index].Blue;
        } else {
          p[0] = p[1] = p[2] = 0;
        }
        p[3] = 255;
      }
    }
  }

  void clear(const GifImageDesc& d) {
    const int x0 = std::max(0, d.Left), x1 = std::min(width, d.Left + d.Width);
    const int y0 = std::max(0, d.Top), y1 = std::min(height, d.Top + d.Height);
    for (int y = y0; y < y1; ++y)
      for (int x = x0; x < x1; ++x) std::memset(&rgba[(static_cast<size_t>(y) * width + x) * 4], 0, 4);
  }
};

}  // namespace

RawDecode decode_gif(const uint8_t* data, size_t size, const DecodeLimits& limits, bool all_frames,
                     const RawFrameSink* sink) {
  MemoryInput input{data, size, 0, false};
  int error = 0;
  GifPtr gif(DGifOpen(&input, read_from_memory, &error));
  if (!gif) return gif_failure(error, "header", input);
  Canvas canvas;
  canvas.width = gif->SWidth;
  canvas.height = gif->SHeight;
  if (canvas.width > 0 && canvas.height > 0) {
    RawDecode dims = check_dimensions(canvas.width, canvas.height, limits, "GIF screen");
    if (!dims.ok()) return dims;
  }
  GraphicsControlBlock control{DISPOSAL_UNSPECIFIED, false, 0, NO_TRANSPARENT_COLOR};
  std::vector<GifPixelType> indices;
  std::vector<uint8_t> before;  // the canvas before a "restore to previous" frame
  uint64_t total_pixels = 0;
  int frame = 0;
  RawDecode out;
  for (;;) {
    GifRecordType record = UNDEFINED_RECORD_TYPE;
    if (DGifGetRecordType(gif.get(), &record) == GIF_ERROR) {
      if (input.pos >= input.size && frame > 0) break;  // only the trailer byte is missing
      return gif_failure(gif->Error, "after frame " + std::to_string(frame), input);
    }
    if (record == TERMINATE_RECORD_TYPE) break;
    if (record == EXTENSION_RECORD_TYPE) {
      int code = 0;
      GifByteType* ext = nullptr;
      if (DGifGetExtension(gif.get(), &code, &ext) == GIF_ERROR) return gif_failure(gif->Error, "extension", input);
      if (code == GRAPHICS_EXT_FUNC_CODE && ext != nullptr && ext[0] == 4)
        DGifExtensionToGCB(4, ext + 1, &control);
      while (ext != nullptr)
        if (DGifGetExtensionNext(gif.get(), &ext) == GIF_ERROR) return gif_failure(gif->Error, "extension", input);
      continue;
    }
    if (record != IMAGE_DESC_RECORD_TYPE) continue;
    if (DGifGetImageDesc(gif.get()) == GIF_ERROR) return gif_failure(gif->Error, "frame descriptor", input);
    const GifImageDesc d = gif->Image;
    const std::string what = "GIF frame " + std::to_string(frame + 1);
    if (d.Width <= 0 || d.Height <= 0) {  // nothing to draw
      if (!skip_image_data(gif.get())) return gif_failure(gif->Error, what, input);
      control = GraphicsControlBlock{DISPOSAL_UNSPECIFIED, false, 0, NO_TRANSPARENT_COLOR};
      continue;
    }
    if (++frame > limits.max_frames)
      return RawDecode::failure(DecodeStatus::TooLarge,
                                "GIF has more than " + std::to_string(limits.max_frames) + " frames");
    if (canvas.rgba.empty()) {
      if (canvas.width <= 0 || canvas.height <= 0) {  // no screen size: use the first frame's extent
        canvas.width = d.Left + d.Width;
        canvas.height = d.Top + d.Height;
      }
      RawDecode dims = check_dimensions(canvas.width, canvas.height, limits, "GIF screen");
      if (!dims.ok()) return dims;
      canvas.rgba.assign(static_cast<size_t>(canvas.width) * canvas.height * 4, 0);
    }
    RawDecode dims = check_dimensions(d.Width, d.Height, limits, what);
    if (!dims.ok()) return dims;
    total_pixels += static_cast<uint64_t>(canvas.width) * canvas.height;
    if (sink == nullptr && total_pixels > 4 * limits.max_pixels)
      return RawDecode::failure(DecodeStatus::TooLarge, "GIF frames hold more than " +
                                                            std::to_string(4 * limits.max_pixels) + " pixels in all");
    const ColorMapObject* colors = d.ColorMap ? d.ColorMap : gif->SColorMap;
    if (colors == nullptr) return RawDecode::failure(DecodeStatus::Corrupt, what + " has no colour table");
    if (!read_indices(gif.get(), d, indices)) return gif_failure(gif->Error, what, input);
    if (all_frames && control.DisposalMode == DISPOSE_PREVIOUS) before = canvas.rgba;
    canvas.draw(d, indices, *colors, control.TransparentColor);
    Image img;
    img.width = canvas.width;
    img.height = canvas.height;
    img.channels = 4;
    img.pixels = canvas.rgba;
    if (sink != nullptr) {
      if (!(*sink)(std::move(img), 1)) break;
    } else {
      out.frames.push_back(std::move(img));
    }
    if (!all_frames) break;
    if (control.DisposalMode == DISPOSE_BACKGROUND) canvas.clear(d);
    if (control.DisposalMode == DISPOSE_PREVIOUS) canvas.rgba.swap(before);
    control = GraphicsControlBlock{DISPOSAL_UNSPECIFIED, false, 0, NO_TRANSPARENT_COLOR};
  }
  if (frame == 0) return RawDecode::failure(DecodeStatus::Corrupt, "GIF has no frames");
  return out;
}

#else

RawDecode decode_gif(const uint8_t*, size_t, const DecodeLimits&, bool, const RawFrameSink*) {
  return RawDecode::failure(DecodeStatus::Unsupported, "GIF: built without giflib (apt-get install libgif-dev)");
}

#endif

}  // namespace vigil::data::detail
