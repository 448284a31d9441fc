/// A cursor over internal entries (internal key -> value) in ascending internal-key order.
///
/// Contract: after any move, either `isValid` is false or `key`/`value` describe the current
/// entry. `key` and `value` may share storage with the iterator and are only meaningful until
/// the next move. A move that hits bad bytes throws `StorageError.corruption` naming the file
/// and offset; the iterator is then invalid. Not thread-safe: one thread at a time.
public protocol InternalIterator: AnyObject {
    var isValid: Bool { get }
    /// The current internal key (user key ++ 8-byte trailer).
    var key: [UInt8] { get }
    /// The current value.
    var value: ArraySlice<UInt8> { get }
    func seekToFirst() throws(StorageError)
    /// Positions at the first entry whose internal key is >= `target`.
    func seek(_ target: [UInt8]) throws(StorageError)
    func next() throws(StorageError)
}
