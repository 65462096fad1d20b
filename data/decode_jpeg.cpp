// JPEG decoding through libjpeg-turbo (Debian's libjpeg62-turbo): hardened and fuzzed upstream, with no state shared
// between decodes. Errors longjmp back to one function here and become a RawDecode failure; "corrupt data"
// warnings stop the decode too, so a damaged file is one error rather than an image with grey blocks.
#include <climits>
#include <csetjmp>
#include <cstdio>  // jpeglib.h needs FILE and size_t declared first
#include <cstring>
#include <string>

#include "data/decode_formats.h"

#if VIGIL_WITH_JPEG
#include <jerror.h>
#include <jpeglib.h>
#endif

namespace vigil::data::detail {

#if VIGIL_WITH_JPEG
namespace {

// libjpeg's error manager with the jump target and the first fatal or corrupt-data message of this decode.
struct JpegErrorState {
  jpeg_error_mgr mgr;  // first member: libjpeg hands back a pointer to it
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
  int code = 0;
};

JpegErrorState& state_of(j_common_ptr cinfo) { return *reinterpret_cast<JpegErrorState*>(cinfo->err); }

[[noreturn]] void stop_on_error(j_common_ptr cinfo) {
  JpegErrorState& s = state_of(cinfo);
  s.code = s.mgr.msg_code;
  s.mgr.format_message(cinfo, s.message);
  std::longjmp(s.jump, 1);
}

// Warnings that mean the entropy-coded data is damaged: libjpeg would go on and fill the rest with grey. The others
// (extraneous bytes before a marker, an unknown JFIF revision or Adobe transform, a bad ICC marker) leave the
// pixels intact and are ignored, as PIL ignores them.
bool is_corrupt_data_warning(int code) {
  switch (code) {
    case JWRN_BOGUS_PROGRESSION:
    case JWRN_HIT_MARKER:
    case JWRN_HUFF_BAD_CODE:
    case JWRN_JPEG_EOF:
    case JWRN_MUST_RESYNC:
    case JWRN_NOT_SEQUENTIAL:
      return true;
    default:
      return false;
  }
}

void on_message(j_common_ptr cinfo, int level) {
  if (level < 0 && is_corrupt_data_warning(cinfo->err->msg_code)) stop_on_error(cinfo);
}

void ignore_output(j_common_ptr) {}

DecodeStatus status_for_jpeg_error(int code) {
  switch (code) {
    case JERR_OUT_OF_MEMORY:
    case JERR_NO_BACKING_STORE:
    case JERR_IMAGE_TOO_BIG:
    case JERR_WIDTH_OVERFLOW:
      return DecodeStatus::TooLarge;
    case JERR_INPUT_EMPTY:
    case JERR_INPUT_EOF:
      return DecodeStatus::Truncated;
    case JERR_CONVERSION_NOTIMPL:
    case JERR_BAD_PRECISION:
      return DecodeStatus::Unsupported;
    default:
      return DecodeStatus::Corrupt;
  }
}

// Owns the decompressor so that it is destroyed on every path, including after a longjmp.
struct JpegDecompressor {
  jpeg_decompress_struct cinfo;
  JpegErrorState errors;
  bool created = false;
  ~JpegDecompressor() {
    if (created) jpeg_destroy_decompress(&cinfo);
  }
};

// Bytes libjpeg may hold for a header of this size: the whole-image coefficient buffer of a progressive file (2
// bytes per coefficient, every component at full resolution, dimensions padded to the largest MCU) plus room for
// the row buffers. Anything beyond it is refused (JERR_NO_BACKING_STORE) instead of allocated.
long memory_budget(const jpeg_decompress_struct& c) {
  const unsigned long long w = c.image_width + 32ull, h = c.image_height + 32ull;
  const unsigned long long need = w * h * static_cast<unsigned long long>(c.num_components) * 2 + (32ull << 20);
  return need > static_cast<unsigned long long>(LONG_MAX) ? LONG_MAX : static_cast<long>(need);
}

// Adobe CMYK (inverted when an Adobe marker is present, as Photoshop writes it) to RGB, in place: 4 -> 3 channels.
void cmyk_to_rgb(std::vector<uint8_t>& px, size_t pixels, bool inverted) {
  for (size_t i = 0; i < pixels; ++i) {
    int c = px[4 * i], m = px[4 * i + 1], y = px[4 * i + 2], k = px[4 * i + 3];
    if (!inverted) {
      c = 255 - c, m = 255 - m, y = 255 - y, k = 255 - k;
    }
    px[3 * i] = static_cast<uint8_t>((c * k + 127) / 255);
    px[3 * i + 1] = static_cast<uint8_t>((m * k + 127) / 255);
    px[3 * i + 2] = static_cast<uint8_t>((y * k + 127) / 255);
  }
  px.resize(pixels * 3);
}

// The libjpeg calls, the only code a longjmp can leave: no object with a destructor is created between the setjmp
// and the last libjpeg call. Returns false with `unsupported` set when the colour space is not decoded.
bool run_libjpeg(JpegDecompressor& d, const uint8_t* data, size_t size, Image& img, const char*& unsupported) {
  jpeg_decompress_struct& c = d.cinfo;
  jpeg_create_decompress(&c);
  d.created = true;
  jpeg_mem_src(&c, data, static_cast<unsigned long>(size));
  jpeg_read_header(&c, TRUE);
  c.mem->max_memory_to_use = memory_budget(c);
  switch (c.num_components) {
    case 1: c.out_color_space = JCS_GRAYSCALE; break;
    case 3: c.out_color_space = JCS_RGB; break;
    case 4: c.out_color_space = JCS_CMYK; break;
    default: unsupported = "JPEG with a number of components other than 1, 3 or 4"; return false;
  }
  c.dct_method = JDCT_ISLOW;  // the accurate integer IDCT, PIL's default
  jpeg_start_decompress(&c);
  img.width = static_cast<int>(c.output_width);
  img.height = static_cast<int>(c.output_height);
  img.channels = c.output_components;
  const size_t stride = static_cast<size_t>(img.width) * img.channels;
  img.pixels.resize(stride * img.height);
  while (c.output_scanline < c.output_height) {
    JSAMPROW row = img.pixels.data() + stride * c.output_scanline;
    jpeg_read_scanlines(&c, &row, 1);
  }
  jpeg_finish_decompress(&c);
  return true;
}

}  // namespace

RawDecode decode_jpeg(const uint8_t* data, size_t size) {
  if (size > static_cast<size_t>(ULONG_MAX))
    return RawDecode::failure(DecodeStatus::TooLarge, "too much encoded data");
  JpegDecompressor d;
  d.cinfo.err = jpeg_std_error(&d.errors.mgr);
  d.errors.mgr.error_exit = stop_on_error;
  d.errors.mgr.emit_message = on_message;
  d.errors.mgr.output_message = ignore_output;
  Image img;
  const char* unsupported = nullptr;
  if (setjmp(d.errors.jump) != 0)
    return RawDecode::failure(status_for_jpeg_error(d.errors.code), std::string("JPEG decoder: ") + d.errors.message);
  if (!run_libjpeg(d, data, size, img, unsupported)) return RawDecode::failure(DecodeStatus::Unsupported, unsupported);
  if (img.width <= 0 || img.height <= 0)
    return RawDecode::failure(DecodeStatus::Corrupt, "JPEG decoder returned no pixels");
  if (img.channels == 4) {
    cmyk_to_rgb(img.pixels, static_cast<size_t>(img.width) * img.height, d.cinfo.saw_Adobe_marker != 0);
    img.channels = 3;
  }
  RawDecode out;
  out.frames.push_back(std::move(img));
  return out;
}

#else

RawDecode decode_jpeg(const uint8_t*, size_t) {
  return RawDecode::failure(DecodeStatus::Unsupported,
                            "JPEG: built without libjpeg-turbo (apt-get install libjpeg62-turbo-dev)");
}

#endif

}  // namespace vigil::data::detail
