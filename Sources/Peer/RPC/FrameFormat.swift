/// Frozen constants of the peer RPC wire format. The grammar, byte order and a worked
/// example are in RPC.md beside this file; change the two together.
///
/// APPEND-ONLY: a number below, once released, keeps its meaning forever. A retired
/// number is left as a gap with a comment, never reused.
public enum FrameFormat {
    /// First two bytes of every frame: "CR" (Chorus RPC). Lets a reader reject a stray
    /// client (HTTP, RESP) on the first bytes instead of after a 4 GiB length.
    public static let magic0: UInt8 = 0x43
    public static let magic1: UInt8 = 0x52
    /// Wire version; a peer that does not know it closes the connection.
    public static let version: UInt8 = 1

    /// magic(2) version(1) kind(1) type(2) id(8) timeoutMs(4) length(4) crc(4).
    public static let headerBytes = 26
    /// Offset of the CRC32C field; the checksum covers bytes [0, crcOffset) and the payload.
    public static let crcOffset = 22

    /// Default bound on one frame (header + payload): values reach 16 MiB, batches more.
    public static let defaultMaxFrameBytes = 64 << 20
}

/// What a frame is for. Numbering frozen (append-only, see `FrameFormat`).
public enum FrameKind: UInt8, Sendable, CaseIterable {
    /// Expects exactly one `.response` or `.error` with the same id.
    case request = 1
    /// The successful answer to the request with the same id.
    case response = 2
    /// The failed answer to the request with the same id; payload is an error body.
    case error = 3
    /// Fire and forget: no answer; the id is informational.
    case oneWay = 4
    /// Connection set-up (PeerAuth); the type field says which step.
    case handshake = 5
}

/// Error codes carried in `.error` frames. Numbering frozen (append-only).
public enum RPCErrorCode {
    /// The handler failed; the message says why.
    public static let internalError: UInt16 = 1
    /// The server does not know the request's message type (version skew).
    public static let unknownMessageType: UInt16 = 2
    /// The server refuses work right now; retry elsewhere or later.
    public static let overloaded: UInt16 = 3
    /// The server gave up because the caller's deadline passed.
    public static let deadlineExceeded: UInt16 = 4
    /// First code free for the node layer's own errors; it owns 100...65535.
    public static let firstApplicationCode: UInt16 = 100
}
