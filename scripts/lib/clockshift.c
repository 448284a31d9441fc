/* An LD_PRELOAD shim that shifts this process's wall clock (CLOCK_REALTIME) by
 * CHORUS_CLOCK_OFFSET_MS milliseconds (signed), for the clock-offset suite: a peer whose
 * clock runs ahead or behind, with every other clock (CLOCK_MONOTONIC, CPU clocks) left
 * alone. It wraps clock_gettime, gettimeofday and time and nothing else, and reads its
 * setting lazily on first use: libfaketime cannot be used because its start-up hooks
 * leave Swift's CommandLine.arguments empty.
 * Build: gcc -shared -fPIC -O2 -o clockshift.so clockshift.c -ldl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>

typedef int (*clock_gettime_fn)(clockid_t, struct timespec *);

static clock_gettime_fn real_clock_gettime(void) {
    static clock_gettime_fn fn;
    if (!fn) fn = (clock_gettime_fn)dlsym(RTLD_NEXT, "clock_gettime");
    return fn;
}

static long long offset_ns(void) {
    static int ready;
    static long long ns;
    if (!ready) {
        const char *s = getenv("CHORUS_CLOCK_OFFSET_MS");
        ns = s ? atoll(s) * 1000000LL : 0;
        ready = 1;
    }
    return ns;
}

static void shift(struct timespec *ts) {
    long long t = (long long)ts->tv_sec * 1000000000LL + ts->tv_nsec + offset_ns();
    ts->tv_sec = (time_t)(t / 1000000000LL);
    ts->tv_nsec = (long)(t % 1000000000LL);
    if (ts->tv_nsec < 0) { ts->tv_nsec += 1000000000L; ts->tv_sec -= 1; }
}

int clock_gettime(clockid_t id, struct timespec *ts) {
    clock_gettime_fn real = real_clock_gettime();
    if (!real) return -1;
    int r = real(id, ts);
    if (r == 0 && (id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE)) shift(ts);
    return r;
}

int gettimeofday(struct timeval *tv, void *tz) {
    (void)tz;
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0) return -1;
    tv->tv_sec = ts.tv_sec;
    tv->tv_usec = ts.tv_nsec / 1000;
    return 0;
}

time_t time(time_t *out) {
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0) return (time_t)-1;
    if (out) *out = ts.tv_sec;
    return ts.tv_sec;
}
