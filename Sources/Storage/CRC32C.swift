import CSystem

/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78): the CPU's crc32 instruction when it
/// has one, else portable slicing-by-8 table code; plus LevelDB's masking so that a CRC stored
/// inside checksummed data does not checksum to a fixed point. Both paths are checked against
/// RFC 3720 (iSCSI) test vectors in CRC32CTests.
public enum CRC32C {
    /// Whether `extend` uses the CPU instruction (decided once per process).
    public static let usesHardware = chorus_crc32c_hardware_available() != 0

    @usableFromInline static let tables: [UInt32] = {
        var t = [UInt32](repeating: 0, count: 8 * 256)
        for i in 0..<256 {
            var crc = UInt32(i)
            for _ in 0..<8 { crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
            t[i] = crc
        }
        for i in 0..<256 {
            for k in 1..<8 {
                let prev = t[(k - 1) * 256 + i]
                t[k * 256 + i] = (prev >> 8) ^ t[Int(prev & 0xff)]
            }
        }
        return t
    }()

    /// The CRC of `bytes` continuing from `crc` (0 to start a new one).
    @inlinable
    public static func extend(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        if usesHardware {
            guard let base = bytes.baseAddress else { return crc }
            return ~chorus_crc32c_hardware(~crc, base, bytes.count)
        }
        return extendPortable(crc, bytes)
    }

    /// The table-driven CRC, independent of the CPU.
    @inlinable
    public static func extendPortable(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var c = ~crc
        let n = bytes.count
        guard n > 0, let base = bytes.baseAddress else { return crc }
        tables.withUnsafeBufferPointer { t in
            var i = 0
            while i + 8 <= n {
                let lo = UInt32(littleEndian: base.loadUnaligned(fromByteOffset: i, as: UInt32.self)) ^ c
                let hi = UInt32(littleEndian: base.loadUnaligned(fromByteOffset: i + 4, as: UInt32.self))
                c = t[7 * 256 + Int(lo & 0xff)] ^ t[6 * 256 + Int((lo >> 8) & 0xff)]
                    ^ t[5 * 256 + Int((lo >> 16) & 0xff)] ^ t[4 * 256 + Int(lo >> 24)]
                    ^ t[3 * 256 + Int(hi & 0xff)] ^ t[2 * 256 + Int((hi >> 8) & 0xff)]
                    ^ t[1 * 256 + Int((hi >> 16) & 0xff)] ^ t[Int(hi >> 24)]
                i += 8
            }
            while i < n {
                c = t[Int((c ^ UInt32(bytes[i])) & 0xff)] ^ (c >> 8)
                i += 1
            }
        }
        return ~c
    }

    @inlinable
    public static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 { extend(0, bytes) }

    @inlinable
    public static func checksum(_ bytes: [UInt8]) -> UInt32 { bytes.withUnsafeBytes { extend(0, $0) } }

    @inlinable
    public static func checksum(_ bytes: ArraySlice<UInt8>) -> UInt32 { bytes.withUnsafeBytes { extend(0, $0) } }

    static let maskDelta: UInt32 = 0xa282_ead8

    /// LevelDB's mask: rotate right 15 and add a constant.
    @inlinable public static func mask(_ crc: UInt32) -> UInt32 { ((crc >> 15) | (crc << 17)) &+ 0xa282_ead8 }

    @inlinable public static func unmask(_ masked: UInt32) -> UInt32 {
        let rot = masked &- 0xa282_ead8
        return (rot >> 17) | (rot << 15)
    }
}
