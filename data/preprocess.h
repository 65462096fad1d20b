// Resize (bilinear, antialiased when shrinking, or area averaging), centre crop, shorter-side resize, and the model
// recipe: Image -> (C, H, W) floats normalised with mean/std. The resampling is PIL's (separable convolution with
// the filter stretched by the scale factor when shrinking, 22-bit fixed-point weights, rounding to uint8 after each
// pass), which torchvision's Resize uses for PIL images, so results match PIL byte for byte.
#pragma once
#include <vector>

#include "data/image.h"
#include "nn/model_spec.h"

namespace vigil::data {

Image resize_bilinear(const Image& in, int width, int height);  // antialiased when shrinking (PIL BILINEAR)
Image resize_area(const Image& in, int width, int height);      // box filter: the area average (PIL BOX)
// torchvision Resize(int): the shorter side becomes `shorter`, the longer int(shorter * long / short).
Image resize_shorter_side(const Image& in, int shorter, bool area);
// torchvision CenterCrop: offsets round((size - crop) / 2) half to even; a crop larger than the image pads with 0.
Image center_crop(const Image& in, int width, int height);

// Applies spec.preprocess (resize/crop/interpolation, mean/std) for spec.input; out: (C, H, W) floats
// ((pixel/255 - mean) / std, in float32 like torchvision's ToTensor + Normalize). Image channels must equal
// spec.input.channels. Throws vigil::Error for a mismatched image or an unusable recipe.
void preprocess_image(const Image& img, const ModelSpec& spec, float* out);
std::vector<float> preprocess_image(const Image& img, const ModelSpec& spec);

// The decoding options a model's recipe implies: its channel count and the alpha background ("white"/"black"),
// so training, classify, evaluate and serve all turn the same bytes into the same tensor.
DecodeOptions decode_options_for(const ModelSpec& spec);

}  // namespace vigil::data
