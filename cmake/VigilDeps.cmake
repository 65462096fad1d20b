# Finds vigil's Debian-packaged dependencies; everything but the header-only ones is optional.
find_package(Threads REQUIRED)

find_package(OpenMP COMPONENTS CXX)
set(VIGIL_WITH_OPENMP ${OpenMP_CXX_FOUND})

# BLAS for the CPU GEMM: OpenBLAS (prefer the OpenMP build), else vigil's own blocked GEMM.
set(VIGIL_BLAS AUTO CACHE STRING "CPU BLAS: AUTO (OpenBLAS if found) or OFF (vigil's blocked GEMM)")
set(VIGIL_BLAS_NAME "builtin")
if(NOT VIGIL_BLAS STREQUAL "OFF")
  find_path(VIGIL_CBLAS_INCLUDE cblas.h
            PATH_SUFFIXES x86_64-linux-gnu/openblas-openmp aarch64-linux-gnu/openblas-openmp openblas-openmp
                          x86_64-linux-gnu/openblas-pthread aarch64-linux-gnu/openblas-pthread openblas)
  find_library(VIGIL_OPENBLAS_LIB NAMES openblas
               PATH_SUFFIXES x86_64-linux-gnu/openblas-openmp aarch64-linux-gnu/openblas-openmp
                             x86_64-linux-gnu/openblas-pthread aarch64-linux-gnu/openblas-pthread)
  if(VIGIL_CBLAS_INCLUDE AND VIGIL_OPENBLAS_LIB)
    add_library(vigil_blas INTERFACE)
    target_include_directories(vigil_blas INTERFACE ${VIGIL_CBLAS_INCLUDE})
    target_link_libraries(vigil_blas INTERFACE ${VIGIL_OPENBLAS_LIB})
    set(VIGIL_BLAS_NAME "OpenBLAS")
    message(STATUS "vigil: OpenBLAS ${VIGIL_OPENBLAS_LIB}")
  else()
    message(STATUS "vigil: OpenBLAS not found (apt-get install libopenblas-openmp-dev): using vigil's blocked GEMM")
  endif()
endif()

find_package(nlohmann_json 3 REQUIRED)   # header-only (nlohmann-json3-dev)

find_path(VIGIL_STB_INCLUDE stb_image.h PATH_SUFFIXES stb)
if(NOT VIGIL_STB_INCLUDE)
  message(STATUS "vigil: stb_image.h not found (apt-get install libstb-dev); image decoding disabled")
endif()

if(VIGIL_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
