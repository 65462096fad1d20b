// Signal handling for training. The received signal lives in one sig_atomic_t: a signal handler can touch
// nothing else, so this is the process's single piece of signal state.
#include "train/signals.h"

#include <csignal>
#include <unistd.h>

namespace vigil::train {
namespace {
volatile std::sig_atomic_t g_signal = 0;
struct sigaction g_old_int, g_old_term;

void on_signal(int sig) {
  if (g_signal != 0) _exit(128 + sig);  // second signal: stop now
  g_signal = sig;
  const char msg[] = "\nvigil: stopping after this step (saving a checkpoint); signal again to quit at once\n";
  ssize_t ignored = write(STDERR_FILENO, msg, sizeof(msg) - 1);
  (void)ignored;
}
}  // namespace

StopOnSignal::StopOnSignal() {
  g_signal = 0;
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &g_old_int);
  sigaction(SIGTERM, &sa, &g_old_term);
}

StopOnSignal::~StopOnSignal() {
  sigaction(SIGINT, &g_old_int, nullptr);
  sigaction(SIGTERM, &g_old_term, nullptr);
}

bool StopOnSignal::requested() const { return g_signal != 0; }
int StopOnSignal::signal_number() const { return g_signal; }

}  // namespace vigil::train
