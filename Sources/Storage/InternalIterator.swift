/// A cursor over internal entries (internal key -> value) in ascending internal-key order.
///
/// Contract: after any move, either `isValid` is false or `keyBytes`/`valueBytes` describe
/// the current entry. Both point into memory the iterator keeps alive (its own key buffer,
/// a memtable arena, a block) and are only meaningful until the next move: callers copy
/// what they keep. Handing out raw bytes instead of arrays spares a retain/release and a
/// copy per step. A move that hits bad bytes throws `StorageError.corruption` naming the
/// file and offset; the iterator is then invalid. Not thread-safe: one thread at a time.
public protocol InternalIterator: AnyObject {
    var isValid: Bool { get }
    /// The current internal key (user key ++ 8-byte trailer), valid until the next move.
    var keyBytes: UnsafeRawBufferPointer { get }
    /// The current value, valid until the next move.
    var valueBytes: UnsafeRawBufferPointer { get }
    func seekToFirst() throws(StorageError)
    /// Positions at the first entry whose internal key is >= `target`.
    func seek(_ target: UnsafeRawBufferPointer) throws(StorageError)
    func next() throws(StorageError)
}

extension InternalIterator {
    /// A copy of the current internal key (tests and cold paths).
    public var key: [UInt8] { Array(keyBytes) }
    /// A copy of the current value (tests and cold paths).
    public var value: ArraySlice<UInt8> { ArraySlice(valueBytes) }

    /// Positions at the first entry whose internal key is >= `target`.
    public func seek(_ target: [UInt8]) throws(StorageError) {
        try target.withBytes { (t) throws(StorageError) in try seek(t) }
    }
}
