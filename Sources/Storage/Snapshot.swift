/// A consistent read view: reads through it see the store as of the moment it was taken.
/// Released when dropped (or by `release()`); while held, compaction keeps what it needs.
public final class Snapshot: @unchecked Sendable {
    public let sequence: SequenceNumber
    private weak var store: Store?
    private var released = false

    init(sequence: SequenceNumber, store: Store) {
        self.sequence = sequence
        self.store = store
    }

    public func release() {
        guard !released else { return }
        released = true
        store?.releaseSnapshot(sequence)
    }

    deinit { release() }
}

/// A range of user keys: [start, end), either side open when nil.
public struct KeyRange: Sendable {
    public var start: [UInt8]?
    public var end: [UInt8]?

    public init(start: [UInt8]? = nil, end: [UInt8]? = nil) {
        self.start = start
        self.end = end
    }

    public static let all = KeyRange()

    /// Every key that begins with `prefix`.
    public static func prefix(_ prefix: [UInt8]) -> KeyRange {
        KeyRange(start: prefix, end: successor(of: prefix))
    }

    /// The smallest key greater than every key with this prefix, nil if none (all 0xff).
    static func successor(of prefix: [UInt8]) -> [UInt8]? {
        var p = prefix
        while let last = p.last {
            if last < 0xff {
                p[p.count - 1] = last + 1
                return p
            }
            p.removeLast()
        }
        return nil
    }

    func contains<K: ContiguousBytes>(_ key: K) -> Bool {
        if let start, Bytewise.compare(key, start) < 0 { return false }
        if let end, Bytewise.compare(key, end) >= 0 { return false }
        return true
    }
}
