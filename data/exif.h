// EXIF orientation: the tag read from a TIFF-structured EXIF block (as found in JPEG APP1, PNG eXIf and WebP EXIF)
// with every offset bounds-checked, and the rotation/flip that displays an image upright.
#pragma once
#include <cstddef>
#include <cstdint>

#include "data/image.h"

namespace vigil::data {

// Orientation 1..8 from an EXIF block (a TIFF header, optionally preceded by "Exif\0\0"); 1 when the block is
// malformed or has no valid orientation tag. Reads only IFD0, so no offset chain is followed.
int exif_orientation(const uint8_t* data, size_t size);

// The image as it should be displayed for EXIF orientation 1..8 (2: mirror, 3: 180 degrees, 4: flip, 5: transpose,
// 6: rotate 90 clockwise, 7: transverse, 8: rotate 90 counter-clockwise); other values return a copy.
Image apply_orientation(const Image& stored, int orientation);

}  // namespace vigil::data
