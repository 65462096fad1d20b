// The decoding entry points: file reading with the size limit checked first, format dispatch from the magic
// bytes, conversion of every decoder's output to RGB or grayscale with alpha composited onto the background, EXIF
// orientation, and one error message shape, "<name>: <status>: <reason>". No exception escapes.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <exception>
#include <new>
#include <string>
#include <system_error>
#include <vector>

#include "common/error.h"
#include "data/decode_formats.h"
#include "data/exif.h"
#include "data/image.h"

namespace vigil::data {
namespace {

using detail::RawDecode;

// (c * a + bg * (255 - a)) / 255, rounded to nearest: exact for every input byte triple.
inline uint8_t blend(uint32_t c, uint32_t a, uint32_t bg) {
  const uint32_t t = c * a + bg * (255 - a) + 128;
  return static_cast<uint8_t>((t + (t >> 8)) >> 8);
}

// ITU-R 601 luma in 16-bit fixed point with rounding, the formula of PIL's convert("L").
inline uint8_t luma(uint32_t r, uint32_t g, uint32_t b) {
  return static_cast<uint8_t>((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16);
}

// A decoder's 1..4-channel pixels as the requested 1 or 3 channels; alpha is composited onto the background.
Image to_output(Image&& raw, const DecodeOptions& o) {
  const int n = raw.channels, c = o.channels;
  if (n == c) return std::move(raw);
  Image out;
  out.width = raw.width;
  out.height = raw.height;
  out.channels = c;
  const size_t count = static_cast<size_t>(raw.width) * raw.height;
  out.pixels.resize(count * c);
  const uint8_t* in = raw.pixels.data();
  uint8_t* dst = out.pixels.data();
  const uint8_t* bg = o.background;
  for (size_t i = 0; i < count; ++i, in += n) {
    uint32_t r, g, b;
    if (n == 1) {
      r = g = b = in[0];
    } else if (n == 2) {
      r = blend(in[0], in[1], bg[0]);
      g = blend(in[0], in[1], bg[1]);
      b = blend(in[0], in[1], bg[2]);
    } else if (n == 3) {
      r = in[0];
      g = in[1];
      b = in[2];
    } else {
      r = blend(in[0], in[3], bg[0]);
      g = blend(in[1], in[3], bg[1]);
      b = blend(in[2], in[3], bg[2]);
    }
    if (c == 3) {
      dst[0] = static_cast<uint8_t>(r);
      dst[1] = static_cast<uint8_t>(g);
      dst[2] = static_cast<uint8_t>(b);
      dst += 3;
    } else {
      *dst++ = luma(r, g, b);
    }
  }
  return out;
}

RawDecode decode_raw(const uint8_t* data, size_t size, const DecodeOptions& o, bool all_frames, ImageFormat& format,
                     const detail::RawFrameSink* sink = nullptr) {
  if (o.channels != 1 && o.channels != 3)
    return RawDecode::failure(DecodeStatus::Unsupported,
                              "DecodeOptions.channels must be 1 or 3, not " + std::to_string(o.channels));
  if (data == nullptr || size == 0) return RawDecode::failure(DecodeStatus::Empty, "no bytes");
  if (size > o.limits.max_file_bytes)
    return RawDecode::failure(DecodeStatus::TooLarge, std::to_string(size) + " bytes, over the limit of " +
                                                          std::to_string(o.limits.max_file_bytes));
  format = sniff_format(data, size);
  detail::ContainerInfo info;
  RawDecode checked;
  switch (format) {
    case ImageFormat::Jpeg: checked = detail::precheck_jpeg(data, size, o.limits, info); break;
    case ImageFormat::Png: checked = detail::precheck_png(data, size, o.limits, info); break;
    case ImageFormat::Bmp: checked = detail::precheck_bmp(data, size, o.limits, info); break;
    case ImageFormat::Gif: return detail::decode_gif(data, size, o.limits, all_frames, sink);
    case ImageFormat::Webp: return detail::decode_webp(data, size, o.limits, all_frames, sink);
    case ImageFormat::Unknown:
      if (detail::is_partial_signature(data, size))
        return RawDecode::failure(DecodeStatus::Truncated,
                                  "only " + std::to_string(size) + " bytes, cut off inside an image signature");
      return RawDecode::failure(DecodeStatus::Unsupported,
                                "not a JPEG, PNG, BMP, GIF or WebP image (looks like " +
                                    detail::describe_unknown(data, size) + ")");
  }
  if (!checked.ok()) return checked;
  RawDecode decoded = format == ImageFormat::Jpeg ? detail::decode_jpeg(data, size)
                                                 : detail::decode_with_stb(data, size, format);
  decoded.orientation = info.orientation;
  return decoded;
}

// Decodes and converts every frame; the failure message is complete ("<name>: <status>: <reason>").
FramesResult decode_frames_impl(const uint8_t* data, size_t size, const std::string& name, const DecodeOptions& o,
                                bool all_frames) {
  FramesResult result;
  try {
    RawDecode raw = decode_raw(data, size, o, all_frames, result.format);
    if (!raw.ok()) {
      result.status = raw.status;
      result.error = name + ": " + status_name(raw.status) + ": " + raw.reason;
      return result;
    }
    const int orientation = o.apply_exif_orientation ? raw.orientation : 1;
    result.frames.reserve(raw.frames.size());
    for (Image& frame : raw.frames) {
      Image img = to_output(std::move(frame), o);
      if (orientation != 1) img = apply_orientation(img, orientation);
      result.frames.push_back(std::move(img));
    }
  } catch (const std::bad_alloc&) {
    result = FramesResult{};
    result.status = DecodeStatus::TooLarge;
    result.error = name + ": too_large: out of memory while decoding";
  } catch (const std::exception& e) {
    result = FramesResult{};
    result.status = DecodeStatus::Corrupt;
    result.error = name + ": corrupt: " + user_message(e);
  }
  return result;
}

// Streams the frames through on_frame, converted as decode_frames_impl converts them; see scan_frames_memory.
FrameScan scan_frames_impl(const uint8_t* data, size_t size, const std::string& name, const DecodeOptions& o,
                           const FrameVisitor& on_frame) {
  FrameScan scan;
  std::exception_ptr visitor_failure;
  const detail::RawFrameSink sink = [&](Image&& raw, int orientation) {
    Image img = to_output(std::move(raw), o);
    if (o.apply_exif_orientation && orientation != 1) img = apply_orientation(img, orientation);
    const int index = scan.frames++;
    try {
      scan.stopped = !on_frame(std::move(img), index);
    } catch (...) {
      visitor_failure = std::current_exception();
      scan.stopped = true;
    }
    return !scan.stopped;
  };
  try {
    RawDecode raw = decode_raw(data, size, o, true, scan.format, &sink);
    // Stills (and decoders without a sink path) hand their frames back in raw.frames.
    for (Image& frame : raw.frames) {
      if (scan.stopped || !raw.ok()) break;
      sink(std::move(frame), raw.orientation);
    }
    if (!raw.ok()) {
      scan.status = raw.status;
      scan.error = name + ": " + status_name(raw.status) + ": " + raw.reason;
    }
  } catch (const std::bad_alloc&) {
    scan.status = DecodeStatus::TooLarge;
    scan.error = name + ": too_large: out of memory while decoding";
  } catch (const std::exception& e) {
    scan.status = DecodeStatus::Corrupt;
    scan.error = name + ": corrupt: " + user_message(e);
  }
  if (visitor_failure) std::rethrow_exception(visitor_failure);
  return scan;
}

struct FileBytes {
  DecodeStatus status = DecodeStatus::Ok;
  std::string reason;
  std::vector<uint8_t> bytes;
};

std::string errno_text(int err) { return std::generic_category().message(err); }

// Reads a regular file whole, after checking its size; never blocks on FIFOs or devices.
FileBytes read_file(const std::string& path, const DecodeLimits& limits) {
  FileBytes f;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    f.status = DecodeStatus::IoError;
    f.reason = "cannot open: " + errno_text(errno);
    return f;
  }
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{fd};
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    f.status = DecodeStatus::IoError;
    f.reason = "cannot stat: " + errno_text(errno);
  } else if (S_ISDIR(st.st_mode)) {
    f.status = DecodeStatus::IoError;
    f.reason = "is a directory";
  } else if (!S_ISREG(st.st_mode)) {
    f.status = DecodeStatus::IoError;
    f.reason = "not a regular file";
  } else if (st.st_size == 0) {
    f.status = DecodeStatus::Empty;
    f.reason = "the file has 0 bytes";
  } else if (static_cast<uint64_t>(st.st_size) > limits.max_file_bytes) {
    f.status = DecodeStatus::TooLarge;
    f.reason = "the file has " + std::to_string(st.st_size) + " bytes, over the limit of " +
               std::to_string(limits.max_file_bytes);
  }
  if (f.status != DecodeStatus::Ok) return f;
  f.bytes.resize(static_cast<size_t>(st.st_size));
  size_t done = 0;
  while (done < f.bytes.size()) {
    const ssize_t n = ::read(fd, f.bytes.data() + done, f.bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      f.status = DecodeStatus::IoError;
      f.reason = "read failed: " + errno_text(errno);
      return f;
    }
    if (n == 0) {
      f.status = DecodeStatus::IoError;
      f.reason = "the file shrank while being read";
      return f;
    }
    done += static_cast<size_t>(n);
  }
  return f;
}

FramesResult decode_file_impl(const std::string& path, const DecodeOptions& o, bool all_frames) {
  FileBytes file;
  try {
    file = read_file(path, o.limits);
  } catch (const std::bad_alloc&) {
    file.status = DecodeStatus::TooLarge;
    file.reason = "out of memory while reading";
  }
  if (file.status != DecodeStatus::Ok) {
    FramesResult r;
    r.status = file.status;
    r.error = path + ": " + status_name(file.status) + ": " + file.reason;
    return r;
  }
  return decode_frames_impl(file.bytes.data(), file.bytes.size(), path, o, all_frames);
}

DecodeResult first_frame(FramesResult&& frames) {
  DecodeResult r;
  r.status = frames.status;
  r.error = std::move(frames.error);
  r.format = frames.format;
  if (frames.ok() && !frames.frames.empty()) r.image = std::move(frames.frames.front());
  return r;
}

}  // namespace

DecodeResult decode_memory(const uint8_t* data, size_t size, const std::string& name, const DecodeOptions& o) {
  return first_frame(decode_frames_impl(data, size, name, o, false));
}

DecodeResult decode_file(const std::string& path, const DecodeOptions& o) {
  return first_frame(decode_file_impl(path, o, false));
}

FramesResult decode_frames_memory(const uint8_t* data, size_t size, const std::string& name, const DecodeOptions& o) {
  return decode_frames_impl(data, size, name, o, true);
}

FramesResult decode_frames_file(const std::string& path, const DecodeOptions& o) {
  return decode_file_impl(path, o, true);
}

FrameScan scan_frames_memory(const uint8_t* data, size_t size, const std::string& name, const DecodeOptions& o,
                             const FrameVisitor& on_frame) {
  return scan_frames_impl(data, size, name, o, on_frame);
}

}  // namespace vigil::data
