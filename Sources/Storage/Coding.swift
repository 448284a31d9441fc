// Little-endian fixed-width integers and LEB128 varints, as LevelDB's coding.h.
// Writers append to [UInt8]; readers take a buffer and an offset and return nil when the
// bytes run out or are malformed, so nothing read from disk can trap.

extension Array where Element == UInt8 {
    @inlinable mutating func appendFixed32(_ value: UInt32) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }

    @inlinable mutating func appendFixed64(_ value: UInt64) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }

    @inlinable mutating func appendVarint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        append(UInt8(v))
    }

    @inlinable mutating func appendVarint(_ value: Int) { appendVarint(UInt64(value)) }

    /// Appends varint length then the bytes.
    @inlinable mutating func appendLengthPrefixed<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        appendVarint(UInt64(bytes.count))
        append(contentsOf: bytes)
    }

    /// Overwrites 4 bytes at `offset` with `value`, little-endian.
    @inlinable mutating func storeFixed32(_ value: UInt32, at offset: Int) {
        var v = value
        for i in 0..<4 {
            self[offset + i] = UInt8(truncatingIfNeeded: v)
            v >>= 8
        }
    }
}

/// Bounds-checked decoding of fixed and varint integers from a raw buffer.
@usableFromInline
enum Coding {
    @inlinable static func fixed32(_ buf: UnsafeRawBufferPointer, at offset: Int) -> UInt32? {
        guard offset >= 0, offset + 4 <= buf.count else { return nil }
        return UInt32(littleEndian: buf.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    @inlinable static func fixed64(_ buf: UnsafeRawBufferPointer, at offset: Int) -> UInt64? {
        guard offset >= 0, offset + 8 <= buf.count else { return nil }
        return UInt64(littleEndian: buf.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    /// Reads a varint of at most 10 bytes starting at `offset`, advancing it.
    @inlinable static func varint(_ buf: UnsafeRawBufferPointer, at offset: inout Int) -> UInt64? {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        var i = offset
        while i < buf.count, shift <= 63 {
            let byte = buf[i]
            i += 1
            // The tenth byte may carry only the top bit of a UInt64.
            if shift == 63 && byte > 1 { return nil }
            result |= UInt64(byte & 0x7f) << shift
            if byte < 0x80 {
                offset = i
                return result
            }
            shift += 7
        }
        return nil
    }

    /// Reads a varint that must fit an Int no larger than `limit`.
    @inlinable static func varintInt(_ buf: UnsafeRawBufferPointer, at offset: inout Int, limit: Int = Int(Int32.max)) -> Int? {
        guard let v = varint(buf, at: &offset), v <= UInt64(limit) else { return nil }
        return Int(v)
    }

    /// Reads a varint length then that many bytes.
    @inlinable static func lengthPrefixed(_ buf: UnsafeRawBufferPointer, at offset: inout Int) -> [UInt8]? {
        var o = offset
        guard let n = varintInt(buf, at: &o), o + n <= buf.count else { return nil }
        offset = o + n
        return Array(buf[o..<(o + n)])
    }
}

extension Array where Element == UInt8 {
    /// `withUnsafeBytes` for bodies with typed `StorageError` throws.
    @inlinable
    func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws(StorageError) -> R) throws(StorageError) -> R {
        var result: Result<R, StorageError>?
        withUnsafeBytes { buf in
            do throws(StorageError) { result = .success(try body(buf)) } catch { result = .failure(error) }
        }
        guard let result else { preconditionFailure("withUnsafeBytes did not call its body") }
        return try result.get()
    }
}

extension Array where Element == UInt8 {
    /// Makes the array hold `bytes`, in place when the size is unchanged (no allocation,
    /// no generic range replacement on the per-entry paths).
    @inline(__always)
    mutating func assign(_ bytes: UnsafeRawBufferPointer) {
        if count == bytes.count {
            if let src = bytes.baseAddress { withUnsafeMutableBytes { $0.baseAddress.unsafelyUnwrapped.copyMemory(from: src, byteCount: bytes.count) } }
        } else {
            removeAll(keepingCapacity: true)
            append(contentsOf: bytes)
        }
    }
}
