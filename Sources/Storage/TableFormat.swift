// Frozen constants of the table (SSTable) file format. The grammar and a worked example are
// in FORMAT.md, "Tables". APPEND-ONLY: never change a value written here, never reuse a
// retired one; a new layout gets a new `formatVersion`.

import Bytes

/// Constants of the on-disk table format (FORMAT.md, "Tables").
enum TableFormat {
    /// Last 8 bytes of every table, little-endian: the ASCII bytes "CHORUSST" on disk.
    static let magic: UInt64 = 0x5453_5355_524F_4843

    /// Version of the table layout, stored in the footer. Readers reject any other value.
    static let formatVersion: UInt32 = 1

    /// Every block is followed by: compression type (1 byte) + masked CRC-32C (fixed32).
    static let blockTrailerSize = 5

    /// Compression type byte of a block stored as is. No other type is defined (yet).
    static let compressionNone: UInt8 = 0

    /// A block handle is varint64 offset + varint64 size: at most 10 + 10 bytes.
    static let maxBlockHandleSize = 20

    /// Footer: metaindex handle, index handle, zero padding up to 40 bytes, fixed32 format
    /// version, fixed32 masked CRC-32C of the 44 bytes before it, fixed64 magic.
    static let footerHandlesSize = 2 * maxBlockHandleSize
    static let footerSize = footerHandlesSize + 4 + 4 + 8

    /// Metaindex key under which the table's bloom filter block is recorded.
    static let filterMetaKey: [UInt8] = Array("filter.chorus.bloom".utf8)

    /// Seed of the bloom filter hash (LevelDB's `BloomHash` seed). Part of the format.
    static let bloomHashSeed: UInt32 = 0xBC9F_1D34

    /// Filter byte for the probe count k: 1...30 are valid; larger values are reserved and
    /// read as "may contain" (so a future encoding degrades to no filtering, not to errors).
    static let maxBloomProbes = 30
}

/// Where a block lies in a table file: offset and size of its contents (the 5-byte trailer
/// follows and is not counted). Encoded as varint64 offset, varint64 size.
struct BlockHandle: Equatable, Sendable {
    var offset: UInt64
    var size: UInt64

    func encode(into out: inout [UInt8]) {
        out.appendVarint(offset)
        out.appendVarint(size)
    }

    var encoded: [UInt8] {
        var out = [UInt8]()
        encode(into: &out)
        return out
    }

    /// Decodes a handle at `offset`, advancing it; nil if the bytes are malformed.
    static func decode(_ buf: UnsafeRawBufferPointer, at offset: inout Int) -> BlockHandle? {
        var p = offset
        guard let o = UnsafeByteReader.varint(buf, at: &p), let s = UnsafeByteReader.varint(buf, at: &p) else { return nil }
        offset = p
        return BlockHandle(offset: o, size: s)
    }

    static func decode(_ bytes: ArraySlice<UInt8>) -> BlockHandle? {
        bytes.withUnsafeBytes { buf in
            var p = 0
            return decode(buf, at: &p)
        }
    }
}
