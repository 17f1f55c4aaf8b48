// Per-thread state of the C ABI, kept in C++ because Swift has no thread_local storage.
#ifndef GOAL_SUPPORT_H
#define GOAL_SUPPORT_H

#ifdef __cplusplus
extern "C" {
#endif

// The calling thread's last error text; "" when none. Valid until the thread's next
// goal_support_set_error call or its exit.
const char *goal_support_last_error(void);
// Replaces the calling thread's error text with a copy of `message` (NULL clears it).
void goal_support_set_error(const char *message);

#ifdef __cplusplus
}
#endif

#endif
