import Synchronization

/// A fixed set of bits, set concurrently without a lock (a bit once set stays set): which
/// data blocks of a mapped table have had their checksum verified.
final class VerifiedBits: @unchecked Sendable {
    private let words: UnsafeMutablePointer<Atomic<UInt64>>
    private let wordCount: Int

    init(count: Int) {
        wordCount = max(1, (count + 63) / 64)
        words = .allocate(capacity: wordCount)
        for i in 0..<wordCount { (words + i).initialize(to: Atomic<UInt64>(0)) }
    }

    deinit { words.deallocate() }

    @inline(__always)
    func contains(_ i: Int) -> Bool {
        guard i >= 0, i >> 6 < wordCount else { return false }
        return words[i >> 6].load(ordering: .acquiring) & (1 << UInt64(i & 63)) != 0
    }

    func insert(_ i: Int) {
        guard i >= 0, i >> 6 < wordCount else { return }
        words[i >> 6].bitwiseOr(1 << UInt64(i & 63), ordering: .releasing)
    }
}
