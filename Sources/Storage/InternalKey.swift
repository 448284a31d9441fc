import Bytes

#if canImport(Glibc)
import Glibc
#endif

/// Sequence numbers order every write; 56 bits, as in LevelDB.
public typealias SequenceNumber = UInt64

/// What an internal entry says about its user key. Stored on disk: values are frozen.
public enum ValueType: UInt8, Sendable {
    case deletion = 0
    case value = 1
}

/// An internal key is `userKey ++ fixed64le(sequence << 8 | type)`. Internal keys sort by
/// user key ascending (bytewise), then by sequence descending, then type descending, so the
/// newest version of a key comes first. See FORMAT.md, "Internal keys".
public enum InternalKey {
    public static let maxSequence: SequenceNumber = (1 << 56) - 1
    public static let trailerSize = 8

    @inlinable
    public static func make(userKey: [UInt8], sequence: SequenceNumber, type: ValueType) -> [UInt8] {
        var key = [UInt8]()
        key.reserveCapacity(userKey.count + 8)
        key.append(contentsOf: userKey)
        key.appendU64LE(sequence << 8 | UInt64(type.rawValue))
        return key
    }

    /// Appends an internal key to `out` (reusing its storage).
    @inlinable
    public static func append<C: Collection>(userKey: C, sequence: SequenceNumber, type: ValueType, to out: inout [UInt8]) where C.Element == UInt8 {
        out.append(contentsOf: userKey)
        out.appendU64LE(sequence << 8 | UInt64(type.rawValue))
    }

    /// The key to seek to for "newest version of userKey visible at sequence".
    @inlinable
    public static func lookup(userKey: [UInt8], sequence: SequenceNumber) -> [UInt8] {
        make(userKey: userKey, sequence: sequence, type: .value)
    }

    /// The trailer (sequence << 8 | type) of a well-formed internal key, nil if too short.
    @inlinable
    public static func trailer(_ key: UnsafeRawBufferPointer) -> UInt64? {
        UnsafeByteReader.u64LE(key, at: key.count - 8)
    }

    @inlinable
    public static func trailer(_ key: [UInt8]) -> UInt64? {
        key.withUnsafeBytes { trailer($0) }
    }

    @inlinable
    public static func userKey(_ key: [UInt8]) -> ArraySlice<UInt8> {
        key[0..<max(0, key.count - 8)]
    }

    /// Compares two internal keys; keys shorter than a trailer sort by raw bytes first.
    @inlinable
    public static func compare(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Int {
        guard a.count >= 8, b.count >= 8 else { return Bytewise.compare(a, b) }
        let c = Bytewise.compare(UnsafeRawBufferPointer(rebasing: a[0..<(a.count - 8)]),
                              UnsafeRawBufferPointer(rebasing: b[0..<(b.count - 8)]))
        if c != 0 { return c }
        let ta = a.loadUnaligned(fromByteOffset: a.count - 8, as: UInt64.self)
        let tb = b.loadUnaligned(fromByteOffset: b.count - 8, as: UInt64.self)
        let x = UInt64(littleEndian: ta), y = UInt64(littleEndian: tb)
        return x > y ? -1 : (x < y ? 1 : 0)
    }

    @inlinable
    public static func compare(_ a: [UInt8], _ b: [UInt8]) -> Int {
        a.withUnsafeBytes { ra in b.withUnsafeBytes { rb in compare(ra, rb) } }
    }
}

/// Bytewise comparison helpers on raw bytes (memcmp, then length).
public enum Bytewise {
    @inlinable
    public static func compare(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Int {
        let n = min(a.count, b.count)
        if n > 0, let pa = a.baseAddress, let pb = b.baseAddress {
            let c = memcmp(pa, pb, n)
            if c != 0 { return Int(c) }
        }
        return a.count < b.count ? -1 : (a.count > b.count ? 1 : 0)
    }

    @inlinable
    public static func compare<A: ContiguousBytes, B: ContiguousBytes>(_ a: A, _ b: B) -> Int {
        a.withUnsafeBytes { ra in b.withUnsafeBytes { rb in compare(ra, rb) } }
    }
}

/// Anything whose bytes can be borrowed contiguously (arrays and array slices).
public protocol ContiguousBytes {
    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R
}
extension Array: ContiguousBytes where Element == UInt8 {}
extension ArraySlice: ContiguousBytes where Element == UInt8 {}
extension UnsafeRawBufferPointer: ContiguousBytes {
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R { try body(self) }
}
