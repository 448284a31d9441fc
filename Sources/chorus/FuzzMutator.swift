/// Seeded input mutation for `chorus fuzz`, in the manner of libFuzzer's mutators: flip
/// bits, overwrite bytes with random or "interesting" values (0, 0xff, 0x7f, 0x80, large
/// lengths in both byte orders), insert, erase, duplicate or splice ranges, truncate. All
/// from one SplitMix64 stream, so `--seed S` replays a run exactly.
struct FuzzMutator {
    private var state: UInt64
    let maxBytes: Int

    init(seed: UInt64, maxBytes: Int) {
        state = seed &+ 0x9E37_79B9_7F4A_7C15
        self.maxBytes = max(1, maxBytes)
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func below(_ n: Int) -> Int { n <= 1 ? 0 : Int(next() % UInt64(n)) }

    mutating func bytes(_ n: Int) -> [UInt8] { (0..<n).map { _ in UInt8(truncatingIfNeeded: next()) } }

    static let interesting: [[UInt8]] = [
        [0], [0xff], [0x7f], [0x80], [0xff, 0xff], [0x7f, 0xff, 0xff, 0xff], [0xff, 0xff, 0xff, 0xff],
        [0x80, 0, 0, 0], [0, 0, 0, 0x80], [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
        [0xff, 0xff, 0xff, 0xff, 0x0f], Array("\r\n".utf8), Array("-1".utf8), Array("99999999999".utf8),
    ]

    /// One to four mutations of `input`; `other` is a second seed for splicing.
    mutating func mutate(_ input: [UInt8], other: [UInt8]) -> [UInt8] {
        var out = input
        for _ in 0...below(4) {
            switch below(9) {
            case 0 where !out.isEmpty:
                let i = below(out.count)
                out[i] ^= 1 << UInt8(below(8))
            case 1 where !out.isEmpty:
                out[below(out.count)] = UInt8(truncatingIfNeeded: next())
            case 2:
                let v = FuzzMutator.interesting[below(FuzzMutator.interesting.count)]
                let at = below(out.count + 1)
                if below(2) == 0 || at + v.count > out.count { out.insert(contentsOf: v, at: at) } else { out.replaceSubrange(at..<(at + v.count), with: v) }
            case 3:
                out.insert(contentsOf: bytes(1 + below(16)), at: below(out.count + 1))
            case 4 where !out.isEmpty:
                let at = below(out.count)
                out.removeSubrange(at..<min(out.count, at + 1 + below(16)))
            case 5 where !out.isEmpty:
                let at = below(out.count)
                let piece = Array(out[at..<min(out.count, at + 1 + below(32))])
                out.insert(contentsOf: piece, at: below(out.count + 1))
            case 6 where !other.isEmpty:
                let from = below(other.count)
                let piece = other[from..<min(other.count, from + 1 + below(64))]
                out.insert(contentsOf: piece, at: below(out.count + 1))
            case 7 where !out.isEmpty:
                out.removeLast(below(out.count) + 1 > out.count ? out.count : below(out.count) + 1)
            default:
                if !out.isEmpty { out[below(out.count)] = 0 }
            }
        }
        if out.count > maxBytes { out.removeLast(out.count - maxBytes) }
        return out
    }
}
