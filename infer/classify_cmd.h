// `vigil classify --model M.safetensors PATH...`: command-line front end of infer/classify.h.
#pragma once

namespace vigil::cli {
int run_classify(int argc, char** argv);
}
