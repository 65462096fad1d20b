// `vigil info`: what this build and machine have (versions, GPUs or why none, threads).
#pragma once
#include <ostream>

namespace vigil::cli {
int run_info(std::ostream& out);
}
