import Synchronization

/// When each tree next holds a record whose values have all expired but that has no
/// tombstone clock yet, so the reaper knows which trees to sweep (RECORDS.md, "Tombstone
/// index"). A record that expires in the future is not indexed when it is written (that
/// would be a second key in every SET ... EX); the reaper's sweep indexes it once it has
/// expired. Kept in memory only: after a restart every tree is due once.
final class ExpiryDue: Sendable {
    private struct State {
        var due: [TreeID: UInt64] = [:]
        var swept: Set<TreeID> = []
    }
    private let state = Mutex(State())

    /// A record of `id` that becomes absent at `ms` was stored unindexed. Called after the
    /// store applied it, so a sweep that took the tree's due time before this call sees it.
    func note(_ id: TreeID, expiresAtMs ms: UInt64) {
        state.withLock { s in
            if let d = s.due[id], d <= ms { return }
            s.due[id] = ms
        }
    }

    /// True when `id` must be swept at `nowMs` (never swept since this replica opened, or
    /// an unindexed expiry has passed); the tree's due time is cleared, and the sweep
    /// notes the next one with `note`.
    func take(_ id: TreeID, nowMs: UInt64) -> Bool {
        state.withLock { s in
            let first = s.swept.insert(id).inserted
            guard first || (s.due[id].map { $0 <= nowMs } ?? false) else { return false }
            s.due[id] = nil
            return true
        }
    }

    /// Forgets `id` (its range was dropped).
    func drop(_ id: TreeID) {
        state.withLock { s in
            s.due[id] = nil
            s.swept.remove(id)
        }
    }
}
