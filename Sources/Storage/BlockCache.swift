import Synchronization

// A bounded cache of parsed table blocks, shared by every open table of a store.
//
// Keyed by (table file number, block offset): file numbers are never reused, so entries of a
// deleted table are simply never hit again and age out. Split into shards, each an LRU list
// behind its own Mutex, chosen by a stable mix of the key (never Hasher), so concurrent
// readers rarely contend. Each shard evicts least-recently-used blocks while its byte usage
// exceeds capacity / shardCount. Evicting only drops the cache's reference: an iterator still
// reading a block keeps it alive by ARC.
//
// Thread-safe: every method may be called from any thread.

/// Thread-safe LRU cache of parsed blocks, bounded by total bytes.
public final class BlockCache: Sendable {
    /// Counters since creation plus current occupancy.
    public struct Stats: Sendable, Equatable {
        public var hits: UInt64 = 0
        public var misses: UInt64 = 0
        public var evictions: UInt64 = 0
        public var usageBytes = 0
        public var entryCount = 0
    }

    struct Key: Hashable {
        var fileNumber: UInt64
        var offset: UInt64
    }

    /// One LRU shard: nodes in an array linked by index (no per-entry class), a free list,
    /// and a dictionary from key to node index.
    struct Shard {
        struct Node {
            var key: Key
            var block: Block?
            var charge: Int
            var prev: Int32
            var next: Int32
        }

        let capacityBytes: Int
        var map: [Key: Int32] = [:]
        var nodes: [Node] = []
        var free: [Int32] = []
        /// Most and least recently used nodes; -1 when empty.
        var head: Int32 = -1
        var tail: Int32 = -1
        var stats = Stats()

        init(capacityBytes: Int) { self.capacityBytes = capacityBytes }

        mutating func unlink(_ i: Int32) {
            let n = nodes[Int(i)]
            if n.prev >= 0 { nodes[Int(n.prev)].next = n.next } else { head = n.next }
            if n.next >= 0 { nodes[Int(n.next)].prev = n.prev } else { tail = n.prev }
        }

        mutating func pushFront(_ i: Int32) {
            nodes[Int(i)].prev = -1
            nodes[Int(i)].next = head
            if head >= 0 { nodes[Int(head)].prev = i }
            head = i
            if tail < 0 { tail = i }
        }

        mutating func lookup(_ key: Key) -> Block? {
            guard let i = map[key] else {
                stats.misses += 1
                return nil
            }
            stats.hits += 1
            if head != i {
                unlink(i)
                pushFront(i)
            }
            return nodes[Int(i)].block
        }

        mutating func insert(_ key: Key, _ block: Block) {
            let charge = block.charge
            // A block larger than the whole shard would only flush everything else out.
            guard charge <= capacityBytes else { return }
            if let i = map[key] {
                stats.usageBytes += charge - nodes[Int(i)].charge
                nodes[Int(i)].block = block
                nodes[Int(i)].charge = charge
                unlink(i)
                pushFront(i)
            } else {
                let node = Node(key: key, block: block, charge: charge, prev: -1, next: -1)
                let i: Int32
                if let reused = free.popLast() {
                    i = reused
                    nodes[Int(i)] = node
                } else {
                    i = Int32(nodes.count)
                    nodes.append(node)
                }
                map[key] = i
                pushFront(i)
                stats.usageBytes += charge
                stats.entryCount += 1
            }
            while stats.usageBytes > capacityBytes, tail >= 0 {
                let victim = tail
                unlink(victim)
                map[nodes[Int(victim)].key] = nil
                stats.usageBytes -= nodes[Int(victim)].charge
                nodes[Int(victim)].block = nil
                free.append(victim)
                stats.entryCount -= 1
                stats.evictions += 1
            }
        }
    }

    final class ShardBox: Sendable {
        let state: Mutex<Shard>
        init(capacityBytes: Int) { state = Mutex(Shard(capacityBytes: capacityBytes)) }
    }

    public let capacityBytes: Int
    private let shards: [ShardBox]

    /// `capacityBytes` is split evenly over `shardCount` shards (a power of two).
    public init(capacityBytes: Int = 8 << 20, shardCount: Int = 16) {
        precondition(capacityBytes >= 0 && shardCount >= 1 && shardCount & (shardCount - 1) == 0,
                     "cache needs a capacity >= 0 and a power-of-two shard count")
        self.capacityBytes = capacityBytes
        shards = (0..<shardCount).map { _ in ShardBox(capacityBytes: capacityBytes / shardCount) }
    }

    /// A stable 64-bit mix of the key (splitmix64 finaliser); the top bits pick the shard.
    @inline(__always)
    private func shard(_ key: Key) -> ShardBox {
        var z = key.fileNumber &* 0x9E37_79B9_7F4A_7C15 ^ key.offset
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return shards[Int(truncatingIfNeeded: z & UInt64(shards.count - 1))]
    }

    /// The cached block, marked most recently used; nil (a miss) if absent.
    public func lookup(fileNumber: UInt64, offset: UInt64) -> Block? {
        let key = Key(fileNumber: fileNumber, offset: offset)
        return shard(key).state.withLock { $0.lookup(key) }
    }

    /// Caches `block`, evicting least-recently-used blocks of its shard beyond capacity.
    public func insert(fileNumber: UInt64, offset: UInt64, block: Block) {
        let key = Key(fileNumber: fileNumber, offset: offset)
        shard(key).state.withLock { $0.insert(key, block) }
    }

    /// Counters and occupancy summed over all shards.
    public var stats: Stats {
        var total = Stats()
        for box in shards {
            let s = box.state.withLock { $0.stats }
            total.hits += s.hits
            total.misses += s.misses
            total.evictions += s.evictions
            total.usageBytes += s.usageBytes
            total.entryCount += s.entryCount
        }
        return total
    }
}
