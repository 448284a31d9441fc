import Foundation

/// Lifeguard's local-health-aware suspicion: the timer starts at `max` and falls towards
/// `min` (on a log curve) as independent members confirm the suspicion, so a member many
/// see failing is declared dead sooner, and one only we suspect gets the longest time to
/// refute. The member whose suspicion started ours is not counted again.
struct Suspicion: Sendable {
    let incarnation: UInt64
    let startNs: UInt64
    let minNs: UInt64
    let maxNs: UInt64
    /// Confirmations that drive the timer to `min`.
    let k: Int
    private(set) var confirmers: Set<String>

    init(incarnation: UInt64, from: String, startNs: UInt64, minNs: UInt64, maxNs: UInt64, k: Int) {
        self.incarnation = incarnation
        self.startNs = startNs
        self.minNs = minNs
        self.maxNs = max(minNs, maxNs)
        self.k = max(0, k)
        confirmers = [from]
    }

    var confirmations: Int { confirmers.count - 1 }

    /// Records `from` as confirming; true if it was new (and should be re-gossiped).
    mutating func confirm(from: String) -> Bool {
        guard confirmations < k, !confirmers.contains(from) else { return false }
        confirmers.insert(from)
        return true
    }

    /// The instant the member is to be declared dead.
    var deadlineNs: UInt64 {
        startNs + Suspicion.timeoutNs(confirmations: confirmations, k: k, minNs: minNs, maxNs: maxNs)
    }

    static func timeoutNs(confirmations n: Int, k: Int, minNs: UInt64, maxNs: UInt64) -> UInt64 {
        guard k > 0 else { return minNs }
        let fraction = log(Double(n) + 1) / log(Double(k) + 1)
        let raw = Double(maxNs) - fraction * Double(maxNs - minNs)
        return raw <= Double(minNs) ? minNs : UInt64(raw)
    }
}
