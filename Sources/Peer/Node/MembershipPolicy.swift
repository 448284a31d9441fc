import Gossip
import Ring

/// The cluster policy of one node: who decides ring changes (the claimant), proposing and
/// settling rings, joining -> joined, leaving and removal, and what the node gossips and
/// logs about it. One implementation, driven by the real node (`Node+Policy.swift`, every
/// 200 ms and on gossip membership events) and by the deterministic cluster in virtual time.
///
/// A pure state machine: no threads, sockets or clock reads. The shell gathers
/// `MembershipFacts`, calls `onTick`, and performs the `MembershipAction`s returned, in
/// order. The same facts give the same actions on every run.
///
/// The rules (unchanged from when they lived in Node.tick):
///  - The claimant is the lowest id (by bytes) among members whose admin state is joined.
///    Liveness does not count: a dead claimant stays the claimant until it is removed or
///    leaves, because a node merely down never changes ownership.
///  - The claimant proposes `Claim.next` over the joining and joined members (the first
///    ring when there is none); partitions that change hands are marked with their next
///    owner. When the ring has transfers and every receiver reports exactly that ring
///    version done (`HandoffReport.settled`), the claimant publishes it settled.
///  - A joining node becomes joined once the ring holds it (as owner or receiver).
///  - A leaving node stops once the ring no longer holds it; a removed node at once.
///  - LEAVE and REMOVE are checked here (`admin`), and performed by the shell through
///    gossip's admin states; the claimant's next proposal does the rest.
///
/// Thread-safety: a value type; the node keeps it under a Mutex and performs the actions
/// after releasing it.
struct MembershipPolicy {
    private var lastReport: HandoffReport?
    private var reportVersion: UInt64 = 0
    private var publishedLease: UInt64 = 0
    private var stopping = false
    private var events = OperatorEvents()

    init() {}

    // MARK: Inputs

    /// One periodic step.
    mutating func onTick(_ facts: MembershipFacts) -> [MembershipAction] {
        var actions: [MembershipAction] = []
        let localID = facts.cluster.localID
        var reports = facts.reports
        reports[localID] = facts.ownReport
        var ring = facts.cluster.ring
        if let next = MembershipPolicy.proposedRing(facts.cluster, partitionCount: facts.partitionCount)
            ?? MembershipPolicy.settledRing(facts.cluster, reports: reports) {
            actions.append(.adoptRing(next))
            ring = ring.map { Ring.merge($0, next) } ?? next
        }
        if facts.admin == .joining, ring?.nodes.contains(localID) == true {
            actions.append(.setAdmin(.joined))
        }
        if lastReport != facts.ownReport {
            lastReport = facts.ownReport
            reportVersion = max(UInt64(max(0, facts.wallMs)), reportVersion + 1)
            actions.append(.publishHandoffReport(facts.ownReport, version: reportVersion))
        }
        if facts.leasedUpTo > 0, facts.leasedUpTo != publishedLease {
            publishedLease = facts.leasedUpTo
            actions.append(.publishLease(facts.leasedUpTo))
        }
        actions += operatorEvents(facts, ring: ring).map(MembershipAction.log)
        let gone = facts.admin == .removed || (facts.admin == .leaving && ring.map { !$0.nodes.contains(localID) } ?? false)
        if gone, !stopping {
            stopping = true
            let removed = facts.admin == .removed
            actions.append(.log(.init(level: .info, msg: removed ? "removed from the cluster; stopping" : "left the cluster; stopping", fields: [])))
            actions.append(.shutDown(removed ? .removed : .left))
        }
        return actions
    }

    /// Gossip changed the member list (a member appeared, changed status or admin state):
    /// the operator log lines for it, without waiting for the tick.
    mutating func onMembersChanged(_ cluster: ClusterSnapshot) -> [MembershipAction] {
        events.observe(members: MembershipPolicy.memberStates(cluster)).map(MembershipAction.log)
    }

    /// An operator's LEAVE (on this node) or REMOVE (of another node): the reply, and the
    /// actions that carry it out when it is accepted. `admin` is this node's own admin
    /// state, `members` every member's as gossip knows them.
    static func admin(_ command: AdminCommand, localID: String, admin: AdminState,
                      members: [String: AdminState]) -> (reply: Result<String, ClientError>, actions: [MembershipAction]) {
        switch command {
        case .leave:
            guard admin == .joined || admin == .joining else {
                return (.failure(ClientError("ERR node is \(admin), cannot leave")), [])
            }
            return (.success("OK leaving: partitions will be handed off, then the node stops"),
                    [.setAdmin(.leaving), .log(.init(level: .info, msg: "leave requested: handing partitions off, then stopping", fields: []))])
        case .remove(let id):
            guard id != localID else { return (.failure(ClientError("ERR cannot remove this node; use LEAVE on it")), []) }
            guard let state = members[id] else { return (.failure(ClientError("ERR unknown node '\(id)'")), []) }
            guard state != .removed else { return (.success("OK \(id) already removed"), []) }
            return (.success("OK removing \(id): its partitions will be rebuilt from the surviving replicas"),
                    [.removeMember(id), .log(.init(level: .info, msg: "member removal requested", fields: [("member", id)]))])
        }
    }

    // MARK: The rules

    /// The member that decides ring and namespace changes: the lowest id among joined members.
    static func claimant(_ cluster: ClusterSnapshot) -> String? {
        Claim.claimant(members: cluster.members.values.filter { $0.admin == AdminState.joined.description }.map(\.id))
    }

    /// If this node is the claimant, the ring that should follow the current one for the
    /// members that are joining or joined (the first ring when there is none); nil
    /// otherwise or when nothing changes.
    static func proposedRing(_ cluster: ClusterSnapshot, partitionCount: Int) -> Ring? {
        guard claimant(cluster) == cluster.localID else { return nil }
        let owners = cluster.members.values.filter {
            $0.admin == AdminState.joining.description || $0.admin == AdminState.joined.description
        }.map(\.id)
        let targetN = cluster.namespaces.maxN
        guard let current = cluster.ring else {
            return try? Claim.initial(partitionCount: partitionCount, members: owners, targetN: targetN)
        }
        let next = Claim.next(current: current, members: owners, targetN: targetN)
        return next.version == current.version ? nil : next
    }

    /// If this node is the claimant and every receiver reported its pulls done for the
    /// current ring version, that ring with its transfers completed; nil otherwise.
    static func settledRing(_ cluster: ClusterSnapshot, reports: [String: HandoffReport]) -> Ring? {
        guard claimant(cluster) == cluster.localID, let ring = cluster.ring else { return nil }
        return HandoffReport.settled(ring, namespaces: cluster.namespaces.namespaces, reports: reports)
    }

    // MARK: Operator log

    private static func memberStates(_ cluster: ClusterSnapshot) -> [String: OperatorEvents.MemberState] {
        var out: [String: OperatorEvents.MemberState] = [:]
        for m in cluster.members.values { out[m.id] = .init(status: m.status, admin: m.admin) }
        return out
    }

    /// Member changes, the ring this node holds after this tick, transfers, hint backlogs
    /// and repair activity, each logged once per change.
    private mutating func operatorEvents(_ facts: MembershipFacts, ring: Ring?) -> [OperatorEvents.Event] {
        var out = events.observe(members: MembershipPolicy.memberStates(facts.cluster))
        if let ring {
            out += events.observe(ringVersion: ring.version, owned: ring.partitions(ownedBy: facts.cluster.localID).count,
                                  transferring: ring.isTransferring)
        }
        out += events.observe(transfers: facts.transfers, nowMs: facts.nowMs)
        out += events.observe(hintTargets: facts.hintTargets)
        out += events.observe(repairKeysSent: facts.repairKeysSent, received: facts.repairKeysReceived, nowMs: facts.nowMs)
        return out
    }
}
