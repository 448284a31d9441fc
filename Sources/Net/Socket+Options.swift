// Socket options: blocking mode, timeouts, TCP_NODELAY, abortive close.

#if canImport(Glibc)
import Glibc
#endif

extension Socket {
    /// O_NONBLOCK on or off.
    public func setNonBlocking(_ on: Bool = true) throws(SocketError) {
        let flags = fcntl(fd, F_GETFL, 0)
        guard flags >= 0 else { throw .system(operation: "fcntl", errno: errno) }
        let updated = on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK
        guard fcntl(fd, F_SETFL, updated) == 0 else { throw .system(operation: "fcntl", errno: errno) }
    }

    /// Small frames and replies must not wait for Nagle's timer.
    public func setNoDelay() throws(SocketError) {
        try setOption(Int32(IPPROTO_TCP), TCP_NODELAY, 1)
    }

    /// SO_RCVTIMEO and SO_SNDTIMEO, so a blocking call gives up after that long
    /// (reads return nil, `writeAll` throws `.timedOut`); 0 means no timeout.
    public func setTimeouts(receiveMs: Int, sendMs: Int) throws(SocketError) {
        try setTimeout(SO_RCVTIMEO, ms: receiveMs)
        try setTimeout(SO_SNDTIMEO, ms: sendMs)
    }

    /// SO_RCVTIMEO alone (a read bounded by what is left of a deadline).
    public func setReceiveTimeout(ms: Int) throws(SocketError) {
        try setTimeout(SO_RCVTIMEO, ms: ms)
    }

    /// Makes the coming close reset the connection (SO_LINGER 0): bytes still queued to
    /// send are discarded instead of delivered later.
    public func setAbortiveClose() {
        var l = linger(l_onoff: 1, l_linger: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, socklen_t(MemoryLayout<linger>.size))
    }

    /// FD_CLOEXEC, for a descriptor from accept() (accept4 is not in Glibc's module map).
    public func setCloseOnExec() throws(SocketError) {
        guard fcntl(fd, F_SETFD, FD_CLOEXEC) == 0 else { throw .system(operation: "fcntl", errno: errno) }
    }

    /// An integer socket option.
    public func setOption(_ level: Int32, _ name: Int32, _ value: Int32) throws(SocketError) {
        var v = value
        guard setsockopt(fd, level, name, &v, socklen_t(MemoryLayout<Int32>.size)) == 0 else {
            throw .system(operation: "setsockopt \(name)", errno: errno)
        }
    }

    private func setTimeout(_ name: Int32, ms: Int) throws(SocketError) {
        let ms = max(0, ms)
        var tv = timeval(tv_sec: ms / 1000, tv_usec: (ms % 1000) * 1000)
        guard setsockopt(fd, SOL_SOCKET, name, &tv, socklen_t(MemoryLayout<timeval>.size)) == 0 else {
            throw .system(operation: "setsockopt timeout", errno: errno)
        }
    }
}
