// `vigil serve --model M.safetensors [--host H --port P ...]`: command-line front end of infer/serve.h.
#pragma once

namespace vigil::cli {
int run_serve(int argc, char** argv);
}
