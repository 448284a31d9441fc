// Per-connection ordering of commands that touch the same keys (Redis's pipeline semantics).
//
// The RESP server hands a connection's pipelined commands to the node at once and they run
// concurrently; replies are put back in order, but that alone would let `SET k v; GET k`
// read before the write is applied, or `SET k 1; SET k 2` end as 1. KeyOrder restores what
// a Redis user relies on: a command waits for the connection's earlier commands it
// conflicts with, and only for those.
//
// Conflicts: a write conflicts with every earlier command on one of its keys; a read with
// earlier writes on its keys; a whole-namespace read (SCAN, KEYS, DBSIZE) with every earlier
// write, and every later write conflicts with it. A waiting command also holds back later
// commands that conflict with it, so same-key commands start in arrival order.
//
// Contract: `run` and the `done` it passes are callable from any thread; `done` must be
// called exactly once per started command (ClientCommands calls it when the reply is sent).
// Starts are never made under the lock. Bounded: a connection has at most
// `maxCommandsInFlight` unanswered commands (RESPServerConfiguration), so at most that many
// wait here. Keys are compared without their namespace: a conflict across namespaces only
// orders two commands that need not be, it never loses an order that matters.

import Synchronization

/// Orders one connection's commands by the keys they touch; see the contract above.
public final class KeyOrder: Sendable {
    /// How a command touches its keys.
    public enum Access: Sendable, Equatable {
        case read([[UInt8]])
        case write([[UInt8]])
        /// Reads every key of the namespace (SCAN, KEYS, DBSIZE).
        case readAll
    }

    private struct Waiting {
        let id: UInt64
        let access: Access
        let start: @Sendable () -> Void
    }

    /// The one command in flight on an otherwise idle connection (every command without
    /// pipelining): kept aside, so that it costs no hashing of its keys; a second command
    /// moves it into the maps before anything is decided.
    private struct Solo {
        let id: UInt64
        let access: Access
    }

    private struct State {
        var solo: Solo?
        var reads: [[UInt8]: Int] = [:]
        var writes: [[UInt8]: Int] = [:]
        var writesInFlight = 0
        var readAllsInFlight = 0
        var waiting: [Waiting] = []
        var nextID: UInt64 = 0

        var isIdle: Bool {
            solo == nil && writesInFlight == 0 && readAllsInFlight == 0 && reads.isEmpty && writes.isEmpty && waiting.isEmpty
        }

        mutating func unpackSolo() {
            guard let one = solo else { return }
            solo = nil
            register(one.access, 1)
        }

        func conflicts(_ access: Access) -> Bool {
            switch access {
            case .readAll: return writesInFlight > 0
            case .read(let keys): return writesInFlight > 0 && keys.contains { writes[$0] != nil }
            case .write(let keys): return readAllsInFlight > 0 || keys.contains { writes[$0] != nil || reads[$0] != nil }
            }
        }

        mutating func register(_ access: Access, _ delta: Int) {
            func bump(_ map: inout [[UInt8]: Int], _ key: [UInt8]) {
                let n = (map[key] ?? 0) + delta
                map[key] = n > 0 ? n : nil
            }
            switch access {
            case .readAll: readAllsInFlight += delta
            case .read(let keys): for k in keys { bump(&reads, k) }
            case .write(let keys):
                writesInFlight += delta
                for k in keys { bump(&writes, k) }
            }
        }
    }

    private let state = Mutex(State())

    public init() {}

    /// Runs `body` now, or once the earlier commands it conflicts with are done (then through
    /// `later`, so that it does not run on the thread that finished the earlier command).
    /// `body` receives the `done` to call when the command has finished (its reply sent).
    public func run(_ access: Access, later: @escaping @Sendable (@escaping @Sendable () -> Void) -> Void,
                    _ body: @escaping @Sendable (_ done: @escaping @Sendable () -> Void) -> Void) {
        let done: @Sendable () -> Void = { [self] in finish(access, solo: nil) }
        enum Start { case solo(UInt64), now, later }
        let start = state.withLock { s -> Start in
            if s.isIdle {
                s.nextID += 1
                s.solo = Solo(id: s.nextID, access: access)
                return .solo(s.nextID)
            }
            s.unpackSolo()
            // Fast path: nothing waits and nothing in flight conflicts.
            if s.waiting.isEmpty && !s.conflicts(access) {
                s.register(access, 1)
                return .now
            }
            var blocked = s
            for w in s.waiting { blocked.register(w.access, 1) }
            if !blocked.conflicts(access) {
                s.register(access, 1)
                return .now
            }
            s.nextID += 1
            s.waiting.append(Waiting(id: s.nextID, access: access, start: { later { body(done) } }))
            return .later
        }
        switch start {
        case .solo(let id): body({ [self] in finish(access, solo: id) })
        case .now: body(done)
        case .later: break
        }
    }

    /// Commands waiting (tests and INFO-style counters).
    public var waitingCount: Int { state.withLock { $0.waiting.count } }

    private func finish(_ access: Access, solo id: UInt64?) {
        let ready = state.withLock { s -> [@Sendable () -> Void] in
            if let id, s.solo?.id == id {
                s.solo = nil
                return []
            }
            s.register(access, -1)
            var starts: [@Sendable () -> Void] = []
            var stillWaiting: [Waiting] = []
            // What is in flight plus what waits ahead: a waiting command may start only when it
            // conflicts with neither.
            var ahead = s
            for w in s.waiting {
                if ahead.conflicts(w.access) {
                    stillWaiting.append(w)
                } else {
                    s.register(w.access, 1)
                    starts.append(w.start)
                }
                ahead.register(w.access, 1)
            }
            s.waiting = stillWaiting
            return starts
        }
        for start in ready { start() }
    }
}
