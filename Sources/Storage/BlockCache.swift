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

    struct Key: Equatable {
        var fileNumber: UInt64
        var offset: UInt64
    }

    /// One LRU shard: nodes in an array linked by index (no per-entry object), a free list,
    /// and an open-addressing table (linear probing, at most half full, backward-shift
    /// deletion) from the key's stable hash to node index. No Hasher, no Dictionary: a
    /// lookup is a few array reads.
    struct Shard {
        struct Node {
            var key: Key
            var hash: UInt64
            var block: Block?
            var charge: Int
            var prev: Int32
            var next: Int32
        }

        let capacityBytes: Int
        var nodes: [Node] = []
        var free: [Int32] = []
        /// Node index per slot, -1 when empty. Count is a power of two.
        var slots = [Int32](repeating: -1, count: 64)
        /// Most and least recently used nodes; -1 when empty.
        var head: Int32 = -1
        var tail: Int32 = -1
        var stats = Stats()

        init(capacityBytes: Int) { self.capacityBytes = capacityBytes }

        @inline(__always)
        func home(_ hash: UInt64) -> Int { Int(truncatingIfNeeded: hash >> 16) & (slots.count - 1) }

        /// The slot holding `key`, or the empty slot where it would go.
        @inline(__always)
        func find(_ key: Key, _ hash: UInt64) -> (slot: Int, node: Int32?) {
            let mask = slots.count - 1
            var i = home(hash)
            while true {
                let n = slots[i]
                if n < 0 { return (i, nil) }
                if nodes[Int(n)].key == key { return (i, n) }
                i = (i + 1) & mask
            }
        }

        /// Empties `slot`, shifting later entries of the probe run back so lookups stay correct.
        mutating func removeSlot(_ slot: Int) {
            let mask = slots.count - 1
            var hole = slot
            var j = (slot + 1) & mask
            while slots[j] >= 0 {
                let h = home(nodes[Int(slots[j])].hash)
                // The entry at j may fill the hole if the hole lies on its probe path h...j.
                if (j - h) & mask >= (j - hole) & mask {
                    slots[hole] = slots[j]
                    hole = j
                }
                j = (j + 1) & mask
            }
            slots[hole] = -1
        }

        mutating func growSlots() {
            slots = [Int32](repeating: -1, count: slots.count * 2)
            var i = head
            while i >= 0 {
                let (slot, _) = find(nodes[Int(i)].key, nodes[Int(i)].hash)
                slots[slot] = i
                i = nodes[Int(i)].next
            }
        }

        mutating func unlink(_ i: Int32) {
            let prev = nodes[Int(i)].prev, next = nodes[Int(i)].next
            if prev >= 0 { nodes[Int(prev)].next = next } else { head = next }
            if next >= 0 { nodes[Int(next)].prev = prev } else { tail = prev }
        }

        mutating func pushFront(_ i: Int32) {
            nodes[Int(i)].prev = -1
            nodes[Int(i)].next = head
            if head >= 0 { nodes[Int(head)].prev = i }
            head = i
            if tail < 0 { tail = i }
        }

        mutating func lookup(_ key: Key, _ hash: UInt64) -> Block? {
            guard let i = find(key, hash).node else {
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

        mutating func insert(_ key: Key, _ hash: UInt64, _ block: Block) -> Block? {
            let charge = block.charge
            // A block larger than the whole shard would only flush everything else out.
            guard charge <= capacityBytes else { return nil }
            let (slot, existing) = find(key, hash)
            var replaced: Block?
            if let i = existing {
                stats.usageBytes += charge - nodes[Int(i)].charge
                replaced = nodes[Int(i)].block
                nodes[Int(i)].block = block
                nodes[Int(i)].charge = charge
                unlink(i)
                pushFront(i)
            } else {
                let node = Node(key: key, hash: hash, block: block, charge: charge, prev: -1, next: -1)
                let i: Int32
                if let reused = free.popLast() {
                    i = reused
                    nodes[Int(i)] = node
                } else {
                    i = Int32(nodes.count)
                    nodes.append(node)
                }
                slots[slot] = i
                pushFront(i)
                stats.usageBytes += charge
                stats.entryCount += 1
                if stats.entryCount * 2 > slots.count { growSlots() }
            }
            while stats.usageBytes > capacityBytes, tail >= 0 {
                let victim = tail
                unlink(victim)
                var slot = home(nodes[Int(victim)].hash)
                while slots[slot] != victim { slot = (slot + 1) & (slots.count - 1) }
                removeSlot(slot)
                stats.usageBytes -= nodes[Int(victim)].charge
                // Hand one released block back so it is freed outside the lock.
                if replaced == nil { replaced = nodes[Int(victim)].block }
                nodes[Int(victim)].block = nil
                free.append(victim)
                stats.entryCount -= 1
                stats.evictions += 1
            }
            return replaced
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

    /// A stable 64-bit mix of the key (splitmix64 finaliser): low bits pick the shard,
    /// higher bits the slot inside it.
    @inline(__always)
    static func hash(_ key: Key) -> UInt64 {
        var z = key.fileNumber &* 0x9E37_79B9_7F4A_7C15 ^ key.offset
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    @inline(__always)
    private func shard(_ hash: UInt64) -> ShardBox {
        shards[Int(truncatingIfNeeded: hash & UInt64(shards.count - 1))]
    }

    /// The cached block, marked most recently used; nil (a miss) if absent.
    public func lookup(fileNumber: UInt64, offset: UInt64) -> Block? {
        let key = Key(fileNumber: fileNumber, offset: offset)
        let h = Self.hash(key)
        return shard(h).state.withLock { $0.lookup(key, h) }
    }

    /// Caches `block`, evicting least-recently-used blocks of its shard beyond capacity.
    public func insert(fileNumber: UInt64, offset: UInt64, block: Block) {
        let key = Key(fileNumber: fileNumber, offset: offset)
        let h = Self.hash(key)
        let released = shard(h).state.withLock { $0.insert(key, h, block) }
        _ = released  // dropped here, outside the lock
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
