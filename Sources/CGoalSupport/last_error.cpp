#include "goal_support.h"

#include <string>

namespace {
// One string per thread, freed when the thread exits.
thread_local std::string last_error;
}

extern "C" const char *goal_support_last_error(void) { return last_error.c_str(); }

extern "C" void goal_support_set_error(const char *message) {
    try {
        last_error.assign(message ? message : "");
    } catch (...) {
        // Out of memory while recording an error: keep a message that needs no allocation.
        last_error.clear();
    }
}
