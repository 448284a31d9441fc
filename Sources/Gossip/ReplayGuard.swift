/// Remembers the MACs of the authenticated packets and push-pull frames accepted within the
/// clock-skew window, so one replayed inside the window is dropped (issue 14: the window
/// alone let anyone on path replay a captured packet, a stale suspicion or a departure,
/// for up to 120 s). Bounded: past `capacity` the oldest tags go, and from then on anything
/// signed no later than the newest evicted tag's time is refused as a possible replay (a
/// true packet that old is at worst lost, as UDP may lose it).
public struct ReplayGuard: Sendable {
    public let capacity: Int
    private var seen: Set<UInt64> = []
    /// Tags in the order accepted, with their signed time and when they were accepted.
    private var order: [(tag: UInt64, signedMs: UInt64, acceptedMs: UInt64)] = []
    private var head = 0
    /// Anything signed at or before this was possibly evicted and is refused.
    public private(set) var floorMs: UInt64 = 0

    public init(capacity: Int = 65_536) {
        self.capacity = max(1, capacity)
    }

    public var count: Int { seen.count }

    /// The tag of a signed packet: the first 8 bytes of its MAC, which is its last 32 bytes.
    public static func tag(of bytes: [UInt8]) -> UInt64? {
        guard bytes.count >= HMACSHA256.macBytes else { return nil }
        var t: UInt64 = 0
        for b in bytes[(bytes.count - HMACSHA256.macBytes)...].prefix(8) { t = t << 8 | UInt64(b) }
        return t
    }

    /// Whether a packet with `tag`, signed at `signedMs`, is new (and remembers it). Tags
    /// accepted more than twice the window ago are forgotten: their packets are stale now.
    public mutating func admit(tag: UInt64, signedMs: UInt64, nowMs: UInt64, windowMs: UInt64) -> Bool {
        while head < order.count, order[head].acceptedMs &+ 2 &* windowMs < nowMs {
            seen.remove(order[head].tag)
            head += 1
        }
        guard signedMs > floorMs || floorMs == 0, !seen.contains(tag) else { return false }
        if seen.count >= capacity, head < order.count {
            floorMs = max(floorMs, order[head].signedMs)
            seen.remove(order[head].tag)
            head += 1
        }
        seen.insert(tag)
        order.append((tag, signedMs, nowMs))
        if head > 4_096, head * 2 > order.count {
            order.removeFirst(head)
            head = 0
        }
        return true
    }
}
