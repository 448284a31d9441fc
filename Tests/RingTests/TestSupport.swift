// Shared helpers for the Ring tests: a seeded generator and node-id makers.
@testable import Ring

/// SplitMix64: small, seeded, the same sequence on every machine.
struct SeededRandom: RandomNumberGenerator {
    private(set) var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// "127.0.x.y:7946"-style node ids, numbered from 0.
func nodeID(_ i: Int) -> String { "127.0.\(i / 200).\(i % 200 + 1):7946" }
