// Ctrl-C / SIGTERM during training: the first signal asks the loop to save a checkpoint and stop cleanly; a
// second one exits at once (the last checkpoint on disk stays valid because writes are atomic).
#pragma once

namespace vigil::train {

// Installs the handlers for the lifetime of the object and restores the previous ones afterwards.
class StopOnSignal {
 public:
  StopOnSignal();
  ~StopOnSignal();
  StopOnSignal(const StopOnSignal&) = delete;
  StopOnSignal& operator=(const StopOnSignal&) = delete;
  bool requested() const;
  int signal_number() const;  // the signal received (0 if none)
};

}  // namespace vigil::train
