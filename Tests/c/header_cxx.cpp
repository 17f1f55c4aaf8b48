// goal.h must compile as C++ and declare its functions with C linkage: this links against
// libgoal.so only if the names are not mangled.
#include "goal.h"

#include <cstdio>
#include <cstring>

int main() {
    goal_options *options = nullptr;
    if (goal_options_new(&options) != GOAL_OK) return 1;
    goal_options_free(options);
    bool same = std::strcmp(goal_version(), GOAL_VERSION_STRING) == 0;
    std::printf("%d passed, %d failed\n", same ? 1 : 0, same ? 0 : 1);
    return same ? 0 : 1;
}
