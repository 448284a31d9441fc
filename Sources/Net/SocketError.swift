// The one error type of the socket layer, for every module (issue 12): Gossip's shell, the
// peer RPC, the RESP server and client, the HTTP endpoint and the event loops.

#if canImport(Glibc)
import Glibc
#endif

/// Why a socket operation failed: a bad address, a name that did not resolve, a system call
/// with its errno, a timeout, or the other end gone.
public enum SocketError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Text that is not `host:port` or `[v6]:port`, or a port out of range.
    case invalidAddress(String)
    /// The resolver found no usable address for `host`; `reason` is getaddrinfo's.
    case unresolved(host: String, reason: String)
    /// A system call failed; `operation` names it (with the address when there is one).
    case system(operation: String, errno: Int32)
    /// A connect, send or receive ran past its timeout.
    case timedOut
    /// The other end closed the connection.
    case connectionClosed

    /// The errno of a failed system call, nil for the other cases.
    public var systemErrno: Int32? {
        if case .system(_, let code) = self { return code }
        return nil
    }

    public var description: String {
        switch self {
        case .invalidAddress(let text): return "invalid address \(text)"
        case .unresolved(let host, let reason): return "cannot resolve \(host): \(reason)"
        case .system(let operation, let code): return "\(operation): \(String(cString: strerror(code)))"
        case .timedOut: return "timed out"
        case .connectionClosed: return "connection closed"
        }
    }
}
