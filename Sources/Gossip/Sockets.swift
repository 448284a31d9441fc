#if canImport(Glibc)
import Glibc
#endif

/// A socket call failed; `call` names it and `errno` says why.
public struct SocketError: Error, CustomStringConvertible, Sendable {
    public var call: String
    public var errno: Int32
    public var description: String { "\(call): \(String(cString: strerror(errno)))" }
}

/// Thin IPv4 socket helpers for the gossip shell (Glibc only). Every call that can fail
/// throws `SocketError`; nothing here traps on bad input.
enum Sockets {
    static func address(_ e: Endpoint) throws(SocketError) -> sockaddr_in {
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = e.port.bigEndian
        let ok = e.host.withCString { inet_pton(AF_INET, $0, &a.sin_addr) }
        if ok == 1 { return a }
        // A name (a seed given as localhost:7946): resolve to its first IPv4 address.
        var hints = addrinfo()
        hints.ai_family = AF_INET
        var result: UnsafeMutablePointer<addrinfo>? = nil
        guard getaddrinfo(e.host, nil, &hints, &result) == 0, let first = result, let sa = first.pointee.ai_addr else {
            throw SocketError(call: "resolve(\(e.host))", errno: EINVAL)
        }
        defer { freeaddrinfo(result) }
        a.sin_addr = sa.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr }
        return a
    }

    static func endpoint(_ a: sockaddr_in) -> Endpoint {
        var addr = a.sin_addr
        var buf = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
        _ = inet_ntop(AF_INET, &addr, &buf, socklen_t(buf.count))
        let host = String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return Endpoint(host: host, port: UInt16(bigEndian: a.sin_port))
    }

    static func bind(_ fd: Int32, _ e: Endpoint) throws(SocketError) {
        var a = try address(e)
        let rc = withUnsafePointer(to: &a) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else { throw SocketError(call: "bind(\(e))", errno: errno) }
    }

    static func localPort(_ fd: Int32) -> UInt16 {
        var a = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return UInt16(bigEndian: a.sin_port)
    }

    static func setReceiveTimeout(_ fd: Int32, ms: Int) {
        var tv = timeval(tv_sec: ms / 1000, tv_usec: (ms % 1000) * 1000)
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    static func setReuseAddress(_ fd: Int32) {
        var one: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    static func udp(bindTo e: Endpoint) throws(SocketError) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw SocketError(call: "socket(udp)", errno: errno) }
        // No SO_REUSEADDR: on Linux it would let a second process share the port silently.
        do { try bind(fd, e) } catch { close(fd); throw error }
        return fd
    }

    static func tcpListen(_ e: Endpoint) throws(SocketError) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw SocketError(call: "socket(tcp)", errno: errno) }
        setReuseAddress(fd)
        do { try bind(fd, e) } catch { close(fd); throw error }
        guard listen(fd, 64) == 0 else {
            let err = errno
            close(fd)
            throw SocketError(call: "listen(\(e))", errno: err)
        }
        return fd
    }

    static func sendTo(_ fd: Int32, _ bytes: [UInt8], _ to: Endpoint) -> Bool {
        guard var a = try? address(to) else { return false }
        let n = bytes.withUnsafeBytes { buf in
            withUnsafePointer(to: &a) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, buf.baseAddress, buf.count, Int32(MSG_NOSIGNAL), $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
        return n == bytes.count
    }

    /// One datagram, or nil on timeout/error. Oversized datagrams come back truncated to
    /// `maxBytes + 1`, so the codec sees (and counts) them as oversized.
    static func receive(_ fd: Int32, maxBytes: Int) -> (Endpoint, [UInt8])? {
        var buf = [UInt8](repeating: 0, count: maxBytes + 1)
        var a = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let n = buf.withUnsafeMutableBytes { b in
            withUnsafeMutablePointer(to: &a) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(fd, b.baseAddress, b.count, 0, $0, &len) }
            }
        }
        guard n >= 0 else { return nil }
        return (endpoint(a), Array(buf.prefix(n)))
    }

    /// Connects from `from` (so the packet leaves our own --host address) with a timeout.
    static func tcpConnect(from: String, to: Endpoint, timeoutMs: Int) throws(SocketError) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw SocketError(call: "socket(tcp)", errno: errno) }
        do throws(SocketError) {
            try bind(fd, Endpoint(host: from, port: 0))
            var a = try address(to)
            let flags = fcntl(fd, F_GETFL, 0)
            _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
            let rc = withUnsafePointer(to: &a) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            if rc != 0 {
                guard errno == EINPROGRESS else { throw SocketError(call: "connect(\(to))", errno: errno) }
                var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                guard poll(&p, 1, Int32(timeoutMs)) == 1 else { throw SocketError(call: "connect(\(to))", errno: ETIMEDOUT) }
                var err: Int32 = 0
                var len = socklen_t(MemoryLayout<Int32>.size)
                _ = getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len)
                guard err == 0 else { throw SocketError(call: "connect(\(to))", errno: err) }
            }
            _ = fcntl(fd, F_SETFL, flags)
            setReceiveTimeout(fd, ms: timeoutMs)
            return fd
        } catch {
            close(fd)
            throw error
        }
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + off, bytes.count - off, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { return false }
            off += n
        }
        return true
    }

    /// Reads exactly `count` bytes, giving up at `deadlineNs` (CLOCK_MONOTONIC), so a peer
    /// trickling bytes cannot hold the connection longer than the deadline. Memory grows
    /// with the bytes that arrive, 64 KiB at a time: a length header alone (before any MAC
    /// was checked) cannot make it allocate, or zero-fill, the 32 MiB it claims.
    static func readExact(_ fd: Int32, _ count: Int, deadlineNs: UInt64) -> [UInt8]? {
        guard count > 0 else { return [] }
        var out: [UInt8] = []
        out.reserveCapacity(min(count, 64 << 10))
        var chunk = [UInt8](repeating: 0, count: min(count, 64 << 10))
        while out.count < count {
            guard monotonicNs() < deadlineNs else { return nil }
            let want = min(chunk.count, count - out.count)
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, want, 0) }
            guard n > 0 else { return nil }
            out.append(contentsOf: chunk[0..<n])
        }
        return out
    }

    static func monotonicNs() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}
