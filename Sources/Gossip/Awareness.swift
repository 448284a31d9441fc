/// Lifeguard's local health multiplier. A node that misses acks it should have had, or has
/// to refute suspicions of itself, is probably the slow one: it stretches its own probe
/// timeouts by (score + 1) rather than blame others. Successful probes bring it back.
struct Awareness: Sendable {
    let maxMultiplier: Int
    private(set) var score = 0

    init(maxMultiplier: Int) { self.maxMultiplier = max(1, maxMultiplier) }

    mutating func apply(delta: Int) {
        score = min(max(score + delta, 0), maxMultiplier - 1)
    }

    func scaled(_ ns: UInt64) -> UInt64 { ns * UInt64(score + 1) }
}
