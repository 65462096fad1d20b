# VIGIL_CUDA_EMULATION: the CUDA backend built from the real kernels/*/*_cuda.cu compiled as C++ and run on the CPU by
# vigil's emulator (kernels/common/emulation, docs/CUDA-EMULATION.md). Needs no GPU, CUDA toolkit or cuDNN.
# Included by VigilCuda.cmake instead of the toolkit detection; sets VIGIL_WITH_CUDA ON and VIGIL_WITH_CUDNN OFF.
if(VIGIL_CUDA STREQUAL "ON")
  message(FATAL_ERROR "vigil: VIGIL_CUDA_EMULATION=ON replaces the real CUDA build; it cannot be combined with "
                      "VIGIL_CUDA=ON (use -DVIGIL_CUDA=OFF or AUTO, or a separate build directory)")
endif()
if(VIGIL_CUDNN STREQUAL "ON")
  message(FATAL_ERROR "vigil: cuDNN is not emulated; VIGIL_CUDA_EMULATION=ON cannot be combined with VIGIL_CUDNN=ON")
endif()
if(NOT CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
  message(FATAL_ERROR "vigil: VIGIL_CUDA_EMULATION needs GCC or Clang (forced include, __builtin_FILE, __thread)")
endif()

set(VIGIL_WITH_CUDA ON)
set(VIGIL_WITH_CUDNN OFF)
set(VIGIL_CUDA_EMU_DIR ${CMAKE_CURRENT_LIST_DIR}/../kernels/common/emulation)
get_filename_component(VIGIL_CUDA_EMU_DIR ${VIGIL_CUDA_EMU_DIR} ABSOLUTE)
message(STATUS "vigil: CUDA EMULATION: *_cuda.cu run on the CPU (one fiber per CUDA thread); cuDNN instances skip, "
               "cuBLAS is a reference-loop stand-in")

# The emulator's runtime: fibers, scheduler, CUDA runtime API and cuBLAS stand-ins. Its include/ directory holds the
# stand-in cuda_runtime.h and cublas_v2.h, so it must never be on the include path of a real CUDA build.
function(vigil_add_cuda_emulation_runtime)
  add_library(vigil_cuda_emu STATIC ${VIGIL_CUDA_EMU_DIR}/emu_fiber.cpp ${VIGIL_CUDA_EMU_DIR}/emu_scheduler.cpp
                                    ${VIGIL_CUDA_EMU_DIR}/emu_runtime.cpp ${VIGIL_CUDA_EMU_DIR}/emu_cublas.cpp)
  target_include_directories(vigil_cuda_emu PUBLIC ${VIGIL_CUDA_EMU_DIR}/include)
  target_include_directories(vigil_cuda_emu PRIVATE ${VIGIL_CUDA_EMU_DIR}/../..)
  target_compile_definitions(vigil_cuda_emu PUBLIC VIGIL_CUDA_EMULATION=1)
  target_link_libraries(vigil_cuda_emu PUBLIC Threads::Threads)
endfunction()

# On x86-64 without -mfma every fmaf in a kernel is a libm call; the emulated tests run where they are built, so use
# the FMA instruction when this machine has it. -ffp-contract=off: a * b + c stays two roundings (nvcc would fuse).
set(VIGIL_CUDA_EMU_FLAGS -fno-strict-aliasing -ffp-contract=off -Wno-unknown-pragmas)
if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64")
  include(CheckCXXSourceRuns)
  check_cxx_source_runs("int main() { return __builtin_cpu_supports(\"fma\") ? 0 : 1; }" VIGIL_CUDA_EMU_HOST_FMA)
  if(VIGIL_CUDA_EMU_HOST_FMA)
    list(APPEND VIGIL_CUDA_EMU_FLAGS -mfma)
  endif()
endif()

# Compiles the given .cu files as C++ with the emulator's forced include (CUDA built-ins, VIGIL_LAUNCH's runtime).
# -fno-strict-aliasing: the kernels reinterpret float arrays as float4, which nvcc allows and C++ does not.
function(vigil_emulate_cuda_sources)
  set_source_files_properties(${ARGN} PROPERTIES LANGUAGE CXX COMPILE_OPTIONS
    "-include;${VIGIL_CUDA_EMU_DIR}/vigil_cuda_emu.h;${VIGIL_CUDA_EMU_FLAGS}")
endfunction()
