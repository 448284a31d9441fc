/// Updates waiting to piggyback on outgoing packets (memberlist's TransmitLimitedQueue).
///
/// One entry per subject (a member id or a state key): a newer update replaces the older
/// one, so stale news is never sent. Each entry goes out `limit` times; packets take the
/// least-sent entries first and, among equals, the newest, until the byte budget is spent.
/// Bounded by `capacity`: when full, the most-sent entry is dropped (push-pull repairs).
struct BroadcastQueue: Sendable {
    private struct Entry: Sendable {
        var subject: String
        var bytes: [UInt8]
        var transmits: Int
        var order: UInt64
    }

    private var entries: [Entry] = []
    private var index: [String: Int] = [:]
    private var nextOrder: UInt64 = 0
    let capacity: Int

    init(capacity: Int) { self.capacity = max(1, capacity) }

    var count: Int { entries.count }
    var isEmpty: Bool { entries.isEmpty }

    /// Queues `message` about `subject`, replacing any older update about it.
    mutating func enqueue(subject: String, message: GossipMessage) {
        var bytes = [UInt8]()
        message.encode(into: &bytes)
        nextOrder += 1
        if let i = index[subject] {
            entries[i] = Entry(subject: subject, bytes: bytes, transmits: 0, order: nextOrder)
            return
        }
        if entries.count >= capacity, let worst = entries.indices.max(by: { entries[$0].transmits < entries[$1].transmits }) {
            remove(at: worst)
        }
        index[subject] = entries.count
        entries.append(Entry(subject: subject, bytes: bytes, transmits: 0, order: nextOrder))
    }

    /// Takes encoded messages fitting in `budgetBytes`, counting a transmission for each;
    /// entries sent `limit` times are retired.
    mutating func take(budgetBytes: Int, limit: Int) -> [UInt8] {
        guard !entries.isEmpty, budgetBytes > WireFormat.messageHeaderBytes else { return [] }
        let order = entries.indices.sorted {
            let a = entries[$0], b = entries[$1]
            return a.transmits != b.transmits ? a.transmits < b.transmits : a.order > b.order
        }
        var out = [UInt8]()
        var spent = 0
        var retired: [Int] = []
        for i in order {
            let size = entries[i].bytes.count
            guard spent + size <= budgetBytes else { continue }
            out.append(contentsOf: entries[i].bytes)
            spent += size
            entries[i].transmits += 1
            if entries[i].transmits >= limit { retired.append(i) }
            if budgetBytes - spent <= WireFormat.messageHeaderBytes { break }
        }
        for i in retired.sorted(by: >) { remove(at: i) }
        return out
    }

    private mutating func remove(at i: Int) {
        let last = entries.count - 1
        index[entries[i].subject] = nil
        if i != last {
            entries[i] = entries[last]
            index[entries[i].subject] = i
        }
        entries.removeLast()
    }
}
