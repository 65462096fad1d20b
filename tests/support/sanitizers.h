// VIGIL_UNDER_ASAN: 1 when this binary is built with AddressSanitizer, for the few tests whose measurement ASan
// changes (its quarantine keeps freed memory resident, so resident memory grows with the request count).
#pragma once

#if defined(__SANITIZE_ADDRESS__)
#define VIGIL_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define VIGIL_UNDER_ASAN 1
#endif
#endif
#ifndef VIGIL_UNDER_ASAN
#define VIGIL_UNDER_ASAN 0
#endif
