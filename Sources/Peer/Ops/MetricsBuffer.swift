/// The exposition text of one scrape, written as UTF-8 bytes into one growing buffer:
/// appending bytes and formatting integers by hand costs a fraction of String appends.
public struct MetricsBuffer {
    public private(set) var bytes: [UInt8] = []

    public init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    @inline(__always) mutating func append(_ text: String) {
        var text = text
        text.withUTF8 { bytes.append(contentsOf: $0) }
    }

    @inline(__always) mutating func append(_ raw: [UInt8]) { bytes.append(contentsOf: raw) }

    @inline(__always) mutating func append(byte: UInt8) { bytes.append(byte) }

    /// Decimal digits of `v`, as `String(v)` writes them.
    mutating func append(_ v: UInt64) {
        if v < 10 { bytes.append(0x30 &+ UInt8(v)); return }
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: enough for 20 digits
        var n = v, count = 0
        withUnsafeMutableBytes(of: &digits) { d in
            while n > 0 {
                d[23 - count] = 0x30 &+ UInt8(n % 10)
                n /= 10
                count += 1
            }
            bytes.append(contentsOf: d[(24 - count)...])
        }
    }

    /// A sample value exactly as `MetricsText.number` spells it.
    mutating func append(number v: Double) {
        if v == v.rounded(), abs(v) < 1e15 {
            let i = Int64(v)
            if i < 0 { bytes.append(UInt8(ascii: "-")) }
            append(i.magnitude)
        } else {
            append(MetricsText.number(v))
        }
    }
}

extension MetricsBuffer {
    @inline(__always) mutating func append(bytes raw: UnsafeBufferPointer<UInt8>) { bytes.append(contentsOf: raw) }
}
