// The engine's worker pool: see thread_pool.h.
//
// Each worker owns a slot with a generation counter. A run publishes the task, bumps the
// generation of as many slots as it needs helpers, and then every participant, the caller
// included, claims chunks from one shared counter until none are left. A worker that finds no new
// generation polls for a while (kSpinNanoseconds) and then sleeps on a futex of its own counter;
// the run wakes only the sleepers. Only the caller that holds `lock` touches the task fields, and
// it waits until every helper it woke has finished before it lets go, so workers read them
// without further locking.
#define _GNU_SOURCE
#include "thread_pool.h"

#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

enum { kMaxWorkers = 63 };

// How long an idle worker polls before it sleeps. Between two parallel steps of a model run the
// calling thread does small serial work (reshapes, small normalisations) for tens to hundreds of
// microseconds; a millisecond covers that with room, and costs one core that long after the last
// step of a run.
static const long kSpinNanoseconds = 1000000;

struct slot {
    _Atomic unsigned generation;
    _Atomic int sleeping;
    unsigned generation_at_start;  // read by the worker: runs published before it starts count
    pthread_t thread;
} __attribute__((aligned(64)));

static struct {
    pthread_mutex_t lock;  // held by the one caller the pool serves at a time
    int workers;           // started and not stopped
    goal_pool_task task;
    void *context;
    long chunks;
    _Atomic long next_chunk __attribute__((aligned(64)));
    _Atomic int busy_helpers __attribute__((aligned(64)));
    _Atomic int stopping;
    struct slot slots[kMaxWorkers];
} pool = {.lock = PTHREAD_MUTEX_INITIALIZER};

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static long monotonic_nanoseconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long)t.tv_sec * 1000000000L + t.tv_nsec;
}

static void futex_wait(_Atomic unsigned *word, unsigned expected) {
    syscall(SYS_futex, (unsigned *)word, FUTEX_WAIT_PRIVATE, expected, NULL, NULL, 0);
}

static void futex_wake(_Atomic unsigned *word) {
    syscall(SYS_futex, (unsigned *)word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static void claim_chunks(void) {
    for (;;) {
        long c = atomic_fetch_add_explicit(&pool.next_chunk, 1, memory_order_relaxed);
        if (c >= pool.chunks) return;
        pool.task(pool.context, c);
    }
}

// Returns the slot's generation once it differs from `seen`: polling first, then asleep.
static unsigned wait_for_work(struct slot *slot, unsigned seen) {
    long deadline = monotonic_nanoseconds() + kSpinNanoseconds;
    for (unsigned spins = 1;; spins++) {
        unsigned now = atomic_load_explicit(&slot->generation, memory_order_acquire);
        if (now != seen) return now;
        if (spins % 256 == 0 && monotonic_nanoseconds() > deadline) break;
        cpu_relax();
    }
    for (;;) {
        // Announce the sleep before the last look, and the run bumps the generation before it
        // looks for sleepers: one of the two sees the other (both sequentially consistent).
        atomic_store(&slot->sleeping, 1);
        unsigned now = atomic_load(&slot->generation);
        if (now == seen) futex_wait(&slot->generation, seen);
        atomic_store(&slot->sleeping, 0);
        now = atomic_load_explicit(&slot->generation, memory_order_acquire);
        if (now != seen) return now;
    }
}

static void *worker_main(void *argument) {
    struct slot *slot = argument;
    unsigned seen = slot->generation_at_start;
    for (;;) {
        seen = wait_for_work(slot, seen);
        if (atomic_load(&pool.stopping)) return NULL;
        claim_chunks();
        atomic_fetch_sub_explicit(&pool.busy_helpers, 1, memory_order_release);
    }
}

static int usable_cores(void) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) return CPU_COUNT(&set);
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    return online > 0 ? (int)online : 1;
}

// Starts workers until there are `wanted` (at most one per core besides the caller's); returns
// how many there are. Called with the lock held.
static int start_workers(int wanted) {
    int limit = usable_cores() - 1;
    if (limit > kMaxWorkers) limit = kMaxWorkers;
    if (wanted > limit) wanted = limit;
    if (pool.workers >= wanted) return pool.workers;
    // Workers take no signals: those belong to the host's own threads.
    sigset_t all, previous;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &previous);
    while (pool.workers < wanted) {
        struct slot *slot = &pool.slots[pool.workers];
        slot->generation_at_start = atomic_load(&slot->generation);
        if (pthread_create(&slot->thread, NULL, worker_main, slot) != 0) break;
        pool.workers++;
    }
    pthread_sigmask(SIG_SETMASK, &previous, NULL);
    return pool.workers;
}

int goal_pool_run(long chunks, int threads, goal_pool_task task, void *context) {
    if (chunks <= 0) return 0;
    if (pthread_mutex_trylock(&pool.lock) != 0) return -1;
    long wanted = chunks - 1;
    if (wanted > threads - 1) wanted = threads - 1;
    if (wanted > kMaxWorkers) wanted = kMaxWorkers;
    if (wanted < 0) wanted = 0;
    int helpers = start_workers((int)wanted);
    if (helpers > wanted) helpers = (int)wanted;
    if (helpers == 0 && wanted > 0) {
        pthread_mutex_unlock(&pool.lock);
        return -1;
    }
    pool.task = task;
    pool.context = context;
    pool.chunks = chunks;
    atomic_store_explicit(&pool.next_chunk, 0, memory_order_relaxed);
    atomic_store_explicit(&pool.busy_helpers, helpers, memory_order_relaxed);
    for (int i = 0; i < helpers; i++) {
        struct slot *slot = &pool.slots[i];
        atomic_fetch_add(&slot->generation, 1);  // sequentially consistent: publishes the task
        if (atomic_load(&slot->sleeping)) futex_wake(&slot->generation);
    }
    claim_chunks();
    // The helpers finish their last chunk about when the caller does, unless one had to be woken.
    for (unsigned spins = 1; atomic_load_explicit(&pool.busy_helpers, memory_order_acquire) != 0; spins++) {
        if (spins % 1024 == 0) sched_yield(); else cpu_relax();
    }
    pthread_mutex_unlock(&pool.lock);
    return 0;
}

int goal_pool_worker_count(void) {
    pthread_mutex_lock(&pool.lock);
    int n = pool.workers;
    pthread_mutex_unlock(&pool.lock);
    return n;
}

// A forked child has only the thread that forked: it starts its own workers when it needs them.
static void forget_workers_in_child(void) {
    pthread_mutex_init(&pool.lock, NULL);
    pool.workers = 0;
    for (int i = 0; i < kMaxWorkers; i++) {
        atomic_store(&pool.slots[i].generation, 0);
        atomic_store(&pool.slots[i].sleeping, 0);
    }
}

__attribute__((constructor)) static void register_fork_handler(void) {
    pthread_atfork(NULL, NULL, forget_workers_in_child);
}

// When the library is unloaded (dlclose), its workers must not outlive its code.
__attribute__((destructor)) static void stop_workers(void) {
    pthread_mutex_lock(&pool.lock);
    atomic_store(&pool.stopping, 1);
    for (int i = 0; i < pool.workers; i++) {
        atomic_fetch_add(&pool.slots[i].generation, 1);
        futex_wake(&pool.slots[i].generation);
    }
    for (int i = 0; i < pool.workers; i++) pthread_join(pool.slots[i].thread, NULL);
    pool.workers = 0;
    pthread_mutex_unlock(&pool.lock);
}
