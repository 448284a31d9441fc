#if canImport(Glibc)
import Glibc
#endif

/// The wall clock (CLOCK_REALTIME): milliseconds since the Unix epoch. It means the same on
/// every machine and after a reboot, so it is the clock of everything that reaches disk or
/// another peer as a point in time: the physical part of hybrid logical clock timestamps,
/// tombstone times, gossip clock samples. It may step forwards or backwards (NTP, an
/// operator), so timers, leases and deadlines never use it: they use `EventLoop.nowMs()`
/// (CLOCK_MONOTONIC) or `RPCDeadline`.
public enum WallClock {
    public static func nowMs() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000 + Int64(ts.tv_nsec) / 1_000_000
    }
}
