/// Redis's integer arguments (its `string2ll`): an optional `-`, then digits with no
/// leading zero (`0` itself excepted), no `+`, no spaces, within Int64. Anything else is
/// `-ERR value is not an integer or out of range` for the command that asked.
public enum RedisInteger {
    public static func parse<C: Collection>(_ bytes: C) -> Int64? where C.Element == UInt8 {
        guard !bytes.isEmpty, bytes.count <= 20 else { return nil }
        var it = bytes.makeIterator()
        guard var c = it.next() else { return nil }
        if bytes.count == 1 && c == 0x30 { return 0 }
        let negative = c == UInt8(ascii: "-")
        if negative {
            guard let next = it.next() else { return nil }
            c = next
        }
        guard c >= 0x31 && c <= 0x39 else { return nil }
        var magnitude = UInt64(c - 0x30)
        while let d = it.next() {
            guard d >= 0x30 && d <= 0x39 else { return nil }
            let (times10, o1) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(UInt64(d - 0x30))
            guard !o1, !o2 else { return nil }
            magnitude = sum
        }
        if negative {
            guard magnitude <= UInt64(1) << 63 else { return nil }
            return magnitude == UInt64(1) << 63 ? Int64.min : -Int64(magnitude)
        }
        guard magnitude <= UInt64(Int64.max) else { return nil }
        return Int64(magnitude)
    }
}
