// What Swift's Glibc module does not export: epoll, eventfd, thread names (prctl), and the CPU's CRC-32C
// instruction (used by Storage when present; portable table code otherwise).
#ifndef CHORUS_CSYSTEM_H
#define CHORUS_CSYSTEM_H
#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>

/// Names the calling thread (the first 15 bytes), as top -H and perf show it.
static inline void chorus_set_thread_name(const char *name) {
    prctl(PR_SET_NAME, (unsigned long)name, 0, 0, 0);
}

#if defined(__x86_64__)
#include <cpuid.h>

/// 1 when the CPU has SSE 4.2 (the crc32 instruction), else 0.
static inline int chorus_crc32c_hardware_available(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    return (c & bit_SSE4_2) != 0;
}

/// Raw CRC-32C update (no pre/post inversion) with the crc32 instruction.
__attribute__((target("sse4.2")))
static inline uint32_t chorus_crc32c_hardware(uint32_t crc, const void *data, size_t count) {
    const uint8_t *p = (const uint8_t *)data;
    uint64_t c = crc;
    while (count >= 8) {
        uint64_t word;
        __builtin_memcpy(&word, p, 8);
        c = __builtin_ia32_crc32di(c, word);
        p += 8;
        count -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (count > 0) {
        c32 = __builtin_ia32_crc32qi(c32, *p);
        p++;
        count--;
    }
    return c32;
}
#else
static inline int chorus_crc32c_hardware_available(void) { return 0; }
static inline uint32_t chorus_crc32c_hardware(uint32_t crc, const void *data, size_t count) {
    (void)data; (void)count; return crc;
}
#endif

#endif
