// Every batch that crosses the peer RPC link is bounded in bytes as well as in count
// (issue 14): a batch of 256 hints of 16 MiB values once made a 4 GiB frame, over the
// 64 MiB frame bound, refused and retried forever. A batch always holds at least one item
// (one record, at most a 16 MiB value and an 8 KiB key, always fits a frame).

/// Splits work into batches bounded in count and bytes.
enum BatchBounds {
    /// Bytes of records per batch: well under the 64 MiB frame bound, and small enough
    /// that one batch does not hold a peer's reader for long.
    static let maxBatchBytes = 4 << 20

    /// `items` in order, cut into batches of at most `maxCount` items and `maxBytes` bytes
    /// (by `size`), each with at least one item.
    static func split<T>(_ items: [T], maxCount: Int, maxBytes: Int = maxBatchBytes, size: (T) -> Int) -> [[T]] {
        var out: [[T]] = []
        var current: [T] = []
        var bytes = 0
        for item in items {
            let n = size(item)
            if !current.isEmpty, current.count >= maxCount || bytes + n > maxBytes {
                out.append(current)
                current = []
                bytes = 0
            }
            current.append(item)
            bytes += n
        }
        if !current.isEmpty { out.append(current) }
        return out
    }
}
