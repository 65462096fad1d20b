// JPEG encoding through libjpeg-turbo (see encode_jpeg.h); libjpeg's errors longjmp back here and become vigil::Error
// (no C++ exception ever crosses libjpeg's C frames).
#include "data/encode_jpeg.h"

#include <csetjmp>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "common/error.h"

#if VIGIL_WITH_JPEG
#include <jpeglib.h>
#endif

namespace vigil::data {

#if VIGIL_WITH_JPEG
namespace {

struct JpegEncodeErrors {
  jpeg_error_mgr mgr;  // first member: libjpeg hands back a pointer to it
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

[[noreturn]] void jump_on_error(j_common_ptr cinfo) {
  auto* e = reinterpret_cast<JpegEncodeErrors*>(cinfo->err);
  cinfo->err->format_message(cinfo, e->message);
  std::longjmp(e->jump, 1);
}

// Owns the compressor and its output buffer on every path, including a longjmp out of libjpeg.
struct JpegCompressor {
  jpeg_compress_struct cinfo;
  JpegEncodeErrors errors;
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
  JpegCompressor() {
    cinfo.err = jpeg_std_error(&errors.mgr);
    errors.mgr.error_exit = jump_on_error;
    jpeg_create_compress(&cinfo);
  }
  ~JpegCompressor() {
    jpeg_destroy_compress(&cinfo);
    std::free(buffer);
  }
};

}  // namespace

std::vector<uint8_t> encode_jpeg(const Image& image, const JpegEncodeOptions& options) {
  VIGIL_CHECK(image.width > 0 && image.height > 0 && (image.channels == 1 || image.channels == 3) &&
                  image.pixels.size() == static_cast<size_t>(image.width) * image.height * image.channels,
              "encode_jpeg: needs a non-empty 1- or 3-channel image");
  JpegCompressor c;
  if (setjmp(c.errors.jump) != 0) VIGIL_FAIL("JPEG encoder: ", c.errors.message);
  jpeg_mem_dest(&c.cinfo, &c.buffer, &c.size);
  c.cinfo.image_width = static_cast<JDIMENSION>(image.width);
  c.cinfo.image_height = static_cast<JDIMENSION>(image.height);
  c.cinfo.input_components = image.channels;
  c.cinfo.in_color_space = image.channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_set_defaults(&c.cinfo);
  const int quality = options.quality;
  jpeg_set_quality(&c.cinfo, quality < 1 ? 1 : quality > 100 ? 100 : quality, TRUE);
  if (options.full_chroma && image.channels == 3)
    for (int k = 0; k < 3; ++k) c.cinfo.comp_info[k].h_samp_factor = c.cinfo.comp_info[k].v_samp_factor = 1;
  if (options.progressive) jpeg_simple_progression(&c.cinfo);
  jpeg_start_compress(&c.cinfo, TRUE);
  const size_t stride = static_cast<size_t>(image.width) * image.channels;
  while (c.cinfo.next_scanline < c.cinfo.image_height) {
    JSAMPROW row = const_cast<uint8_t*>(image.pixels.data()) + stride * c.cinfo.next_scanline;
    jpeg_write_scanlines(&c.cinfo, &row, 1);
  }
  jpeg_finish_compress(&c.cinfo);
  return std::vector<uint8_t>(c.buffer, c.buffer + c.size);
}

#else

std::vector<uint8_t> encode_jpeg(const Image&, const JpegEncodeOptions&) {
  VIGIL_CHECK(false, "encode_jpeg: built without libjpeg-turbo (apt-get install libjpeg62-turbo-dev)");
  return {};
}

#endif

}  // namespace vigil::data
