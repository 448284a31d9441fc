import Foundation
import Ring
import Storage
import Synchronization

/// Bounds on the backup commands.
enum BackupBounds {
    /// Bytes of keys and records in one RESTORE.RECORDS (the client sends ~1 MiB batches).
    static let maxRestoreBytes = 8 << 20
    /// Records in one RESTORE.RECORDS.
    static let maxRestoreRecords = 10_000
    /// Time a restore batch may take to reach every replica.
    static let restoreTimeoutMs = 30_000
    /// One backup at a time per process: a second one would only compete for the disk.
    static let running = Atomic<Bool>(false)
    /// The file beside the checkpoint that says whose backup it is.
    static let infoFile = "backup.txt"
}

extension ClientCommands {
    /// BACKUP dir / RESTORE.RECORDS ns key record [ns key record ...] (SPEC-facing text in
    /// README, "Backup and restore").
    func backupCommand(_ name: String, _ args: ArraySlice<[UInt8]>, reply: RESPReplyToken) {
        if name == "BACKUP" { return backup(args, reply: reply) }
        restoreRecords(args, reply: reply)
    }

    /// Writes a checkpoint of this peer's store to `dir/store` and `dir/backup.txt`, on a
    /// thread of its own (it may take seconds); requests go on meanwhile.
    private func backup(_ args: ArraySlice<[UInt8]>, reply: RESPReplyToken) {
        guard args.count == 1, let raw = args.first else { return reply.reply(wrongArity("BACKUP")) }
        let dir = String(decoding: raw, as: UTF8.self)
        guard dir.hasPrefix("/"), !dir.contains("\0") else {
            return reply.reply(.error("ERR BACKUP needs an absolute directory path on the peer's machine"))
        }
        guard BackupBounds.running.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else {
            return reply.reply(.error("ERR a backup of this peer is already running"))
        }
        let store = engine.replica.store
        let node = engine.nodeID
        let thread = Thread {
            defer { BackupBounds.running.store(false, ordering: .releasing) }
            let fs = PosixFileSystem.shared
            do {
                if fs.fileExists(dir), try !fs.children(dir).isEmpty {
                    return reply.reply(.error("ERR backup directory \(dir) exists and is not empty"))
                }
                let info = try store.checkpoint(to: dir + "/store")
                let createdMs = Int64(Date().timeIntervalSince1970 * 1000)
                let lines = [
                    "chorus backup", "node=\(node)", "sequence=\(info.sequence)", "created_ms=\(createdMs)",
                    "tables_linked=\(info.linkedTables)", "tables_copied=\(info.copiedTables)", "table_bytes=\(info.tableBytes)",
                    "memtable_entries=\(info.memtableEntries)", "memtable_table_bytes=\(info.memtableTableBytes)",
                    "locked_us=\(info.lockedMicros)", "total_us=\(info.totalMicros)",
                ]
                try fs.writeAtomically(Array((lines.joined(separator: "\n") + "\n").utf8), to: dir + "/" + BackupBounds.infoFile, directory: dir)
                reply.reply(.bulk(Array((["dir=\(dir)"] + lines.dropFirst()).joined(separator: "\n").utf8)))
            } catch {
                reply.reply(.error("ERR backup to \(dir) failed: \(error)"))
            }
        }
        thread.name = "chorus-backup"
        thread.start()
    }

    /// Checks every record of the command before merging any: a bad one refuses the whole
    /// command with its index and loses nothing.
    private func restoreRecords(_ args: ArraySlice<[UInt8]>, reply: RESPReplyToken) {
        guard !args.isEmpty, args.count % 3 == 0 else { return reply.reply(wrongArity("RESTORE.RECORDS")) }
        let count = args.count / 3
        guard count <= BackupBounds.maxRestoreRecords else {
            return reply.reply(.error("ERR RESTORE.RECORDS takes at most \(BackupBounds.maxRestoreRecords) records (got \(count))"))
        }
        let bytes = args.reduce(0) { $0 + $1.count }
        guard bytes <= BackupBounds.maxRestoreBytes else {
            return reply.reply(.error("ERR RESTORE.RECORDS takes at most \(BackupBounds.maxRestoreBytes) bytes (got \(bytes))"))
        }
        let snap = engine.cluster.snapshot()
        var entries: [RestoreEntry] = []
        entries.reserveCapacity(count)
        var i = args.startIndex
        for n in 0..<count {
            let nsName = String(decoding: args[i], as: UTF8.self), key = args[i + 1], bytes = args[i + 2]
            i += 3
            guard let ns = snap.namespaces.namespace(named: nsName) else {
                return reply.reply(.error("ERR RESTORE.RECORDS record \(n): unknown namespace '\(nsName)' (create it with NS.CREATE first)"))
            }
            if let bad = engine.validate(key: key, value: nil) {
                return reply.reply(.error("ERR RESTORE.RECORDS record \(n): \(bad.line.dropFirst(4))"))
            }
            let record: KeyRecord
            do { record = try KeyRecord(decoding: bytes) } catch {
                return reply.reply(.error("ERR RESTORE.RECORDS record \(n) does not decode: \(error)"))
            }
            switch (record, ns.conflict) {
            case (.siblings, .siblings), (.lww, .lww): break
            default:
                return reply.reply(.error("ERR RESTORE.RECORDS record \(n) does not fit namespace '\(nsName)' (conflict mode \(ns.conflict.rawValue))"))
            }
            if case .siblings(let state) = record, let reused = reusedCounter(in: state.context) {
                return reply.reply(.error("ERR RESTORE.RECORDS record \(n) \(reused)"))
            }
            entries.append(RestoreEntry(namespace: ns, key: key, record: bytes))
        }
        engine.restore(entries, timeoutMs: BackupBounds.restoreTimeoutMs) { error in
            reply.reply(error.map { .error($0.line) } ?? .integer(Int64(count)))
        }
    }

    /// Why a restored context cannot be merged safely, or nil: it names a write of a node
    /// far above the counters that node (by its gossiped lease) can have issued. The id
    /// then belongs to a peer that started over from counter 1 (a wiped or new peer under an
    /// old id): its own writes would carry dots the restored context already covers, and a
    /// merge would hide them. Same allowance as the client-edge check (CounterBounds).
    private func reusedCounter(in context: VersionVector) -> String? {
        for e in context.entries {
            guard let lease = engine.replica.counterBounds.lease(of: e.actor) else { continue }
            let (limit, overflow) = lease.addingReportingOverflow(CounterBounds.lagAllowance)
            if !overflow, e.counter > limit {
                return "names write \(e.counter) of node \(e.actor), which has issued at most \(lease): that id now belongs to a peer "
                    + "that started its counters over, and its writes would be hidden; restore into peers with new ids"
            }
        }
        return nil
    }
}
