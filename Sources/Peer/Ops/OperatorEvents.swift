/// Turns periodic observations of a peer's state into the log events an operator cares
/// about, each logged once per change: member status and admin changes, ring (ownership)
/// changes, handoff start / finish / stall / error, hint backlogs appearing and draining,
/// and anti-entropy repair activity starting and finishing.
///
/// A pure state machine: MembershipPolicy feeds it what the node sees (on gossip events and every tick),
/// with `nowMs` passed in, and logs the events it returns. Feeding the same state twice
/// returns nothing the second time.
struct OperatorEvents {
    struct Event: CustomStringConvertible, Equatable {
        let level: LogLevel
        let msg: String
        let fields: [(String, String)]

        var description: String { "\(level) \(msg) " + fields.map { "\($0.0)=\($0.1)" }.joined(separator: " ") }

        static func == (a: Event, b: Event) -> Bool {
            a.level == b.level && a.msg == b.msg && a.fields.map(\.0) == b.fields.map(\.0) && a.fields.map(\.1) == b.fields.map(\.1)
        }
    }

    struct MemberState: Equatable {
        var status: String
        var admin: String
    }

    /// How long repair traffic must be quiet before a repair counts as finished.
    static let repairQuietMs: Int64 = 5_000

    private var members: [String: MemberState] = [:]
    private var ringVersion: UInt64?
    private var owned = 0
    private var transferring = false
    private var transfers: [TreeID: (state: TransferStatus.State, error: String)] = [:]
    /// The handoff round in progress: when its first transfer appeared, and its transfers.
    private var round: (startMs: Int64, ids: Set<TreeID>)?
    private var hintTargets: Set<String> = []
    private var repair: (sent: UInt64, received: UInt64)?
    private var repairStart: (sent: UInt64, received: UInt64, atMs: Int64)?
    private var repairLastActivityMs: Int64 = 0

    /// Members other than this node, by id.
    mutating func observe(members now: [String: MemberState]) -> [Event] {
        var events: [Event] = []
        for (id, state) in now.sorted(by: { $0.key < $1.key }) {
            guard let before = members[id] else {
                events.append(Event(level: .info, msg: "member seen", fields: [("member", id), ("status", state.status), ("admin", state.admin)]))
                continue
            }
            if before.status != state.status {
                let bad = state.status == "suspect" || state.status == "dead"
                events.append(Event(level: bad ? .warn : .info, msg: "member state changed",
                                    fields: [("member", id), ("from", before.status), ("to", state.status)]))
            }
            if before.admin != state.admin {
                events.append(Event(level: .info, msg: "member admin state changed",
                                    fields: [("member", id), ("from", before.admin), ("to", state.admin)]))
            }
        }
        members = now
        return events
    }

    /// The ring this node holds: its version, the partitions this node owns, and whether
    /// partitions are moving.
    mutating func observe(ringVersion version: UInt64, owned nowOwned: Int, transferring nowTransferring: Bool) -> [Event] {
        defer {
            ringVersion = version
            owned = nowOwned
            transferring = nowTransferring
        }
        guard let before = ringVersion else {
            return [Event(level: .info, msg: "ring loaded", fields: [("ring_version", String(version)), ("partitions_owned", String(nowOwned)),
                                                                     ("transferring", String(nowTransferring))])]
        }
        guard before != version else { return [] }
        return [Event(level: .info, msg: "ring changed", fields: [
            ("ring_version", String(version)), ("previous_version", String(before)),
            ("partitions_owned", String(nowOwned)), ("previously_owned", String(owned)), ("transferring", String(nowTransferring)),
        ])]
    }

    /// The transfers this node receives. A join or leave moves many partitions at once, so
    /// the info events are per round (the first transfer starting, the last one finishing);
    /// each partition's own start and finish are debug events; stalls and errors are warnings
    /// per partition, once each.
    mutating func observe(transfers now: [TransferStatus], nowMs: Int64) -> [Event] {
        var events: [Event] = []
        var seen: [TreeID: (state: TransferStatus.State, error: String)] = [:]
        var active = 0
        for t in now {
            let state = t.state == .running && nowMs - t.lastProgressMs > 30_000 ? .stalled : t.state
            let ns = String(decoding: t.id.namespace, as: UTF8.self)
            let base = [("partition", String(t.id.partition)), ("namespace", ns), ("from", t.from)]
            let before = transfers[t.id]
            if state != .done { active += 1 }
            // A transfer first seen done ran between two observations (an empty range takes
            // less than a tick): it still is a round, started and finished.
            if before == nil {
                if round == nil {
                    round = (nowMs, [])
                    let fresh = now.filter { $0.state != .done || transfers[$0.id] == nil }
                    let sources = Set(fresh.map(\.from)).sorted().joined(separator: ",")
                    events.append(Event(level: .info, msg: "handoff started", fields: [
                        ("transfers", String(fresh.count)), ("from", sources),
                    ]))
                }
                round?.ids.insert(t.id)
                events.append(Event(level: .debug, msg: "partition handoff started", fields: base))
            }
            if state == .done, before.map({ $0.state != .done }) ?? true {
                let seconds = t.startedMs > 0 ? Double(nowMs - t.startedMs) / 1000 : 0
                events.append(Event(level: .debug, msg: "partition handoff finished", fields: base + [
                    ("keys", String(t.keys)), ("bytes", String(t.bytes)), ("seconds", format1(seconds)),
                ]))
            }
            if state == .stalled, before?.state != .stalled {
                events.append(Event(level: .warn, msg: "handoff stalled", fields: base + [("last_error", t.lastError)]))
            }
            if !t.lastError.isEmpty, t.lastError != (before?.error ?? ""), state != .done {
                events.append(Event(level: .warn, msg: "handoff error", fields: base + [("error", t.lastError)]))
            }
            seen[t.id] = (state, t.lastError)
        }
        if active == 0, let r = round {
            let done = now.filter { r.ids.contains($0.id) }
            events.append(Event(level: .info, msg: "handoff finished", fields: [
                ("transfers", String(r.ids.count)), ("keys", String(done.reduce(0) { $0 + $1.keys })),
                ("bytes", String(done.reduce(0) { $0 + $1.bytes })), ("seconds", format1(Double(nowMs - r.startMs) / 1000)),
            ]))
            round = nil
        }
        transfers = seen
        return events
    }

    /// Hints stored here per target node (targets with none may be left out).
    mutating func observe(hintTargets now: [String: Int]) -> [Event] {
        var events: [Event] = []
        let pending = Set(now.filter { $0.value > 0 }.keys)
        for target in pending.subtracting(hintTargets).sorted() {
            events.append(Event(level: .info, msg: "hints pending for target", fields: [("target", target), ("hints", String(now[target] ?? 0))]))
        }
        for target in hintTargets.subtracting(pending).sorted() {
            events.append(Event(level: .info, msg: "hints for target delivered", fields: [("target", target)]))
        }
        hintTargets = pending
        return events
    }

    /// Anti-entropy's running totals of keys sent to and received from other replicas.
    mutating func observe(repairKeysSent sent: UInt64, received: UInt64, nowMs: Int64) -> [Event] {
        defer { repair = (sent, received) }
        guard let before = repair else { return [] }
        if sent != before.sent || received != before.received {
            repairLastActivityMs = nowMs
            if repairStart == nil {
                repairStart = (before.sent, before.received, nowMs)
                return [Event(level: .info, msg: "repair started", fields: [("reason", "anti-entropy found differing keys")])]
            }
            return []
        }
        if let start = repairStart, nowMs - repairLastActivityMs >= OperatorEvents.repairQuietMs {
            repairStart = nil
            return [Event(level: .info, msg: "repair finished", fields: [
                ("keys_sent", String(sent - start.sent)), ("keys_received", String(received - start.received)),
                ("seconds", format1(Double(repairLastActivityMs - start.atMs) / 1000)),
            ])]
        }
        return []
    }

    private func format1(_ v: Double) -> String {
        let tenths = Int((v * 10).rounded())
        return "\(tenths / 10).\(abs(tenths % 10))"
    }
}
