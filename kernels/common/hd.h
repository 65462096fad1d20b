// VIGIL_HD marks functions callable from host and device code (plain inline in CPU-only translation units).
#pragma once
#if defined(__CUDACC__)
#define VIGIL_HD __host__ __device__ __forceinline__
#else
#define VIGIL_HD inline
#endif
