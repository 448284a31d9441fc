#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Peer
import Storage

/// `chorus backup` and `chorus restore`: a checkpoint of one peer's store taken on the
/// peer's machine (BACKUP), and a backup's records merged into a running cluster through one
/// peer (RESTORE.RECORDS). README, "Backup and restore".
enum BackupCommand {
    static let help = """
    usage: chorus backup -h HOST[:PORT] [-p PORT] [-a PASSWORD] DIR
           chorus restore DIR -h HOST[:PORT] [-p PORT] [-a PASSWORD] [--batch-bytes N]

      backup    asks the peer for a consistent checkpoint of its data, written to DIR on the
                peer's machine (absolute path; DIR must not exist or be empty): hard links to
                its tables, its memtables as one more table, a manifest, and backup.txt. The
                peer goes on serving; one backup at a time per peer.
      restore   reads the backup in DIR (read-only) and merges every key record into the
                cluster the peer belongs to: versions, siblings and tombstones kept, so newer
                writes win and nothing concurrent is lost. Namespaces must exist (NS.CREATE).
                Every primary of a key must be reachable. Safe to run again.
    peer address defaults to 127.0.0.1:6380
    """

    static func run(_ command: String, _ args: [String]) -> Int32 {
        if args.contains("--help") {
            print(help)
            return 0
        }
        let flags: Flags
        do {
            flags = try Flags(args, valued: ["h", "p", "a", "batch-bytes"])
        } catch {
            printError("\(error)")
            return 2
        }
        guard flags.positional.count == 1, let dir = flags.positional.first else {
            printError("\(command): needs exactly one directory; see chorus \(command) --help")
            return 2
        }
        var host = flags.string("h") ?? "127.0.0.1"
        var port: Int
        do { port = try flags.int("p", default: 6380, range: 1...65535) } catch {
            printError("\(error)")
            return 2
        }
        if let colon = host.lastIndex(of: ":") {
            guard let p = Int(host[host.index(after: colon)...]), (1...65535).contains(p) else {
                printError("\(command): -h \(host): the port after ':' must be 1..65535")
                return 2
            }
            port = p
            host = String(host[..<colon])
        }
        let batchBytes: Int
        do { batchBytes = try flags.int("batch-bytes", default: 1 << 20, range: 1024...(4 << 20)) } catch {
            printError("\(error)")
            return 2
        }
        do {
            let client = try RESPClient(host: host, port: UInt16(port), timeoutMs: command == "backup" ? 3_600_000 : 120_000)
            defer { client.close() }
            if let password = flags.string("a") {
                if case .error(let e) = try client.command("AUTH", password) {
                    printError("\(host):\(port): \(e)")
                    return 1
                }
            }
            if command == "backup" {
                guard dir.hasPrefix("/") else {
                    printError("backup: DIR must be an absolute path on the peer's machine")
                    return 2
                }
                return ClientCommand.printReply(try client.command([Array("BACKUP".utf8), Array(dir.utf8)]))
            }
            return restore(from: dir, client: client, batchBytes: batchBytes)
        } catch {
            printError("cannot reach \(host):\(port): \(error)")
            return 1
        }
    }

    /// One RESTORE.RECORDS command on its way, and how often it was sent.
    private struct Batch {
        var argv: [[UInt8]]
        var records: Int
        var attempts = 0
    }

    /// Walks the backup's data records in key order and sends them in batches of about
    /// `batchBytes`, four in flight; a batch answered UNAVAILABLE or TIMEOUT is sent again
    /// (merges are idempotent) up to 5 times.
    static func restore(from dir: String, client: RESPClient, batchBytes: Int) -> Int32 {
        let path = FileManager.default.fileExists(atPath: dir + "/store/CURRENT") ? dir + "/store" : dir
        let reader: CheckpointReader
        do { reader = try CheckpointReader(path: path) } catch {
            printError("restore: \(error)")
            return 1
        }
        let started = Date()
        var sent = 0, skipped = 0, bytes = 0
        var inFlight: [Batch] = []
        var current = Batch(argv: [Array("RESTORE.RECORDS".utf8)], records: 0)
        var currentBytes = 0

        func settleOne() throws -> String? {
            let reply = try client.readReply()
            var batch = inFlight.removeFirst()
            switch reply {
            case .integer:
                sent += batch.records
                return nil
            case .error(let e) where (e.hasPrefix("UNAVAILABLE") || e.hasPrefix("TIMEOUT")) && batch.attempts < 5:
                batch.attempts += 1
                usleep(UInt32(200_000 * batch.attempts))
                client.send(batch.argv)
                try client.flush()
                inFlight.append(batch)
                return nil
            case .error(let e):
                return e
            default:
                return "unexpected reply \(reply)"
            }
        }
        func ship() throws -> String? {
            guard current.records > 0 else { return nil }
            client.send(current.argv)
            try client.flush()
            inFlight.append(current)
            current = Batch(argv: [Array("RESTORE.RECORDS".utf8)], records: 0)
            currentBytes = 0
            while inFlight.count >= 4 { if let e = try settleOne() { return e } }
            return nil
        }

        do {
            let it = try reader.makeIterator(range: StorageKey.dataRange)
            while it.isValid {
                guard case .data(_, let ns, let key)? = try? StorageKey(decoding: it.key) else {
                    skipped += 1
                    try it.next()
                    continue
                }
                let record = Array(it.value)
                let size = ns.count + key.count + record.count
                if current.records > 0, currentBytes + size > batchBytes || current.records >= 1_000 {
                    if let e = try ship() { return failed(e, sent: sent) }
                }
                current.argv += [ns, key, record]
                current.records += 1
                currentBytes += size
                bytes += size
                try it.next()
            }
            if let e = try ship() { return failed(e, sent: sent) }
            while !inFlight.isEmpty { if let e = try settleOne() { return failed(e, sent: sent) } }
        } catch {
            printError("restore: \(error)")
            return failed("\(error)", sent: sent)
        }
        let seconds = Date().timeIntervalSince(started)
        print("restored \(sent) records (\(bytes) bytes) from \(path) (sequence \(reader.sequence)) in \(String(format: "%.2f", seconds)) s"
              + (skipped > 0 ? "; \(skipped) keys skipped (not data keys)" : ""))
        return 0
    }

    private static func failed(_ error: String, sent: Int) -> Int32 {
        printError("restore stopped after \(sent) records: \(error) (running it again is safe)")
        return 1
    }
}
