/// A binary min-heap of timed simulator events, ordered by (time, insertion order) so
/// equal times replay in a fixed order.
struct EventHeap<Payload> {
    private struct Item {
        var timeNs: UInt64
        var order: UInt64
        var payload: Payload
    }

    private var items: [Item] = []
    private var nextOrder: UInt64 = 0

    var isEmpty: Bool { items.isEmpty }
    var count: Int { items.count }
    var peekTimeNs: UInt64? { items.first?.timeNs }

    mutating func push(_ timeNs: UInt64, _ payload: Payload) {
        nextOrder += 1
        items.append(Item(timeNs: timeNs, order: nextOrder, payload: payload))
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard less(i, parent) else { break }
            items.swapAt(i, parent)
            i = parent
        }
    }

    mutating func pop() -> (timeNs: UInt64, payload: Payload)? {
        guard !items.isEmpty else { return nil }
        items.swapAt(0, items.count - 1)
        let top = items.removeLast()
        var i = 0
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < items.count && less(l, m) { m = l }
            if r < items.count && less(r, m) { m = r }
            if m == i { break }
            items.swapAt(i, m)
            i = m
        }
        return (top.timeNs, top.payload)
    }

    private func less(_ a: Int, _ b: Int) -> Bool {
        items[a].timeNs != items[b].timeNs ? items[a].timeNs < items[b].timeNs : items[a].order < items[b].order
    }
}
