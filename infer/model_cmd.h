// `vigil model show seed|default|fmnist|FILE`: the layer table of a preset, a definition file or a model file.
#pragma once

namespace vigil::cli {
int run_model(int argc, char** argv);
}
