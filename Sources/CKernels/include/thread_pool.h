// A small pool of worker threads that the engine's parallel loops hand work to. A run hands
// chunks out to the calling thread and to workers that are already awake: after a run a worker
// keeps polling for the next one for a short while before it sleeps, so the dozens of parallel
// steps of one model run each start in well under a microsecond instead of paying a thread
// wake-up each.
#ifndef GOAL_THREAD_POOL_H
#define GOAL_THREAD_POOL_H

#ifdef __cplusplus
extern "C" {
#endif

typedef void (*goal_pool_task)(void *context, long chunk);

// Runs task(context, c) once for every c in 0 ..< chunks, on the calling thread and on up to
// threads - 1 workers (never more workers than the machine has cores besides the caller's, nor
// than chunks - 1), each taking the next chunk as it finishes one, and returns when all have
// returned. Returns 0 when it did so; -1, having run nothing, when the pool
// is serving another caller (or this call comes from inside a task) or no worker thread could be
// started, so that the caller runs the chunks some other way.
int goal_pool_run(long chunks, int threads, goal_pool_task task, void *context);

// Worker threads started so far (for tests).
int goal_pool_worker_count(void);

#ifdef __cplusplus
}
#endif

#endif
