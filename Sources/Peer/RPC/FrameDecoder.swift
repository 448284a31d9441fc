import Bytes
import Storage

/// Incremental frame decoder: feed it bytes as they arrive, take complete frames out.
///
/// Contract: `next()` returns a frame, nil when more bytes are needed, or throws
/// `FrameError`; it never traps on any input. The header is checked (magic, version,
/// kind, length bound) as soon as its 26 bytes are in, before buffering the payload, so a
/// bad or oversized length never makes the decoder allocate. After an error the decoder
/// stays failed (it throws the same error again): the caller closes the connection.
/// Not thread-safe; one decoder per connection reader.
public struct FrameDecoder: Sendable {
    public private(set) var maxFrameBytes: Int
    private var buffer: [UInt8] = []
    /// Start of unread bytes in `buffer`; bytes before it are consumed.
    private var readIndex = 0
    private var failure: FrameError?

    public init(maxFrameBytes: Int = FrameFormat.defaultMaxFrameBytes) {
        self.maxFrameBytes = max(maxFrameBytes, FrameFormat.headerBytes)
    }

    /// Changes the bound for the frames still to come (bytes already buffered are kept):
    /// a connection's handshake runs with a tiny bound, the authenticated stream with the
    /// full one.
    public mutating func setMaxFrameBytes(_ bytes: Int) {
        maxFrameBytes = max(bytes, FrameFormat.headerBytes)
    }

    /// Bytes received but not yet returned as frames.
    public var bufferedBytes: Int { buffer.count - readIndex }

    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        compactIfWorthwhile()
        buffer.append(contentsOf: bytes)
    }

    public mutating func append<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        compactIfWorthwhile()
        buffer.append(contentsOf: bytes)
    }

    /// The next complete frame, nil if more bytes are needed.
    public mutating func next() throws(FrameError) -> Frame? {
        if let failure { throw failure }
        do {
            return try decodeOne()
        } catch {
            failure = error
            throw error
        }
    }

    private mutating func decodeOne() throws(FrameError) -> Frame? {
        let available = buffer.count - readIndex
        // Reject garbage as early as its first bytes allow, even before a full header.
        if available >= 1, buffer[readIndex] != FrameFormat.magic0 { throw .badMagic }
        if available >= 2, buffer[readIndex + 1] != FrameFormat.magic1 { throw .badMagic }
        if available >= 3, buffer[readIndex + 2] != FrameFormat.version { throw .unsupportedVersion(buffer[readIndex + 2]) }
        if available >= 4, FrameKind(rawValue: buffer[readIndex + 3]) == nil { throw .unknownKind(buffer[readIndex + 3]) }
        guard available >= FrameFormat.headerBytes else { return nil }

        let h = readIndex
        // The whole header is in (checked above), so this cannot be nil; if it ever were,
        // waiting for more bytes is the harmless answer.
        guard let header = FrameDecoder.header(buffer[h..<(h + FrameFormat.headerBytes)]) else { return nil }
        let payloadBytes = header.payloadBytes
        let total = FrameFormat.headerBytes + payloadBytes
        guard total <= maxFrameBytes else { throw .tooLarge(bytes: total, max: maxFrameBytes) }
        guard available >= total else {
            // Reserve at most a little ahead of what arrived: a header alone (from a peer
            // that then sends nothing) must not make us allocate its whole length.
            buffer.reserveCapacity(readIndex + min(total, available + FrameDecoder.reserveAheadBytes))
            return nil
        }
        let payloadStart = h + FrameFormat.headerBytes
        let computed = buffer.withUnsafeBytes { raw -> UInt32 in
            let head = CRC32C.extend(0, UnsafeRawBufferPointer(rebasing: raw[h..<(h + FrameFormat.crcOffset)]))
            return CRC32C.extend(head, UnsafeRawBufferPointer(rebasing: raw[payloadStart..<(payloadStart + payloadBytes)]))
        }
        guard header.crc == computed else { throw .checksumMismatch }
        guard let kind = FrameKind(rawValue: buffer[h + 3]) else { throw .unknownKind(buffer[h + 3]) }
        let frame = Frame(
            kind: kind,
            type: header.type,
            requestID: header.requestID,
            timeoutMs: header.timeoutMs,
            payload: Array(buffer[payloadStart..<(payloadStart + payloadBytes)]))
        readIndex += total
        if readIndex == buffer.count {
            buffer.removeAll(keepingCapacity: buffer.capacity <= 1 << 20)
            readIndex = 0
        }
        return frame
    }

    /// Most bytes reserved beyond what has arrived, for a frame still coming in.
    static let reserveAheadBytes = 1 << 20

    /// The fixed fields after magic, version and kind (RPC.md, "Frame"), all big-endian.
    private struct Header {
        var type: UInt16
        var requestID: UInt64
        var timeoutMs: UInt32
        var payloadBytes: Int
        var crc: UInt32
    }

    /// Reads a header's fields. A function of its own so the slice of `buffer` dies before
    /// `decodeOne` reserves or clears the buffer (a live slice would force a copy).
    private static func header(_ bytes: ArraySlice<UInt8>) -> Header? {
        var r = ByteReader(bytes)
        guard r.skip(4), let type = r.u16BE(), let requestID = r.u64BE(), let timeoutMs = r.u32BE(),
              let length = r.u32BE(), let crc = r.u32BE() else { return nil }
        return Header(type: type, requestID: requestID, timeoutMs: timeoutMs, payloadBytes: Int(length), crc: crc)
    }

    /// Drops consumed bytes once they are most of the buffer, so memory stays bounded by
    /// about two frames and appends stay amortized O(1).
    private mutating func compactIfWorthwhile() {
        guard readIndex > 0, readIndex >= buffer.count / 2 else { return }
        buffer.removeSubrange(0..<readIndex)
        readIndex = 0
    }
}
