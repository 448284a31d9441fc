#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Blocking IPv4 TCP helpers for the RPC shells. Every call that can fail throws
/// `RPCError` or returns nil/false; nothing here traps on what the network does.
enum RPCSocket {
    static func address(host: String, port: UInt16) -> sockaddr_in? {
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = port.bigEndian
        let ok = host.withCString { inet_pton(AF_INET, $0, &a.sin_addr) }
        return ok == 1 ? a : nil
    }

    static func describe(_ a: sockaddr_in) -> (host: String, port: UInt16) {
        var addr = a.sin_addr
        var buf = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
        _ = inet_ntop(AF_INET, &addr, &buf, socklen_t(buf.count))
        let host = String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return (host, UInt16(bigEndian: a.sin_port))
    }

    static func errorText(_ call: String, _ err: Int32) -> String { "\(call): \(String(cString: strerror(err)))" }

    static func bind(_ fd: Int32, host: String, port: UInt16) throws(RPCError) {
        guard var a = address(host: host, port: port) else { throw .unreachable("bad IPv4 address \(host)") }
        let rc = withUnsafePointer(to: &a) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else { throw .unreachable(errorText("bind(\(host):\(port))", errno)) }
    }

    static func listen(host: String, port: UInt16, backlog: Int32) throws(RPCError) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw .unreachable(errorText("socket", errno)) }
        var one: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        do { try bind(fd, host: host, port: port) } catch { close(fd); throw error }
        guard Glibc.listen(fd, backlog) == 0 else {
            let err = errno
            close(fd)
            throw .unreachable(errorText("listen(\(host):\(port))", err))
        }
        return fd
    }

    static func localAddress(_ fd: Int32) -> (host: String, port: UInt16) {
        var a = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return describe(a)
    }

    static func peerAddress(_ fd: Int32) -> (host: String, port: UInt16) {
        var a = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &len) } }
        return describe(a)
    }

    enum Accepted {
        case connection(Int32)
        /// Out of descriptors or memory for now: wait a moment and accept again.
        case retryLater
        /// The listener was shut down.
        case closed
    }

    static func accept(_ listener: Int32) -> Accepted {
        while true {
            let fd = Glibc.accept(listener, nil, nil)
            if fd >= 0 { return .connection(fd) }
            switch errno {
            case EINTR, ECONNABORTED, EPROTO: continue
            case EMFILE, ENFILE, ENOBUFS, ENOMEM: return .retryLater
            default: return .closed
            }
        }
    }

    /// Connects to host:port from `localHost` (bind before connect, so the connection leaves
    /// this node's own --host address), waiting at most `timeoutMs`.
    static func connect(from localHost: String, to host: String, port: UInt16, timeoutMs: Int) throws(RPCError) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw .unreachable(errorText("socket", errno)) }
        do throws(RPCError) {
            try bind(fd, host: localHost, port: 0)
            guard var a = address(host: host, port: port) else { throw .unreachable("bad IPv4 address \(host)") }
            let flags = fcntl(fd, F_GETFL, 0)
            _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
            let rc = withUnsafePointer(to: &a) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            if rc != 0 {
                guard errno == EINPROGRESS else { throw .unreachable(errorText("connect(\(host):\(port))", errno)) }
                var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                guard poll(&p, 1, Int32(clamping: timeoutMs)) == 1 else { throw .unreachable("connect(\(host):\(port)): timed out") }
                var err: Int32 = 0
                var len = socklen_t(MemoryLayout<Int32>.size)
                _ = getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len)
                guard err == 0 else { throw .unreachable(errorText("connect(\(host):\(port))", err)) }
            }
            _ = fcntl(fd, F_SETFL, flags)
            setNoDelay(fd)
            return fd
        } catch {
            close(fd)
            throw error
        }
    }

    /// Small request frames must not wait for Nagle's timer.
    static func setNoDelay(_ fd: Int32) {
        var one: Int32 = 1
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    static func setTimeouts(_ fd: Int32, receiveMs: Int, sendMs: Int) {
        var r = timeval(tv_sec: receiveMs / 1000, tv_usec: (receiveMs % 1000) * 1000)
        var s = timeval(tv_sec: sendMs / 1000, tv_usec: (sendMs % 1000) * 1000)
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &r, socklen_t(MemoryLayout<timeval>.size))
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &s, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Writes one frame on a connection shared by several threads: serialized by `lock`
    /// (true while the connection is writable); a failed write shuts the socket down so its
    /// reader sees it and exits. Counts what was sent. Both connection kinds use this.
    static func writeFrame(_ frame: Frame, fd: Int32, lock: borrowing Mutex<Bool>, counters: RPCCounters) -> Bool {
        let bytes = frame.encoded()
        let ok = lock.withLock { open in
            guard open else { return false }
            let ok = writeAll(fd, bytes)
            if !ok { shutdown(fd) }
            return ok
        }
        if ok {
            RPCCounters.add(counters.framesSent)
            RPCCounters.add(counters.bytesSent, bytes.count)
        }
        return ok
    }

    /// Writes every byte or returns false (peer gone, or the send timeout hit).
    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return true }
            var off = 0
            while off < raw.count {
                let n = send(fd, base + off, raw.count - off, Int32(MSG_NOSIGNAL))
                if n > 0 { off += n; continue }
                if n < 0, errno == EINTR { continue }
                return false
            }
            return true
        }
    }

    /// Reads what is available into `buffer`; 0 means end of stream, -1 an error or timeout.
    static func readSome(_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer) -> Int {
        while true {
            let n = recv(fd, buffer.baseAddress, buffer.count, 0)
            if n < 0, errno == EINTR { continue }
            return n
        }
    }

    /// Reads until `decoder` yields one frame: used by the handshake, with the socket's
    /// receive timeout as its bound, and with `deadline` (when given) as the bound of the
    /// whole read however the bytes trickle in (each recv waits only for what is left).
    static func readFrame(_ fd: Int32, _ decoder: inout FrameDecoder, deadline: RPCDeadline? = nil,
                          chunkBytes: Int = 4096) -> Result<Frame, RPCError> {
        var chunk = [UInt8](repeating: 0, count: chunkBytes)
        while true {
            do {
                if let f = try decoder.next() { return .success(f) }
            } catch {
                return .failure(.authenticationFailed("bad frame during handshake: \(error)"))
            }
            if let deadline {
                let now = RPCDeadline.now()
                guard !deadline.hasPassed(at: now) else { return .failure(.timeout) }
                let left = max(1, Int(deadline.remainingMs(at: now)))
                var r = timeval(tv_sec: left / 1000, tv_usec: (left % 1000) * 1000)
                _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &r, socklen_t(MemoryLayout<timeval>.size))
            }
            let n = chunk.withUnsafeMutableBytes { readSome(fd, $0) }
            if n < 0, errno == EAGAIN || errno == EWOULDBLOCK, deadline != nil { return .failure(.timeout) }
            guard n > 0 else { return .failure(.connectionLost) }
            decoder.append(chunk[0..<n])
        }
    }

    /// Wakes any thread blocked in recv/accept on `fd`; the owner thread closes it after.
    static func shutdown(_ fd: Int32) { _ = Glibc.shutdown(fd, Int32(SHUT_RDWR)) }

    /// Makes the coming close reset the connection (SO_LINGER 0): bytes still queued to
    /// send are discarded instead of delivered later.
    static func setAbortiveClose(_ fd: Int32) {
        var l = linger(l_onoff: 1, l_linger: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, socklen_t(MemoryLayout<linger>.size))
    }
}
