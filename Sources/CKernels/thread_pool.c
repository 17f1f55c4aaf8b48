// The engine's worker pool: see thread_pool.h.
//
// Every run has a sequence number. It publishes its task, then stores its number in the slot of
// each worker it wants as a helper (waking those asleep), and then every participant, the caller
// included, claims chunks until none are left. A claim is a compare-and-swap on one word that
// holds the run's number and its next chunk, so a helper that arrives after its run has ended
// claims nothing and touches nothing: the caller waits only for chunks under way, never for a
// helper that has yet to start (on a shared machine one may not run for milliseconds).
// A worker that finds no new number in its slot polls for a while (kSpinNanoseconds) and then
// sleeps on a futex of the slot; a run wakes only the sleepers.
#define _GNU_SOURCE
#include "thread_pool.h"

#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
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
    _Atomic unsigned generation;   // the number of the last run that asked for this worker
    _Atomic int sleeping;
    unsigned generation_at_start;  // read by the worker: runs published before it starts count
    pthread_t thread;
} __attribute__((aligned(64)));

static struct {
    pthread_mutex_t lock;  // held by the one caller the pool serves at a time
    int workers;           // started and not stopped
    int worker_limit;      // cores this process may use, less the caller's; -1 until known
    unsigned sequence;     // the last run's number (never 0)
    // The run's task. Written only between runs; a helper may read a later run's values after
    // its own run has ended, and then its claim fails and it discards them.
    _Atomic(goal_pool_task) task;
    _Atomic(void *) context;
    _Atomic long chunks;
    _Atomic uint64_t claim __attribute__((aligned(64)));  // run number << 32 | next chunk
    _Atomic long finished __attribute__((aligned(64)));   // chunks of the run done
    _Atomic int stopping;
    struct slot slots[kMaxWorkers];
} pool = {.lock = PTHREAD_MUTEX_INITIALIZER, .worker_limit = -1};

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

// Runs chunks of run `sequence` until it has none left to hand out.
static void claim_chunks(unsigned sequence) {
    for (;;) {
        uint64_t word = atomic_load_explicit(&pool.claim, memory_order_acquire);
        if ((unsigned)(word >> 32) != sequence) return;
        long chunk = (long)(word & 0xffffffffu);
        goal_pool_task task = atomic_load_explicit(&pool.task, memory_order_relaxed);
        void *context = atomic_load_explicit(&pool.context, memory_order_relaxed);
        if (chunk >= atomic_load_explicit(&pool.chunks, memory_order_relaxed)) return;
        if (!atomic_compare_exchange_weak_explicit(&pool.claim, &word, word + 1, memory_order_acquire,
                                                   memory_order_relaxed))
            continue;
        task(context, chunk);
        atomic_fetch_add_explicit(&pool.finished, 1, memory_order_release);
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
        // Announce the sleep before the last look, and a run stores its number before it looks
        // for sleepers: one of the two sees the other (both sequentially consistent).
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
        claim_chunks(seen);
    }
}

static int usable_cores(void) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) return CPU_COUNT(&set);
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    return online > 0 ? (int)online : 1;
}

// Starts workers until there are `wanted` (at most one per core besides the caller's); returns
// how many there are. Called with the lock held, on every run: the cores are counted once.
static int start_workers(int wanted) {
    if (pool.workers >= wanted) return pool.workers;
    if (pool.worker_limit < 0) {
        int limit = usable_cores() - 1;
        pool.worker_limit = limit < 0 ? 0 : (limit > kMaxWorkers ? kMaxWorkers : limit);
    }
    if (wanted > pool.worker_limit) wanted = pool.worker_limit;
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
    if (chunks > 0xffffffffL) return -1;  // the claim word holds a 32-bit chunk index
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
    unsigned sequence = ++pool.sequence;
    if (sequence == 0) sequence = ++pool.sequence;
    atomic_store_explicit(&pool.task, task, memory_order_relaxed);
    atomic_store_explicit(&pool.context, context, memory_order_relaxed);
    atomic_store_explicit(&pool.chunks, chunks, memory_order_relaxed);
    atomic_store_explicit(&pool.finished, 0, memory_order_relaxed);
    atomic_store_explicit(&pool.claim, (uint64_t)sequence << 32, memory_order_release);
    for (int i = 0; i < helpers; i++) {
        struct slot *slot = &pool.slots[i];
        atomic_store(&slot->generation, sequence);  // sequentially consistent, see wait_for_work
        if (atomic_load(&slot->sleeping)) futex_wake(&slot->generation);
    }
    claim_chunks(sequence);
    // Only chunks that helpers have started remain; they end about when the caller's last did.
    for (unsigned spins = 1; atomic_load_explicit(&pool.finished, memory_order_acquire) != chunks; spins++) {
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
    pool.worker_limit = -1;  // the child may run on other cores
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
        atomic_fetch_add(&pool.slots[i].generation, 1);  // a number no run has: wakes it to stop
        futex_wake(&pool.slots[i].generation);
    }
    for (int i = 0; i < pool.workers; i++) pthread_join(pool.slots[i].thread, NULL);
    pool.workers = 0;
    pthread_mutex_unlock(&pool.lock);
}
