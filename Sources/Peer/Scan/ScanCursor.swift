// The SCAN cursor (PROTOCOL.md, "SCAN"). redis-cli --scan parses the cursor with strtoull
// and sends it back in decimal, so the cursor is one decimal UInt64:
//
//   bits 63..47  partition + 1        (17 bits; Q <= 65536, so partition + 1 <= 65536)
//   bits 46..40  ring version & 0x7F  (informational only, see below)
//   bits 39..0   position             (the first 5 bytes of the next key to read, zero-padded)
//
// "0" is both the first cursor and the reply cursor of the last step (Redis convention);
// a cursor of a real position always has a non-zero partition field, so the two never clash.
//
// Position: `prefix5(key)` is the key's first five bytes, zero-padded on the right, as a
// big-endian 40-bit number. It is monotone in key order (k1 <= k2 bytewise implies
// prefix5(k1) <= prefix5(k2)), and `startKey(position)` (the five bytes with trailing zero
// bytes trimmed) is the smallest key whose prefix5 is >= position: for every key k,
// prefix5(k) >= position  <=>  k >= startKey(position). A step therefore resumes exactly at
// the first key of the group it stopped before; chunks never end inside a group (keys
// sharing a prefix5), so nothing is skipped.
//
// The ring version is carried so an operator can see which ring a cursor was made under;
// it is never checked. Partitions are fixed for the life of a cluster (Q never changes), so
// a step after a ring change simply asks whoever owns the partition now.

/// A decoded SCAN cursor: where the next step starts.
public struct ScanCursor: Equatable, Hashable, Sendable, CustomStringConvertible {
    /// The partition the next step starts in.
    public var partition: Int
    /// The low 7 bits of the ring version the cursor was made under (informational).
    public var ringVersion: UInt8
    /// The padded 5-byte prefix of the next key to read, 0 ..< 2^40.
    public var position: UInt64

    public static let positionBits: UInt64 = 40
    public static let maxPosition: UInt64 = (1 << 40) - 1
    /// Q may be at most 2^16: partition + 1 fits the 17 top bits.
    public static let maxPartitionCount = 1 << 16

    /// The first cursor: partition 0, first key.
    public static let start = ScanCursor(partition: 0, ringVersion: 0, position: 0)

    public init(partition: Int, ringVersion: UInt8, position: UInt64) {
        precondition(partition >= 0 && partition < ScanCursor.maxPartitionCount, "ScanCursor: partition out of range")
        precondition(position <= ScanCursor.maxPosition, "ScanCursor: position over 40 bits")
        self.partition = partition
        self.ringVersion = ringVersion & 0x7F
        self.position = position
    }

    /// The cursor as sent to clients; `start` is 0.
    public var rawValue: UInt64 {
        if self == .start { return 0 }
        return (UInt64(partition + 1) << 47) | (UInt64(ringVersion & 0x7F) << 40) | position
    }

    /// A cursor from its number, or nil when the partition field is out of range for Q
    /// (`partitionCount`) or the number is not a cursor (a zero partition field with other bits set).
    public init?(rawValue: UInt64, partitionCount: Int) {
        if rawValue == 0 {
            self = .start
            return
        }
        let field = Int(rawValue >> 47)
        guard field >= 1, field <= partitionCount, partitionCount <= ScanCursor.maxPartitionCount else { return nil }
        self.init(partition: field - 1, ringVersion: UInt8((rawValue >> 40) & 0x7F), position: rawValue & ScanCursor.maxPosition)
    }

    /// Parses the decimal cursor text of a SCAN command (digits only, no sign, fits a UInt64).
    /// nil: `-ERR invalid cursor`.
    public static func parseNumber(_ text: [UInt8]) -> UInt64? {
        guard !text.isEmpty, text.count <= 32 else { return nil }
        var value: UInt64 = 0
        for byte in text {
            guard (0x30...0x39).contains(byte) else { return nil }
            let (times10, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(UInt64(byte - 0x30))
            guard !o1, !o2 else { return nil }
            value = sum
        }
        return value
    }

    /// Parses a client's cursor text against the ring size; nil = `-ERR invalid cursor`.
    public init?(text: [UInt8], partitionCount: Int) {
        guard let raw = ScanCursor.parseNumber(text) else { return nil }
        self.init(rawValue: raw, partitionCount: partitionCount)
    }

    public var description: String { String(rawValue) }

    // MARK: Positions

    /// The key's first five bytes, zero-padded, as a big-endian number.
    @inlinable
    public static func prefix5<C: Collection>(_ key: C) -> UInt64 where C.Element == UInt8 {
        var value: UInt64 = 0
        var n = 0
        for byte in key {
            value = (value << 8) | UInt64(byte)
            n += 1
            if n == 5 { break }
        }
        return value << UInt64(8 * (5 - n))
    }

    /// The smallest key whose `prefix5` is >= `position`: its five bytes with trailing zero
    /// bytes trimmed (empty for position 0).
    public static func startKey(_ position: UInt64) -> [UInt8] {
        var bytes: [UInt8] = (0..<5).map { UInt8(truncatingIfNeeded: position >> UInt64(8 * (4 - $0))) }
        while bytes.last == 0 { bytes.removeLast() }
        return bytes
    }
}
