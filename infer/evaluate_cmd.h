// `vigil evaluate`: option parsing and help for the evaluation of a model on labelled images.
#pragma once

namespace vigil::cli {
int run_evaluate(int argc, char** argv);
}  // namespace vigil::cli
