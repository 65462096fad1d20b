// Pieces shared by the batched inference commands (classify, evaluate): the decoding worker count, a parallel
// loop over a batch's items and the error text of a decode result without its path prefix.
#pragma once
#include <cstddef>
#include <functional>
#include <string>

namespace vigil::infer {

// Decoding threads when the user gives none: min(4, cores), at least 1.
int default_workers();

// Calls fn(i) for every i in [0, count) on up to `workers` threads (the calling thread included); each index is
// taken exactly once. fn must not throw.
void parallel_for_each(size_t count, int workers, const std::function<void(size_t)>& fn);

// "PATH: reason" -> "reason" (records name the path themselves); other text is returned as it is.
std::string error_reason(const std::string& error, const std::string& path);

}  // namespace vigil::infer
