// `chorus storage-tool` (hidden): the two halves of the real-process crash test
// (scripts/suites/storage-crash.sh). `write` puts keys and prints each one only after its
// put returned, so every printed key is acknowledged; the suite kills it with SIGKILL.
// `check` reopens the store and verifies that every acknowledged key holds its value.
// Values derive from keys (`expectedValue`), so check needs only the list of keys.
#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import Foundation
import Storage
import Synchronization

/// The hidden crash-test subcommand: `write` and `check` against one store directory.
enum StorageTool {
    static let help = """
    usage: chorus storage-tool write --db DIR [--sync always] [--count N] [--start I] [--prefix P]
                                     [--threads T] [--memtable-bytes B]
           chorus storage-tool check --db DIR --keys FILE [--keys FILE ...] [--memtable-bytes B]

    write: puts keys P0000000000, P0000000001, ... (from --start, --count of them, over --threads
           writers) with values derived from the keys, printing each key on its own line after
           its put returned.
    check: reopens the store and verifies every complete line of each FILE names a key holding its
           derived value; prints one summary line; exit code 1 if any key is lost or wrong.
    """

    static func run(_ args: [String]) -> Int32 {
        let command = args.first
        let rest = Array(args.dropFirst())
        do {
            switch command {
            case "write":
                let flags = try Flags(rest, valued: ["db", "sync", "count", "start", "prefix", "threads", "memtable-bytes"], boolean: ["help"])
                if flags.has("help") { print(help); return 0 }
                return try write(flags)
            case "check":
                let flags = try Flags(rest, valued: ["db", "keys", "memtable-bytes"], boolean: ["help"])
                if flags.has("help") { print(help); return 0 }
                return try check(flags)
            case "--help", "-h", "help":
                print(help)
                return 0
            default:
                printError("storage-tool needs one of: write, check")
                return 2
            }
        } catch let error as Flags.UsageError {
            printError("storage-tool: \(error)")
            return 2
        } catch {
            printError("storage-tool: \(error)")
            return 1
        }
    }

    private static func options(_ flags: Flags, sync: SyncPolicy) throws -> StorageOptions {
        var options = StorageOptions()
        options.sync = sync
        options.memtableSizeBytes = try flags.int("memtable-bytes", default: options.memtableSizeBytes, range: 4096...(1 << 30))
        return options
    }

    private static func database(_ flags: Flags) throws -> String {
        if let extra = flags.positional.first { throw Flags.UsageError(description: "unexpected argument \(extra)") }
        guard let db = flags.string("db"), !db.isEmpty else { throw Flags.UsageError(description: "--db DIR is required") }
        return db
    }

    static func write(_ flags: Flags) throws -> Int32 {
        let db = try database(flags)
        let raw = flags.string("sync") ?? "always"
        let sync: SyncPolicy
        do { sync = try SyncPolicy(parsing: raw) } catch {
            throw Flags.UsageError(description: "bad value for --sync: \(raw) (expected always, periodic:MS or never)")
        }
        let count = try flags.int("count", default: 1_000_000, range: 0...1_000_000_000)
        let start = try flags.int("start", default: 0, range: 0...9_000_000_000)
        let threads = try flags.int("threads", default: 1, range: 1...64)
        let prefix = Array((flags.string("prefix") ?? "k").utf8)
        let store = try Store.open(path: db, options: options(flags, sync: sync))
        let output = Mutex(())
        let failure = Mutex<StorageError?>(nil)
        // One OS thread per writer (not concurrentPerform, which runs only as many at once as
        // there are cores), so --threads writers really queue for group commit together.
        let finished = DispatchSemaphore(value: 0)
        for t in 0..<threads {
            let thread = Thread {
                defer { finished.signal() }
                var i = t
                while i < count {
                    let key = makeKey(prefix: prefix, index: start + i)
                    do throws(StorageError) {
                        try store.put(key, expectedValue(for: key))
                    } catch {
                        failure.withLock { if $0 == nil { $0 = error } }
                        return
                    }
                    // Printed only now: the put is acknowledged (durable under --sync always).
                    var line = key
                    line.append(10)
                    output.withLock { _ in writeAll(1, line) }
                    if failure.withLock({ $0 != nil }) { return }
                    i += threads
                }
            }
            thread.start()
        }
        for _ in 0..<threads { finished.wait() }
        if let error = failure.withLock({ $0 }) {
            printError("storage-tool write: \(error)")
            try? store.close()
            return 1
        }
        try store.close()
        return 0
    }

    static func check(_ flags: Flags) throws -> Int32 {
        let db = try database(flags)
        let keyFiles = flags.strings("keys")
        guard !keyFiles.isEmpty else { throw Flags.UsageError(description: "--keys FILE is required") }
        // Only complete lines were acknowledged; a kill may tear the last line of each file.
        var keys: [[UInt8]] = []
        var torn = 0
        for path in keyFiles {
            guard let text = readFile(path) else {
                printError("storage-tool check: cannot read \(path)")
                return 1
            }
            var lines = text.split(separator: 10, omittingEmptySubsequences: false)
            if let last = lines.popLast(), !last.isEmpty { torn += 1 }
            keys.append(contentsOf: lines.filter { !$0.isEmpty }.map { Array($0) })
        }
        let store = try Store.open(path: db, options: options(flags, sync: .always))
        var intact = 0
        var missing = 0
        var wrong = 0
        var firstBad: String?
        for key in keys {
            let value = try store.get(key)
            if value == nil {
                missing += 1
            } else if value != expectedValue(for: key) {
                wrong += 1
            } else {
                intact += 1
                continue
            }
            if firstBad == nil { firstBad = String(decoding: key, as: UTF8.self) }
        }
        try store.close()
        let total = intact + missing + wrong
        var summary = "check: \(total) acknowledged keys, \(intact) intact, \(missing) missing, \(wrong) wrong"
        if torn > 0 { summary += " (\(torn) torn line\(torn == 1 ? "" : "s") ignored)" }
        if let firstBad { summary += "; first bad key \(firstBad)" }
        print(summary)
        return missing + wrong == 0 ? 0 : 1
    }

    /// `prefix` then `index` as 10 zero-padded decimal digits.
    static func makeKey(prefix: [UInt8], index: Int) -> [UInt8] {
        var key = prefix
        var digits = [UInt8](repeating: 48, count: 10)
        var v = index
        for i in stride(from: 9, through: 0, by: -1) {
            digits[i] = UInt8(48 + v % 10)
            v /= 10
        }
        key.append(contentsOf: digits)
        return key
    }

    /// The value `write` stores under `key`: 16 to 215 bytes of the key and its FNV-1a hash.
    static func expectedValue(for key: [UInt8]) -> [UInt8] {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in key {
            hash ^= UInt64(b)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        let length = 16 + Int(hash % 200)
        var pattern = key
        pattern.append(61)  // "="
        for shift in stride(from: 60, through: 0, by: -4) {
            pattern.append(Array("0123456789abcdef".utf8)[Int((hash >> UInt64(shift)) & 15)])
        }
        pattern.append(59)  // ";"
        var value: [UInt8] = []
        value.reserveCapacity(length)
        while value.count < length { value.append(contentsOf: pattern.prefix(length - value.count)) }
        return value
    }

    private static func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
        bytes.withUnsafeBytes { buf in
            guard let base = buf.baseAddress else { return }
            var offset = 0
            while offset < buf.count {
                let n = Glibc.write(fd, base + offset, buf.count - offset)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return }
                offset += n
            }
        }
    }

    private static func readFile(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var data: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { return nil }
            if n == 0 { return data }
            data.append(contentsOf: chunk[0..<n])
        }
    }
}
