// accept(), with the outcomes a server must tell apart: a connection, nothing waiting (on
// a non-blocking listener), out of descriptors or memory for now (back off and retry), or
// a listener that is gone (shut down or closed: stop accepting).

#if canImport(Glibc)
import Glibc
#endif

/// What one `Socket.accept` gave.
public enum AcceptResult: Sendable {
    /// A connection, close-on-exec, blocking unless asked otherwise, and where it came from.
    case connection(Socket, remote: SocketAddress)
    /// A non-blocking listener with nothing waiting.
    case wouldBlock
    /// EMFILE, ENFILE, ENOBUFS or ENOMEM: no room now; wait a moment and accept again.
    case exhausted(errno: Int32)
    /// The listener was shut down or is broken.
    case closed(SocketError)
}

extension Socket {
    /// Accepts one connection; a connection aborted before it was accepted is skipped.
    public func accept(nonBlocking: Bool = false) -> AcceptResult {
        while true {
            var storage = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let client = withUnsafeMutableBytes(of: &storage) { raw in
                Glibc.accept(fd, raw.baseAddress?.assumingMemoryBound(to: sockaddr.self), &length)
            }
            if client >= 0 {
                let s = Socket(fd: client)
                do throws(SocketError) {
                    try s.setCloseOnExec()
                    if nonBlocking { try s.setNonBlocking() }
                } catch {
                    s.close()
                    continue
                }
                return .connection(s, remote: SocketAddress(storage: storage, length: length))
            }
            let code = errno
            switch code {
            case EINTR, ECONNABORTED, EPROTO: continue
            case EAGAIN, EWOULDBLOCK: return .wouldBlock
            case EMFILE, ENFILE, ENOBUFS, ENOMEM: return .exhausted(errno: code)
            default: return .closed(.system(operation: "accept", errno: code))
            }
        }
    }
}
