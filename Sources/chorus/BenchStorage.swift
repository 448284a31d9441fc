// `chorus bench storage`: LevelDB's db_bench workloads against the Storage engine, with
// db_bench's flags and line shape. bench/leveldb_bench.cc runs the same workloads on
// LevelDB and prints the same lines; scripts/bench.sh storage puts them side by side.
#if canImport(Glibc)
import Glibc
#endif
import Storage

/// The storage benchmark: parses db_bench flags, runs each workload, prints one line each.
enum StorageBench {
    static let workloads = ["fillseq", "fillrandom", "overwrite", "readrandom", "readmissing",
                            "readseq", "fillsync", "deleterandom", "deleteseq", "compact", "stats"]
    static let defaultBenchmarks = "fillseq,fillrandom,overwrite,readrandom,readmissing,readseq,fillsync,deleterandom"

    static let help = """
    usage: chorus bench storage [--benchmarks=LIST] [--num=N] [--key_size=B] [--value_size=B] [--db=DIR]

    LevelDB db_bench workloads against the Storage engine, one line each:
      name : micros/op, ops/sec, MB/s, p50/p99 micros, size on disk, peak RSS
    Flags take --flag=value or --flag value; '_' and '-' are interchangeable.
      --benchmarks=LIST      comma-separated, in order (default \(defaultBenchmarks))
                             also: deleteseq, compact, stats (the store's counters)
      --num=N                entries (default 1000000); fillsync writes N/1000, as db_bench
      --reads=N              reads for readrandom/readmissing/readseq (default --num)
      --key_size=B           key bytes: zero-padded decimal, db_bench's %016d (default 16)
      --value_size=B         value bytes (default 100)
      --compression_ratio=R  values compress to this fraction, as db_bench (default 0.5)
      --db=DIR               store directory (default: a fresh one under $TMPDIR, removed after)
      --use_existing_db=0|1  keep what --db holds instead of starting empty (default 0)
      --sync=POLICY          sync policy for writes other than fillsync: always, periodic:MS
                             or never (default never = db_bench's sync=false); fillsync
                             always uses always (db_bench's sync=true)
      --write_buffer_size=B  memtable bytes (default: StorageOptions, 4 MiB)
      --cache_size=B         block cache bytes (default: StorageOptions, 8 MiB)
      --bloom_bits=N         bloom filter bits per key (default: StorageOptions, 10)
      --verify_checksums=0|1 check each block's CRC when read (default: StorageOptions, 1)
      --histogram=0|1        accepted for db_bench compatibility; percentiles always print
    """

    struct Config {
        var benchmarks: [String] = []
        var num = 1_000_000
        var reads = 1_000_000
        var keySize = 16
        var valueSize = 100
        var compressionRatio = 0.5
        var db: String?
        var useExistingDB = false
        var sync: SyncPolicy = .never
        var options = StorageOptions()
    }

    static func run(_ args: [String]) -> Int32 {
        let config: Config
        do {
            guard let parsed = try parse(args) else {
                print(help)
                return 0
            }
            config = parsed
        } catch {
            printError("bench storage: \(error)")
            return 2
        }
        do {
            let runner = try Runner(config: config)
            printHeader(config, path: runner.path)
            defer { runner.finish() }
            for (index, name) in config.benchmarks.enumerated() {
                let line = try runner.run(name, seed: UInt32(1000 + index))
                print(line)
                fflush(stdout)
            }
            try runner.close()
            return 0
        } catch {
            fflush(stdout)
            printError("bench storage: \(error)")
            return 1
        }
    }

    /// The configuration `args` ask for, or nil for --help. Throws a one-line usage error.
    static func parse(_ args: [String]) throws -> Config? {
        let flags = try Flags(args, valued: ["benchmarks", "num", "reads", "key-size", "value-size", "db",
                                             "use-existing-db", "sync", "write-buffer-size", "cache-size",
                                             "bloom-bits", "compression-ratio", "histogram", "verify-checksums"],
                              boolean: ["help"])
        if flags.has("help") { return nil }
        if let extra = flags.positional.first { throw Flags.UsageError(description: "unexpected argument \(extra)") }
        var c = Config()
        let list = flags.string("benchmarks") ?? defaultBenchmarks
        c.benchmarks = list.split(separator: ",", omittingEmptySubsequences: true).map { String($0) }
        guard !c.benchmarks.isEmpty else { throw Flags.UsageError(description: "bad value for --benchmarks: empty list") }
        for name in c.benchmarks where !workloads.contains(name) {
            throw Flags.UsageError(description: "bad value for --benchmarks: unknown benchmark \(name) (known: \(workloads.joined(separator: ",")))")
        }
        c.num = try flags.int("num", default: 1_000_000, range: 1...2_000_000_000)
        c.reads = try flags.int("reads", default: c.num, range: 0...2_000_000_000)
        c.keySize = try flags.int("key-size", default: 16, range: 1...4096)
        c.valueSize = try flags.int("value-size", default: 100, range: 0...1_000_000)
        var largest = c.num - 1
        var digits = 1
        while largest >= 10 { largest /= 10; digits += 1 }
        guard digits <= c.keySize else {
            throw Flags.UsageError(description: "bad value for --key_size: \(c.keySize) bytes cannot hold \(c.num) distinct decimal keys")
        }
        if let raw = flags.string("compression-ratio") {
            guard let r = Double(raw), r > 0, r <= 1 else {
                throw Flags.UsageError(description: "bad value for --compression_ratio: \(raw) (expected 0 < R <= 1)")
            }
            c.compressionRatio = r
        }
        c.db = flags.string("db")
        if let db = c.db, db.isEmpty { throw Flags.UsageError(description: "bad value for --db: empty path") }
        c.useExistingDB = try flags.int("use-existing-db", default: 0, range: 0...1) == 1
        _ = try flags.int("histogram", default: 0, range: 0...1)
        if let raw = flags.string("sync") {
            do { c.sync = try SyncPolicy(parsing: raw) } catch {
                throw Flags.UsageError(description: "bad value for --sync: \(raw) (expected always, periodic:MS or never)")
            }
        }
        c.options.memtableSizeBytes = try flags.int("write-buffer-size", default: c.options.memtableSizeBytes, range: 4096...(1 << 30))
        c.options.blockCacheBytes = try flags.int("cache-size", default: c.options.blockCacheBytes, range: 0...(1 << 40))
        c.options.bloomBitsPerKey = try flags.int("bloom-bits", default: c.options.bloomBitsPerKey, range: 0...64)
        c.options.verifyChecksums = try flags.int("verify-checksums", default: c.options.verifyChecksums ? 1 : 0, range: 0...1) == 1
        return c
    }

    static func printHeader(_ c: Config, path: String) {
        let rawMB = Double((c.keySize + c.valueSize) * c.num) / 1_048_576
        let compressed = Int(Double(c.valueSize) * c.compressionRatio + 0.5)
        var lines = [
            "Chorus:     Storage engine (Sources/Storage)",
            "Date:       \(dateString())",
            "CPU:        \(cpuDescription())",
            "Keys:       \(c.keySize) bytes each",
            "Values:     \(c.valueSize) bytes each (\(compressed) bytes if compressed; compression is off)",
            "Entries:    \(c.num)",
            format("RawSize:    %.1f MB (estimated)", rawMB),
            "Sync:       fillsync: SyncPolicy.always (db_bench sync=true); other writes: SyncPolicy.\(c.sync) (db_bench sync=false)",
            "Options:    memtable \(c.options.memtableSizeBytes) B, block cache \(c.options.blockCacheBytes) B, bloom \(c.options.bloomBitsPerKey) bits/key, block \(c.options.blockSizeBytes) B, verify checksums \(c.options.verifyChecksums ? 1 : 0)",
            "DB:         \(path)",
        ]
        #if DEBUG
        lines.append("WARNING: debug build; build with -c release for figures")
        #endif
        lines.append(String(repeating: "-", count: 48))
        print(lines.joined(separator: "\n"))
        fflush(stdout)
    }

    /// printf-style formatting through the C library (no Foundation).
    static func format(_ pattern: String, _ args: CVarArg...) -> String {
        withVaList(args) { list in
            var buffer = [CChar](repeating: 0, count: 512)
            let n = Int(vsnprintf(&buffer, buffer.count, pattern, list))
            return String(decoding: buffer.prefix(max(0, min(n, buffer.count - 1))).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }
}
