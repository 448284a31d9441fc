/* An LD_PRELOAD shim that shifts this process's wall clock (CLOCK_REALTIME) by a signed
 * number of milliseconds, for the clock suites: a peer whose clock runs ahead or behind, or
 * whose clock jumps while it runs, with every other clock (CLOCK_MONOTONIC, CPU clocks) left
 * alone. It wraps clock_gettime, gettimeofday and time and nothing else. libfaketime cannot
 * be used because its start-up hooks leave Swift's CommandLine.arguments empty.
 *
 * The offset: CHORUS_CLOCK_OFFSET_FILE, when set, names a file holding the offset in ms
 * (decimal, signed), re-read at most every 50 ms of monotonic time, so a test can make the
 * wall clock jump forward or back by rewriting the file (write a new file and rename it
 * over the old one: a half-written number is never read). Otherwise CHORUS_CLOCK_OFFSET_MS,
 * read once. A missing or unreadable file keeps the last offset.
 * Build: gcc -shared -fPIC -O2 -o clockshift.so clockshift.c -ldl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

typedef int (*clock_gettime_fn)(clockid_t, struct timespec *);

static clock_gettime_fn real_clock_gettime(void) {
    static clock_gettime_fn fn;
    if (!fn) fn = (clock_gettime_fn)dlsym(RTLD_NEXT, "clock_gettime");
    return fn;
}

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* Reads the offset file with raw syscalls (no stdio, no allocation: this runs inside
 * clock_gettime, which any code may call). */
static int read_offset_file(const char *path, long long *ms) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    char buf[32];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return 0;
    buf[n] = 0;
    char *end;
    long long v = strtoll(buf, &end, 10);
    if (end == buf) return 0;
    *ms = v;
    return 1;
}

static long long offset_ns(void) {
    static int ready;
    static long long ns;
    static const char *file;
    static long long next_read_ns;
    pthread_mutex_lock(&lock);
    if (!ready) {
        file = getenv("CHORUS_CLOCK_OFFSET_FILE");
        const char *s = getenv("CHORUS_CLOCK_OFFSET_MS");
        ns = s ? atoll(s) * 1000000LL : 0;
        ready = 1;
    }
    if (file) {
        struct timespec mono;
        clock_gettime_fn real = real_clock_gettime();
        if (real && real(CLOCK_MONOTONIC, &mono) == 0) {
            long long now = (long long)mono.tv_sec * 1000000000LL + mono.tv_nsec;
            if (now >= next_read_ns) {
                long long ms;
                if (read_offset_file(file, &ms)) ns = ms * 1000000LL;
                next_read_ns = now + 50000000LL;
            }
        }
    }
    long long out = ns;
    pthread_mutex_unlock(&lock);
    return out;
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
