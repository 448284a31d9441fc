import Net
import Synchronization

/// The peer RPC's framing on a blocking socket: the handshake's reads, and frame writes on
/// a connection shared by threads. The sockets and their system calls are Net's; this adds
/// only what frames need. Nothing here traps on what the network does.
enum RPCSocket {
    /// Writes one frame on a connection shared by several threads: serialized by `lock`
    /// (true while the connection is writable); a failed write shuts the socket down so its
    /// reader sees it and exits. Counts what was sent. Both connection kinds use this.
    static func writeFrame(_ frame: Frame, socket: Socket, lock: borrowing Mutex<Bool>, counters: RPCCounters) -> Bool {
        let bytes = frame.encoded()
        let ok = lock.withLock { open in
            guard open else { return false }
            let ok = (try? socket.writeAll(bytes)) != nil
            if !ok { socket.shutdown() }
            return ok
        }
        if ok {
            RPCCounters.add(counters.framesSent)
            RPCCounters.add(counters.bytesSent, bytes.count)
        }
        return ok
    }

    /// Reads until `decoder` yields one frame: used by the handshake, with the socket's
    /// receive timeout as its bound, and with `deadline` (when given) as the bound of the
    /// whole read however the bytes trickle in (each recv waits only for what is left).
    static func readFrame(_ socket: Socket, _ decoder: inout FrameDecoder, deadline: RPCDeadline? = nil,
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
                guard (try? socket.setReceiveTimeout(ms: left)) != nil else { return .failure(.connectionLost) }
            }
            let read = chunk.withUnsafeMutableBytes { raw in Result { () throws(SocketError) in try socket.read(into: raw) } }
            switch read {
            case .success(nil) where deadline != nil: return .failure(.timeout)
            case .success(let n?) where n > 0: decoder.append(chunk[0..<n])
            default: return .failure(.connectionLost)
            }
        }
    }
}
