import Bytes
import Storage

/// One peer RPC frame: a header (kind, message type, request id, timeout) and an opaque
/// payload. Encoding is in RPC.md; `FrameDecoder` reads frames back from a byte stream.
public struct Frame: Sendable, Equatable {
    public var kind: FrameKind
    /// Raw message type: a `PeerMessageType` for requests, the request's type echoed in
    /// answers, a handshake step for `.handshake`. Kept raw so unknown numbers survive.
    public var type: UInt16
    public var requestID: UInt64
    /// The caller's remaining time budget when the frame left, in ms; 0 = no deadline.
    /// Relative, so peers need no synchronized clocks.
    public var timeoutMs: UInt32
    public var payload: [UInt8]

    public init(kind: FrameKind, type: UInt16, requestID: UInt64, timeoutMs: UInt32 = 0, payload: [UInt8] = []) {
        self.kind = kind
        self.type = type
        self.requestID = requestID
        self.timeoutMs = timeoutMs
        self.payload = payload
    }

    public var encodedBytes: Int { FrameFormat.headerBytes + payload.count }

    /// Appends the frame's wire bytes. The payload must fit in UInt32 (callers bound it
    /// far lower with `maxFrameBytes`).
    public func encode(into out: inout [UInt8]) {
        precondition(payload.count <= Int(UInt32.max) - FrameFormat.headerBytes, "frame payload too large")
        let start = out.count
        out.reserveCapacity(start + encodedBytes)
        out.append(FrameFormat.magic0)
        out.append(FrameFormat.magic1)
        out.append(FrameFormat.version)
        out.append(kind.rawValue)
        out.appendU16BE(type)
        out.appendU64BE(requestID)
        out.appendU32BE(timeoutMs)
        out.appendU32BE(UInt32(payload.count))
        var crc = out.withUnsafeBytes { CRC32C.extend(0, UnsafeRawBufferPointer(rebasing: $0[start..<(start + FrameFormat.crcOffset)])) }
        crc = payload.withUnsafeBytes { CRC32C.extend(crc, $0) }
        out.appendU32BE(crc)
        out.append(contentsOf: payload)
    }

    public func encoded() -> [UInt8] {
        var out: [UInt8] = []
        encode(into: &out)
        return out
    }
}

/// Why a byte stream is not a valid frame sequence. Any of these ends the connection:
/// after a bad frame the stream position is lost.
public enum FrameError: Error, Sendable, Equatable {
    case badMagic
    case unsupportedVersion(UInt8)
    case unknownKind(UInt8)
    /// The length field announces more than the decoder's bound.
    case tooLarge(bytes: Int, max: Int)
    case checksumMismatch
}
