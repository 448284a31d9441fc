// Thin wrappers over Glibc socket calls: listeners, outgoing connections (bind before connect,
// so a peer's traffic leaves from its own --host address), UDP, and option setting.
// Every function returns a raw fd owned by the caller, or throws SocketError with errno.

#if canImport(Glibc)
import Glibc
#endif

/// Socket system calls used by the servers, the client and the gossip transport.
public enum Socket {
    /// A non-blocking TCP listener with SO_REUSEADDR; returns the fd and the bound address
    /// (the real port when `address` has port 0).
    public static func listenTCP(_ address: SocketAddress, backlog: Int32 = 511) throws(SocketError) -> (fd: Int32, address: SocketAddress) {
        let fd = socket(address.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .system(operation: "socket", errno: errno) }
        do throws(SocketError) {
            try setOption(fd, SOL_SOCKET, SO_REUSEADDR, 1)
            let rc = address.withSockaddr { bind(fd, $0, $1) }
            guard rc == 0 else { throw SocketError.system(operation: "bind \(address)", errno: errno) }
            guard listen(fd, backlog) == 0 else { throw SocketError.system(operation: "listen", errno: errno) }
            return (fd, try localAddress(fd))
        } catch {
            close(fd)
            throw error
        }
    }

    /// A blocking TCP connection to `address`, optionally bound to `source` first, with
    /// `timeoutMs` for the connect and then for each send and receive (0 = no timeout).
    public static func connectTCP(to address: SocketAddress, from source: SocketAddress? = nil, timeoutMs: Int = 5000) throws(SocketError) -> Int32 {
        let fd = socket(address.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .system(operation: "socket", errno: errno) }
        do throws(SocketError) {
            if let source {
                try setOption(fd, SOL_SOCKET, SO_REUSEADDR, 1)
                let rc = source.withSockaddr { bind(fd, $0, $1) }
                guard rc == 0 else { throw SocketError.system(operation: "bind \(source)", errno: errno) }
            }
            try setNonBlocking(fd, true)
            let rc = address.withSockaddr { connect(fd, $0, $1) }
            if rc != 0 {
                guard errno == EINPROGRESS else { throw SocketError.system(operation: "connect \(address)", errno: errno) }
                var poller = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                let ready = poll(&poller, 1, timeoutMs > 0 ? Int32(clamping: timeoutMs) : -1)
                guard ready > 0 else {
                    if ready == 0 { throw SocketError.timedOut }
                    throw SocketError.system(operation: "poll", errno: errno)
                }
                var code: Int32 = 0
                var size = socklen_t(MemoryLayout<Int32>.size)
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &code, &size)
                guard code == 0 else { throw SocketError.system(operation: "connect \(address)", errno: code) }
            }
            try setNonBlocking(fd, false)
            try setNoDelay(fd)
            if timeoutMs > 0 { try setTimeouts(fd, milliseconds: timeoutMs) }
            return fd
        } catch {
            close(fd)
            throw error
        }
    }

    /// A non-blocking UDP socket bound to `address` (gossip).
    public static func bindUDP(_ address: SocketAddress) throws(SocketError) -> (fd: Int32, address: SocketAddress) {
        let fd = socket(address.family, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .system(operation: "socket", errno: errno) }
        do throws(SocketError) {
            try setOption(fd, SOL_SOCKET, SO_REUSEADDR, 1)
            let rc = address.withSockaddr { bind(fd, $0, $1) }
            guard rc == 0 else { throw SocketError.system(operation: "bind \(address)", errno: errno) }
            return (fd, try localAddress(fd))
        } catch {
            close(fd)
            throw error
        }
    }

    /// Sends one datagram; returns false when the kernel would block (the datagram is dropped,
    /// as gossip tolerates loss).
    public static func sendDatagram(_ fd: Int32, _ bytes: [UInt8], to address: SocketAddress) throws(SocketError) -> Bool {
        let rc = bytes.withUnsafeBytes { raw in
            address.withSockaddr { sendto(fd, raw.baseAddress, raw.count, Int32(MSG_NOSIGNAL), $0, $1) }
        }
        if rc >= 0 { return true }
        if errno == EAGAIN || errno == EWOULDBLOCK { return false }
        throw .system(operation: "sendto \(address)", errno: errno)
    }

    /// Receives one datagram into `buffer` (truncated to its size); nil when none is waiting.
    public static func receiveDatagram(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) throws(SocketError) -> (count: Int, from: SocketAddress)? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutableBytes(of: &storage) { raw in
            recvfrom(fd, buffer.baseAddress, buffer.count, 0,
                     raw.baseAddress?.assumingMemoryBound(to: sockaddr.self), &length)
        }
        if rc >= 0 { return (rc, SocketAddress(storage: storage, length: length)) }
        if errno == EAGAIN || errno == EWOULDBLOCK { return nil }
        throw .system(operation: "recvfrom", errno: errno)
    }

    /// The address a socket is bound to.
    public static func localAddress(_ fd: Int32) throws(SocketError) -> SocketAddress {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutableBytes(of: &storage) { raw in
            getsockname(fd, raw.baseAddress?.assumingMemoryBound(to: sockaddr.self), &length)
        }
        guard rc == 0 else { throw .system(operation: "getsockname", errno: errno) }
        return SocketAddress(storage: storage, length: length)
    }

    /// The address of the other end, or nil.
    public static func remoteAddress(_ fd: Int32) -> SocketAddress? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutableBytes(of: &storage) { raw in
            getpeername(fd, raw.baseAddress?.assumingMemoryBound(to: sockaddr.self), &length)
        }
        return rc == 0 ? SocketAddress(storage: storage, length: length) : nil
    }

    public static func setNonBlocking(_ fd: Int32, _ on: Bool) throws(SocketError) {
        let flags = fcntl(fd, F_GETFL, 0)
        guard flags >= 0 else { throw .system(operation: "fcntl", errno: errno) }
        let updated = on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK
        guard fcntl(fd, F_SETFL, updated) == 0 else { throw .system(operation: "fcntl", errno: errno) }
    }

    public static func setNoDelay(_ fd: Int32) throws(SocketError) {
        try setOption(fd, Int32(IPPROTO_TCP), TCP_NODELAY, 1)
    }

    /// SO_RCVTIMEO and SO_SNDTIMEO, so blocking calls fail with EAGAIN after the timeout.
    public static func setTimeouts(_ fd: Int32, milliseconds: Int) throws(SocketError) {
        var tv = timeval(tv_sec: milliseconds / 1000, tv_usec: (milliseconds % 1000) * 1000)
        let size = socklen_t(MemoryLayout<timeval>.size)
        guard setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, size) == 0,
              setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, size) == 0 else {
            throw .system(operation: "setsockopt timeouts", errno: errno)
        }
    }

    public static func setOption(_ fd: Int32, _ level: Int32, _ name: Int32, _ value: Int32) throws(SocketError) {
        var v = value
        guard setsockopt(fd, level, name, &v, socklen_t(MemoryLayout<Int32>.size)) == 0 else {
            throw .system(operation: "setsockopt \(name)", errno: errno)
        }
    }

    /// Writes all of `bytes` on a blocking socket; throws `.timedOut` on SO_SNDTIMEO.
    public static func sendAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) throws(SocketError) {
        var offset = 0
        while offset < bytes.count {
            let rc = send(fd, bytes.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
            if rc > 0 { offset += rc; continue }
            if rc < 0 && errno == EINTR { continue }
            if rc < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { throw .timedOut }
            throw .system(operation: "send", errno: errno)
        }
    }
}
