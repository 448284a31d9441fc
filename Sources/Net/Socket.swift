// Contract: a `Socket` is a handle, not an owner. Copies share one descriptor; whoever made
// it (or took it from accept) closes it once, with `close()`, and no copy is used after.
// Which thread may use it is the owner's rule (a loop's socket is the loop's; a blocking
// peer connection serializes its writes under a lock). Every call that can fail throws
// `SocketError` or reports the outcome in its result; none traps on what the network does.
//
// Facets: Socket+IO (read, write, writev, datagrams), Socket+Options (non-blocking,
// timeouts, TCP_NODELAY, linger), Socket+Accept.

#if canImport(Glibc)
import Glibc
#endif

/// One socket descriptor (TCP or UDP, IPv4 or IPv6), blocking or not, with the calls on it.
public struct Socket: Sendable, Hashable, CustomStringConvertible {
    public let fd: Int32

    /// Wraps a descriptor made elsewhere (tests, or a caller that stored the number).
    public init(fd: Int32) { self.fd = fd }

    public var description: String { "socket(\(fd))" }

    /// A TCP listener with SO_REUSEADDR (so a restart can bind at once); returns the
    /// socket and the bound address (the real port when `address` has port 0).
    /// `nonBlocking` for a listener on an event loop; a blocking one for an accept thread.
    public static func listenTCP(_ address: SocketAddress, backlog: Int32 = 511,
                                 nonBlocking: Bool = true) throws(SocketError) -> (socket: Socket, address: SocketAddress) {
        let s = try make(address, Int32(SOCK_STREAM.rawValue), nonBlocking: nonBlocking)
        do throws(SocketError) {
            try s.setOption(SOL_SOCKET, SO_REUSEADDR, 1)
            try s.bind(address)
            guard listen(s.fd, backlog) == 0 else { throw SocketError.system(operation: "listen \(address)", errno: errno) }
            return (s, try s.localAddress())
        } catch {
            s.close()
            throw error
        }
    }

    /// A UDP socket bound to `address`. No SO_REUSEADDR: on Linux it would let a second
    /// process share the port silently. Blocking unless `nonBlocking`.
    public static func bindUDP(_ address: SocketAddress, nonBlocking: Bool = false) throws(SocketError) -> (socket: Socket, address: SocketAddress) {
        let s = try make(address, Int32(SOCK_DGRAM.rawValue), nonBlocking: nonBlocking)
        do throws(SocketError) {
            try s.bind(address)
            return (s, try s.localAddress())
        } catch {
            s.close()
            throw error
        }
    }

    /// A blocking TCP connection to `address`, bound to `source` first when given (so the
    /// traffic leaves from this node's own --host address), with TCP_NODELAY (small frames
    /// must not wait for Nagle's timer). `timeoutMs` bounds the connect and then each send
    /// and receive (0: no timeout).
    public static func connectTCP(to address: SocketAddress, from source: SocketAddress? = nil,
                                  timeoutMs: Int = 5000) throws(SocketError) -> Socket {
        let s = try make(address, Int32(SOCK_STREAM.rawValue), nonBlocking: true)
        do throws(SocketError) {
            if let source {
                try s.setOption(SOL_SOCKET, SO_REUSEADDR, 1)
                try s.bind(source)
            }
            let rc = address.withSockaddr { connect(s.fd, $0, $1) }
            if rc != 0 {
                guard errno == EINPROGRESS else { throw SocketError.system(operation: "connect \(address)", errno: errno) }
                guard try s.wait(for: Int16(POLLOUT), timeoutMs: timeoutMs > 0 ? timeoutMs : -1) else {
                    throw SocketError.timedOut
                }
                var code: Int32 = 0
                var size = socklen_t(MemoryLayout<Int32>.size)
                _ = getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &code, &size)
                guard code == 0 else { throw SocketError.system(operation: "connect \(address)", errno: code) }
            }
            try s.setNonBlocking(false)
            try s.setNoDelay()
            if timeoutMs > 0 { try s.setTimeouts(receiveMs: timeoutMs, sendMs: timeoutMs) }
            return s
        } catch {
            s.close()
            throw error
        }
    }

    /// `connectTCP` from names: `host` is resolved in the family of `sourceHost` when one
    /// is given (a socket bound to an IPv4 address cannot reach an IPv6 one).
    public static func connectTCP(host: String, port: UInt16, sourceHost: String? = nil,
                                  timeoutMs: Int = 5000) throws(SocketError) -> Socket {
        let source = try sourceHost.map { h throws(SocketError) in try SocketAddress(host: h, port: 0) }
        let target = try SocketAddress(host: host, port: port, family: source?.family ?? .any)
        return try connectTCP(to: target, from: source, timeoutMs: timeoutMs)
    }

    /// Closes the descriptor (once, by its owner).
    public func close() { _ = Glibc.close(fd) }

    /// Wakes every thread blocked in recv or accept on it (they see EOF or an error);
    /// the owner closes it afterwards, so no one touches a reused descriptor number.
    public func shutdown() { _ = Glibc.shutdown(fd, Int32(SHUT_RDWR)) }

    /// Half-closes: the other end reads EOF after what was sent, and may still answer.
    public func shutdownWrite() { _ = Glibc.shutdown(fd, Int32(SHUT_WR)) }

    /// The address the socket is bound to.
    public func localAddress() throws(SocketError) -> SocketAddress {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutableBytes(of: &storage) { raw in
            getsockname(fd, raw.baseAddress?.assumingMemoryBound(to: sockaddr.self), &length)
        }
        guard rc == 0 else { throw .system(operation: "getsockname", errno: errno) }
        return SocketAddress(storage: storage, length: length)
    }

    /// The address of the other end, or nil (not connected, or already reset).
    public func remoteAddress() -> SocketAddress? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutableBytes(of: &storage) { raw in
            getpeername(fd, raw.baseAddress?.assumingMemoryBound(to: sockaddr.self), &length)
        }
        return rc == 0 ? SocketAddress(storage: storage, length: length) : nil
    }

    /// Binds to `address` (port 0: the kernel picks one).
    public func bind(_ address: SocketAddress) throws(SocketError) {
        let rc = address.withSockaddr { Glibc.bind(fd, $0, $1) }
        guard rc == 0 else { throw .system(operation: "bind \(address)", errno: errno) }
    }

    /// Waits until the socket is readable (`POLLIN`) or writable (`POLLOUT`); false when
    /// `timeoutMs` (-1: no limit) passed first. Interrupted waits are restarted.
    public func wait(for events: Int16, timeoutMs: Int) throws(SocketError) -> Bool {
        var poller = pollfd(fd: fd, events: events, revents: 0)
        while true {
            let ready = poll(&poller, 1, Int32(clamping: timeoutMs))
            if ready > 0 { return true }
            if ready == 0 { return false }
            if errno != EINTR { throw .system(operation: "poll", errno: errno) }
        }
    }

    /// A new socket of `address`'s family, close-on-exec.
    private static func make(_ address: SocketAddress, _ type: Int32, nonBlocking: Bool) throws(SocketError) -> Socket {
        let flags = Int32(SOCK_CLOEXEC.rawValue) | (nonBlocking ? Int32(SOCK_NONBLOCK.rawValue) : 0)
        let fd = socket(address.domain, type | flags, 0)
        guard fd >= 0 else { throw .system(operation: "socket", errno: errno) }
        return Socket(fd: fd)
    }
}
