import Gossip
import Ring

/// What the membership policy asks its shell to do, in the order returned. The shell
/// performs each one and tells the policy nothing back: the next tick's facts show the
/// outcome (a ring the shell could not gossip is simply proposed again).
enum MembershipAction: Equatable {
    /// Adopt this ring, persist it, and gossip it under "ring" (the claimant's proposal,
    /// or the current ring with its transfers completed).
    case adoptRing(Ring)
    /// Gossip this node's handoff report under "handoff:<id>" with this version.
    case publishHandoffReport(HandoffReport, version: UInt64)
    /// Gossip this node's counter lease under "lease:<id>".
    case publishLease(UInt64)
    /// Change this node's own gossiped admin state (joining -> joined, joined -> leaving).
    case setAdmin(AdminState)
    /// Gossip that another member is removed for good (operator REMOVE).
    case removeMember(String)
    /// Write this event to the operator log.
    case log(OperatorEvents.Event)
    /// Stop this node (the process exits): it left, or was removed. Returned once.
    case shutDown(ShutdownReason)

    /// Why the node stops itself.
    enum ShutdownReason: Equatable {
        /// LEAVE: the ring no longer holds this node, its partitions are handed off.
        case left
        /// REMOVE on another node named this one.
        case removed
    }
}
