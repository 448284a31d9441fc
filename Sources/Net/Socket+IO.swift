// Reads and writes. One convention for every call: a count of bytes moved; nil when a
// non-blocking socket would block, or a blocking one hit its SO_RCVTIMEO/SO_SNDTIMEO;
// a read of 0 is end of stream; anything else throws `.system` with errno. EINTR is
// retried here, so no caller has to. Sends use MSG_NOSIGNAL: a peer gone is an error, not
// a SIGPIPE. `read` and `write` are inlinable: the event loops call them per wake-up.

#if canImport(Glibc)
import Glibc
#endif

extension Socket {
    /// Reads what is available into `buffer`: the count (0 at end of stream), or nil.
    @inlinable
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(SocketError) -> Int? {
        while true {
            let n = recv(fd, buffer.baseAddress, buffer.count, 0)
            if n >= 0 { return n }
            let code = errno
            if code == EINTR { continue }
            if code == EAGAIN || code == EWOULDBLOCK { return nil }
            throw .system(operation: "recv", errno: code)
        }
    }

    /// Writes what the kernel takes of `bytes`: the count, or nil.
    @inlinable
    public func write(_ bytes: UnsafeRawBufferPointer) throws(SocketError) -> Int? {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return 0 }
        while true {
            let n = send(fd, base, bytes.count, Int32(MSG_NOSIGNAL))
            if n >= 0 { return n }
            let code = errno
            if code == EINTR { continue }
            if code == EAGAIN || code == EWOULDBLOCK { return nil }
            throw .system(operation: "send", errno: code)
        }
    }

    /// Writes several buffers in one call (gathered, in order): the count, or nil.
    /// At most IOV_MAX buffers are handed over; the count tells how far it got.
    public func writev(_ buffers: [UnsafeRawBufferPointer]) throws(SocketError) -> Int? {
        var vectors = buffers.prefix(Socket.maxIOVectors).map {
            iovec(iov_base: UnsafeMutableRawPointer(mutating: $0.baseAddress), iov_len: $0.count)
        }
        guard !vectors.isEmpty else { return 0 }
        while true {
            let n = vectors.withUnsafeMutableBufferPointer { Glibc.writev(fd, $0.baseAddress, Int32($0.count)) }
            if n >= 0 { return n }
            let code = errno
            if code == EINTR { continue }
            if code == EAGAIN || code == EWOULDBLOCK { return nil }
            throw .system(operation: "writev", errno: code)
        }
    }

    /// Writes every byte on a blocking socket; `.timedOut` when SO_SNDTIMEO passed first.
    public func writeAll(_ bytes: UnsafeRawBufferPointer) throws(SocketError) {
        var offset = 0
        while offset < bytes.count {
            guard let n = try write(UnsafeRawBufferPointer(rebasing: bytes[offset...])) else { throw .timedOut }
            guard n > 0 else { throw .connectionClosed }
            offset += n
        }
    }

    /// `writeAll` of an array.
    public func writeAll(_ bytes: [UInt8]) throws(SocketError) {
        try bytes.withUnsafeBytes { raw in Result { () throws(SocketError) in try writeAll(raw) } }.get()
    }

    /// Linux's IOV_MAX (the C macro does not reach Swift): buffers per writev call.
    public static let maxIOVectors = 1024

    /// Reads exactly `count` bytes from a blocking socket, giving up at `deadlineNs`
    /// (`MonotonicClock`), so a peer trickling bytes cannot hold it past the deadline (each
    /// recv waits at most what is left). Memory grows with the bytes that arrive, 64 KiB at
    /// a time: a length header alone, before anything was checked, cannot make it
    /// allocate what it claims. Errors: `.timedOut`, `.connectionClosed`, `.system`.
    /// It leaves SO_RCVTIMEO at what was left of the deadline at the last recv.
    public func read(exactly count: Int, deadlineNs: UInt64) throws(SocketError) -> [UInt8] {
        guard count > 0 else { return [] }
        var out: [UInt8] = []
        out.reserveCapacity(min(count, 64 << 10))
        var chunk = [UInt8](repeating: 0, count: min(count, 64 << 10))
        while out.count < count {
            let now = MonotonicClock.nowNs()
            guard now < deadlineNs else { throw .timedOut }
            try setReceiveTimeout(ms: max(1, Int((deadlineNs - now) / 1_000_000)))
            let want = min(chunk.count, count - out.count)
            let got = chunk.withUnsafeMutableBytes { raw in
                Result { () throws(SocketError) in try read(into: UnsafeMutableRawBufferPointer(rebasing: raw[0..<want])) }
            }
            guard let n = try got.get() else { throw .timedOut }
            guard n > 0 else { throw .connectionClosed }
            out.append(contentsOf: chunk[0..<n])
        }
        return out
    }

    /// Sends one datagram; false when the kernel would block (the datagram is dropped: the
    /// callers, gossip among them, tolerate loss).
    @discardableResult
    public func sendDatagram(_ bytes: [UInt8], to address: SocketAddress) throws(SocketError) -> Bool {
        let rc = bytes.withUnsafeBytes { raw in
            address.withSockaddr { sendto(fd, raw.baseAddress, raw.count, Int32(MSG_NOSIGNAL), $0, $1) }
        }
        if rc >= 0 { return true }
        if errno == EAGAIN || errno == EWOULDBLOCK { return false }
        throw .system(operation: "sendto \(address)", errno: errno)
    }

    /// Receives one datagram into `buffer`, truncated to its size (so a caller that wants
    /// to see oversized datagrams passes one byte more than it accepts); nil when none came
    /// (non-blocking and empty, or the receive timeout passed).
    public func receiveDatagram(into buffer: UnsafeMutableRawBufferPointer) throws(SocketError) -> (count: Int, from: SocketAddress)? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        while true {
            let rc = withUnsafeMutableBytes(of: &storage) { raw in
                recvfrom(fd, buffer.baseAddress, buffer.count, 0, raw.baseAddress?.assumingMemoryBound(to: sockaddr.self), &length)
            }
            if rc >= 0 { return (rc, SocketAddress(storage: storage, length: length)) }
            let code = errno
            if code == EINTR { continue }
            if code == EAGAIN || code == EWOULDBLOCK { return nil }
            throw .system(operation: "recvfrom", errno: code)
        }
    }
}
