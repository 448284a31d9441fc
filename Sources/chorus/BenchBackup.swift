// `chorus bench backup`: what a checkpoint (BACKUP) costs a store that keeps serving. Fills
// a store to --size-mb (or reuses one), then runs --clients threads of timed requests (a
// random put and a random get each) through two equal windows: one while `Store.checkpoint` runs
// (and 100 ms either side), then one as long without it. Prints the checkpoint's time and lock hold, and each
// window's request count, p99, p99.9 and max latency and requests over 10 ms, so a stall a
// checkpoint causes shows against the machine's own noise.
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Storage
import Synchronization

/// The checkpoint benchmark (issue 16: 1 GB in under 2 s, no request blocked over 10 ms).
enum BackupBench {
    static let help = """
    usage: chorus bench backup [--db DIR] [--size-mb N] [--value-size B] [--clients N] [--rounds N]
                               [--sync always|never|periodic:MS]

      --db DIR         store directory (default $TMPDIR/chorus-bench-backup; kept, and reused
                       when it already holds --size-mb, so reruns skip the fill)
      --size-mb N      data to hold before checkpointing (default 1024)
      --value-size B   value bytes (default 1000; keys are 16 bytes)
      --clients N      threads of timed requests during each window (default 2)
      --rounds N       checkpoints, each with its own baseline window (default 3)
      --sync POLICY    the requests' sync policy (default always, the peer's default)
    Checkpoints go to DIR.ckpt-<round> (same file system: hard links) and are removed.
    """

    static func run(_ args: [String]) -> Int32 {
        if args.contains("--help") {
            print(help)
            return 0
        }
        let flags: Flags
        do { flags = try Flags(args, valued: ["db", "size-mb", "value-size", "clients", "rounds", "sync"]) } catch {
            printError("\(error)")
            return 2
        }
        let db = flags.string("db") ?? ((ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp") + "/chorus-bench-backup")
        let sizeMB: Int, valueSize: Int, clients: Int, rounds: Int
        var sync = SyncPolicy.always
        do {
            sizeMB = try flags.int("size-mb", default: 1024, range: 1...1_000_000)
            valueSize = try flags.int("value-size", default: 1000, range: 1...(1 << 20))
            clients = try flags.int("clients", default: 2, range: 1...64)
            rounds = try flags.int("rounds", default: 3, range: 1...100)
            if let s = flags.string("sync") {
                do { sync = try SyncPolicy(parsing: s) } catch {
                    throw Flags.UsageError(description: "bad value for --sync: \(s) (expected always, periodic:MS or never)")
                }
            }
        } catch {
            printError("\(error)")
            return 2
        }
        do {
            try fill(db, sizeMB: sizeMB, valueSize: valueSize)
            var options = StorageOptions()
            options.sync = sync
            let store = try Store.open(path: db, options: options)
            defer { try? store.close() }
            let entries = UInt64(sizeMB) << 20 / UInt64(valueSize + 16)
            print("backup bench: \(sizeMB) MB in \(store.stats().filesPerLevel.reduce(0, +)) tables, \(clients) clients, sync \(sync)")
            for round in 1...rounds {
                let target = db + ".ckpt-\(round)"
                removeDirectory(target)
                var info = CheckpointInfo()
                var failure: StorageError?
                let windowStart = monotonicNow()
                let during = try measure(store, clients: clients, entries: entries, valueSize: valueSize) {
                    usleep(100_000)
                    do throws(StorageError) { info = try store.checkpoint(to: target) } catch { failure = error }
                    usleep(100_000)
                }
                // Baseline: the same load for as long, right after.
                let windowMicros = monotonicNow() - windowStart
                let baseline = try measure(store, clients: clients, entries: entries, valueSize: valueSize) {
                    usleep(UInt32(min(windowMicros, 60_000_000)))
                }
                removeDirectory(target)
                if let failure { throw failure }
                print(String(format: "round %d: checkpoint %.3f s (lock held %d us; %d tables linked, %d copied, %.0f MB; memtable %d entries, %.1f MB)",
                             round, Double(info.totalMicros) / 1e6, info.lockedMicros, info.linkedTables, info.copiedTables,
                             Double(info.tableBytes) / 1e6, info.memtableEntries, Double(info.memtableTableBytes) / 1e6))
                print("  baseline:         " + baseline.line)
                print("  during checkpoint: " + during.line)
            }
            return 0
        } catch {
            printError("bench backup: \(error)")
            return 1
        }
    }

    /// Latencies of one window.
    struct Window {
        var micros: [UInt64] = []
        var line: String {
            let s = micros.sorted()
            func q(_ p: Double) -> Double { s.isEmpty ? 0 : Double(s[min(s.count - 1, Int(Double(s.count) * p))]) / 1000 }
            let over = s.filter { $0 > 10_000 }.count
            return String(format: "%7d requests, p99 %.2f ms, p99.9 %.2f ms, max %.2f ms, %d over 10 ms",
                          s.count, q(0.99), q(0.999), Double(s.last ?? 0) / 1000, over)
        }
    }

    /// Runs `clients` threads of timed put+get pairs while `body` runs on this thread.
    static func measure(_ store: Store, clients: Int, entries: UInt64, valueSize: Int, _ body: () -> Void) throws -> Window {
        let stop = Atomic<Bool>(false)
        let results = Mutex<[[UInt64]]>([])
        let failure = Mutex<String?>(nil)
        var threads: [Thread] = []
        for c in 0..<clients {
            let t = Thread {
                var rng = SystemRandomNumberGenerator()
                var lat: [UInt64] = []
                let value = [UInt8](repeating: UInt8(65 + c), count: valueSize)
                var n = 0
                while !stop.load(ordering: .relaxed), n < 10_000_000 {
                    let key = Array(String(format: "%016llu", UInt64.random(in: 0..<max(1, entries), using: &rng)).utf8)
                    let start = monotonicNow()
                    do {
                        if n & 1 == 0 { try store.put(key, value) } else { _ = try store.get(key) }
                    } catch {
                        failure.withLock { $0 = "\(error)" }
                        break
                    }
                    lat.append(monotonicNow() - start)
                    n += 1
                }
                results.withLock { $0.append(lat) }
            }
            threads.append(t)
            t.start()
        }
        body()
        stop.store(true, ordering: .relaxed)
        var waited = 0
        while results.withLock({ $0.count }) < clients, waited < 60_000 {
            usleep(1000)
            waited += 1
        }
        if let f = failure.withLock({ $0 }) { throw StorageError.invalidArgument("request failed: \(f)") }
        return Window(micros: results.withLock { $0.joined().map { $0 } })
    }

    /// Sequential keys (zero-padded decimal) up to `sizeMB`, unless the store holds them.
    static func fill(_ db: String, sizeMB: Int, valueSize: Int) throws {
        let entries = UInt64(sizeMB) << 20 / UInt64(valueSize + 16)
        let marker = db + "/BENCH-FILLED"
        if let text = try? String(contentsOfFile: marker, encoding: .utf8), text == "\(entries) \(valueSize)\n" { return }
        removeDirectory(db)
        var options = StorageOptions()
        options.sync = .never
        options.memtableSizeBytes = 64 << 20
        let store = try Store.open(path: db, options: options)
        let started = Date()
        var value = [UInt8](repeating: 0, count: valueSize)
        var batch = WriteBatch()
        for i in 0..<entries {
            for j in 0..<min(8, valueSize) { value[j] = UInt8(truncatingIfNeeded: i >> (j * 8)) }
            batch.put(Array(String(format: "%016llu", i).utf8), value)
            if i % 100 == 99 {
                try store.write(batch)
                batch = WriteBatch()
            }
        }
        try store.write(batch)
        try store.flush()
        try store.close()
        try "\(entries) \(valueSize)\n".write(toFile: marker, atomically: true, encoding: .utf8)
        print(String(format: "backup bench: filled %llu entries (%d MB) in %.1f s", entries, sizeMB, Date().timeIntervalSince(started)))
    }

    static func removeDirectory(_ path: String) {
        try? FileManager.default.removeItem(atPath: path)
    }

    static func monotonicNow() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000 + UInt64(ts.tv_nsec) / 1000
    }
}
