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

# cpp-httplib for `vigil serve` (required). Debian's libcpp-httplib-dev is a declarations-only header plus the
# shared library libcpp-httplib.so, built with OpenSSL, zlib and Brotli support; code including the header must use
# the same CPPHTTPLIB_* switches (they change class layouts), which the package's pkg-config file lists.
find_path(VIGIL_HTTPLIB_INCLUDE httplib.h)
find_library(VIGIL_HTTPLIB_LIB cpp-httplib)
if(NOT VIGIL_HTTPLIB_INCLUDE OR NOT VIGIL_HTTPLIB_LIB)
  message(FATAL_ERROR "vigil: cpp-httplib not found (httplib.h: ${VIGIL_HTTPLIB_INCLUDE}, libcpp-httplib.so: "
                      "${VIGIL_HTTPLIB_LIB}); vigil serve needs it: apt-get install libcpp-httplib-dev")
endif()
set(_vigil_httplib_defs CPPHTTPLIB_OPENSSL_SUPPORT CPPHTTPLIB_ZLIB_SUPPORT CPPHTTPLIB_BROTLI_SUPPORT)  # Debian's build
find_package(PkgConfig QUIET)
if(PKG_CONFIG_FOUND)
  pkg_check_modules(VIGIL_HTTPLIB_PC QUIET cpp-httplib)
  if(VIGIL_HTTPLIB_PC_FOUND)
    set(_vigil_httplib_defs)
    foreach(_flag IN LISTS VIGIL_HTTPLIB_PC_CFLAGS_OTHER)
      if(_flag MATCHES "^-D(.+)$")
        list(APPEND _vigil_httplib_defs ${CMAKE_MATCH_1})
      endif()
    endforeach()
  endif()
endif()
add_library(vigil_httplib INTERFACE)
target_include_directories(vigil_httplib SYSTEM INTERFACE ${VIGIL_HTTPLIB_INCLUDE})
target_compile_definitions(vigil_httplib INTERFACE ${_vigil_httplib_defs})
target_link_libraries(vigil_httplib INTERFACE ${VIGIL_HTTPLIB_LIB} Threads::Threads)
message(STATUS "vigil: cpp-httplib ${VIGIL_HTTPLIB_LIB} (${_vigil_httplib_defs})")

if(VIGIL_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
