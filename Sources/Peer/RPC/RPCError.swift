/// How an RPC failed, as its caller sees it. Every completion gets exactly one result.
public enum RPCError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The deadline passed before an answer came (the caller gave up; the peer may still act).
    case timeout
    /// The connection dropped while the request was in flight (the peer may have acted).
    case connectionLost
    /// Too many requests queued for this peer, or the peer refused work.
    case overloaded
    /// Could not connect, or the peer is in reconnect backoff after failing.
    case unreachable(String)
    /// The handshake failed: wrong or missing cluster secret, or a malformed handshake.
    case authenticationFailed(String)
    /// The peer does not know this message type (version skew).
    case unknownMessageType(UInt16)
    /// The peer's handler failed; `code` is an `RPCErrorCode` or the node layer's own.
    case remote(code: UInt16, message: String)
    /// The request or its answer exceeds the frame bound.
    case frameTooLarge(bytes: Int)
    /// The client or server was shut down.
    case shutdown

    public var description: String {
        switch self {
        case .timeout: "peer rpc timed out"
        case .connectionLost: "peer connection lost"
        case .overloaded: "peer rpc overloaded"
        case .unreachable(let why): "peer unreachable: \(why)"
        case .authenticationFailed(let why): "peer authentication failed: \(why)"
        case .unknownMessageType(let t): "peer does not know message type \(t)"
        case .remote(let code, let message): "peer error \(code): \(message)"
        case .frameTooLarge(let bytes): "peer rpc frame too large (\(bytes) bytes)"
        case .shutdown: "peer rpc shut down"
        }
    }

    /// Longest error message sent on the wire; longer ones are cut.
    static let maxMessageBytes = 1024

    /// Body of an `.error` frame: code (UInt16, big-endian) then a UTF-8 message.
    func errorBody() -> [UInt8] {
        let (code, message): (UInt16, String) = switch self {
        case .overloaded: (RPCErrorCode.overloaded, "overloaded")
        case .timeout: (RPCErrorCode.deadlineExceeded, "deadline exceeded")
        case .unknownMessageType(let t): (RPCErrorCode.unknownMessageType, "unknown message type \(t)")
        case .remote(let code, let message): (code, message)
        default: (RPCErrorCode.internalError, description)
        }
        var out: [UInt8] = [UInt8(code >> 8), UInt8(code & 0xff)]
        out.append(contentsOf: message.utf8.prefix(RPCError.maxMessageBytes))
        return out
    }

    /// Reads an `.error` frame body; a short body is itself reported, never trapped on.
    static func decodeErrorBody(_ body: [UInt8], type: UInt16) -> RPCError {
        guard body.count >= 2 else { return .remote(code: RPCErrorCode.internalError, message: "malformed error frame") }
        let code = UInt16(body[0]) << 8 | UInt16(body[1])
        let message = String(decoding: body[2...].prefix(maxMessageBytes), as: UTF8.self)
        switch code {
        case RPCErrorCode.overloaded: return .overloaded
        case RPCErrorCode.deadlineExceeded: return .timeout
        case RPCErrorCode.unknownMessageType: return .unknownMessageType(type)
        default: return .remote(code: code, message: message)
        }
    }
}
