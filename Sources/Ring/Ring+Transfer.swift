// Ownership transfers. A claim does not flip owners: it marks each partition that must
// move with its next owner (`Claim.next`). The node layer streams that partition's data,
// then calls `completingTransfer(of:)`, one partition at a time, so no partition is ever
// without a node that holds its data. Until then both owners receive writes.
//
// Every completion raises the version, so two nodes completing different partitions from
// the same ring produce equal versions and the merge keeps only one of them. The node
// layer should therefore send completions to the claimant, which applies them in turn
// (completing twice is harmless), as it does for every other ring change.

/// One partition changing hands: `from` streams its data to `to`, then `to` owns it.
public struct PartitionMove: Sendable, Hashable, CustomStringConvertible {
    public let partition: Int
    public let from: String
    public let to: String

    public init(partition: Int, from: String, to: String) {
        self.partition = partition
        self.from = from
        self.to = to
    }

    public var description: String { "\(partition): \(from) -> \(to)" }
}

extension Ring {
    /// The moves that take this ring's current owners to `target`'s owners once all of
    /// `target`'s transfers complete, in partition order. `ring.transitions(to: Claim.next(...))`
    /// is the handoff plan of a claim. Rings of different sizes have no plan: empty.
    public func transitions(to target: Ring) -> [PartitionMove] {
        guard target.partitionCount == partitionCount else { return [] }
        var moves: [PartitionMove] = []
        for p in 0..<partitionCount {
            let to = target.futureOwner(of: p)
            if to != owners[p] { moves.append(PartitionMove(partition: p, from: owners[p], to: to)) }
        }
        return moves
    }

    /// The transfers in flight in this ring, in partition order.
    public var pendingMoves: [PartitionMove] {
        (0..<partitionCount).compactMap { p in
            nextOwners[p].map { PartitionMove(partition: p, from: owners[p], to: $0) }
        }
    }

    /// This ring with `partition`'s transfer completed: the next owner becomes the owner,
    /// version + 1. A partition not in transfer (or out of range) leaves the ring as it is,
    /// so a repeated completion message is harmless.
    public func completingTransfer(of partition: Int) -> Ring {
        guard partition >= 0, partition < partitionCount, let next = nextOwners[partition] else { return self }
        var ring = self
        ring.owners[partition] = next
        ring.nextOwners[partition] = nil
        ring.version += 1
        return ring
    }

    /// This ring with `partition`'s transfer called off (the owner keeps it), version + 1.
    /// A partition not in transfer leaves the ring as it is.
    public func cancellingTransfer(of partition: Int) -> Ring {
        guard partition >= 0, partition < partitionCount, nextOwners[partition] != nil else { return self }
        var ring = self
        ring.nextOwners[partition] = nil
        ring.version += 1
        return ring
    }

    /// This ring with every transfer completed at once (version + 1 if there were any):
    /// what simulations and tests use in place of streaming data.
    public func settled() -> Ring {
        guard isTransferring else { return self }
        var ring = self
        for p in 0..<partitionCount {
            if let next = nextOwners[p] {
                ring.owners[p] = next
                ring.nextOwners[p] = nil
            }
        }
        ring.version += 1
        return ring
    }
}
