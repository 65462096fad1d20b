// `vigil data export`: Fashion-MNIST (IDX) images written out as PNG files in class folders.
#pragma once

namespace vigil::cli {
int run_data(int argc, char** argv);
}
