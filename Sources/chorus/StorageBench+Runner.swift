// The workloads of `chorus bench storage`, with db_bench's semantics: fill* start from an
// empty store, the others use what the previous workloads left; one op per write batch;
// every op is timed into a histogram (one clock read per op, as db_bench's FinishedSingleOp).
#if canImport(Glibc)
import Glibc
#endif
import Storage

extension StorageBench {
    /// What one workload measured, printed in db_bench's line shape.
    struct Outcome {
        var name: String
        var done = 0
        var bytes = 0
        var elapsedNanos: UInt64 = 0
        var histogram = Histogram()
        var message = ""
        /// User plus system CPU of the whole process (background threads too) during the run.
        var cpuMicros: Double = 0

        func line(diskBytes: UInt64, peakRSS: UInt64) -> String {
            let ops = max(done, 1)
            let seconds = Double(max(elapsedNanos, 1)) / 1e9
            let micros = seconds * 1e6 / Double(ops)
            let mbps = Double(bytes) / 1_048_576 / seconds
            let padded = name.count >= 12 ? name : name + String(repeating: " ", count: 12 - name.count)
            var text = padded + format(" : %11.3f micros/op %11.0f ops/sec; %7.1f MB/s; p50 %9.3f p99 %9.3f micros; disk %9.2f MB; rss %7.1f MB; cpu %9.3f micros/op",
                              micros, Double(ops) / seconds, mbps,
                              histogram.percentileMicros(50), histogram.percentileMicros(99),
                              Double(diskBytes) / 1_048_576, Double(peakRSS) / 1_048_576, cpuMicros / Double(ops))
            if !message.isEmpty { text += " " + message }
            return text
        }
    }

    /// Owns the store and runs workloads on it in order. Single-threaded.
    final class Runner {
        let config: Config
        let path: String
        private let ownsDirectory: Bool
        private var store: Store?
        private var openPolicy: SyncPolicy = .never
        private var generator: ValueGenerator

        init(config: Config) throws {
            self.config = config
            if let db = config.db {
                path = db
                ownsDirectory = false
                if !config.useExistingDB { try destroyStore(db) }
            } else {
                path = try makeTemporaryDirectory()
                ownsDirectory = true
            }
            generator = ValueGenerator(compressionRatio: config.compressionRatio)
            try open(sync: config.sync)
        }

        private func open(sync: SyncPolicy) throws {
            var options = config.options
            options.sync = sync
            store = try Store.open(path: path, options: options)
            openPolicy = sync
        }

        func close() throws {
            if let store { try store.close() }
            store = nil
        }

        /// Closes the store and, for the default temporary --db, removes it.
        func finish() {
            try? close()
            if ownsDirectory {
                try? destroyStore(path)
                rmdir(path)
            }
        }

        /// The open store, reopened first if writes need another sync policy.
        private func storeFor(sync: SyncPolicy?) throws -> Store {
            if let sync, sync != openPolicy || store == nil {
                try close()
                try open(sync: sync)
            }
            if store == nil { try open(sync: openPolicy) }
            guard let store else { throw DirectoryError.io("store did not open") }
            return store
        }

        /// db_bench's fresh_db: an empty store for the fill workloads.
        private func freshStore(sync: SyncPolicy) throws -> Store {
            try close()
            try destroyStore(path)
            try open(sync: sync)
            return try storeFor(sync: sync)
        }

        func run(_ name: String, seed: UInt32) throws -> String {
            var outcome: Outcome
            let cpuBefore = cpuMicros()
            switch name {
            case "fillseq": outcome = try write(name, store: freshStore(sync: config.sync), count: config.num, sequential: true, seed: seed)
            case "fillrandom": outcome = try write(name, store: freshStore(sync: config.sync), count: config.num, sequential: false, seed: seed)
            case "overwrite": outcome = try write(name, store: storeFor(sync: config.sync), count: config.num, sequential: false, seed: seed)
            case "fillsync": outcome = try write(name, store: freshStore(sync: .always), count: config.num / 1000, sequential: false, seed: seed)
            case "deleterandom": outcome = try delete(name, store: storeFor(sync: config.sync), sequential: false, seed: seed)
            case "deleteseq": outcome = try delete(name, store: storeFor(sync: config.sync), sequential: true, seed: seed)
            case "readrandom": outcome = try readRandom(name, store: storeFor(sync: nil), missing: false, seed: seed)
            case "readmissing": outcome = try readRandom(name, store: storeFor(sync: nil), missing: true, seed: seed)
            case "readseq": outcome = try readSequential(name, store: storeFor(sync: nil))
            case "compact": outcome = try compact(name, store: storeFor(sync: nil))
            case "stats": return try storeFor(sync: nil).stats().description
            default: throw DirectoryError.io("unknown benchmark \(name)")
            }
            outcome.cpuMicros = cpuMicros() - cpuBefore
            return outcome.line(diskBytes: bytesOnDisk(path), peakRSS: peakRSSBytes())
        }

        /// Writes `key` as zero-padded decimal `k` into its first `keySize` bytes.
        @inline(__always) private func format(key: inout [UInt8], _ k: Int) {
            let width = config.keySize
            key.withUnsafeMutableBufferPointer { b in
                var v = k
                var i = width - 1
                while i >= 0 {
                    b[i] = UInt8(truncatingIfNeeded: 48 + v % 10)
                    v /= 10
                    i -= 1
                }
            }
        }

        private func write(_ name: String, store: Store, count: Int, sequential: Bool, seed: UInt32) throws -> Outcome {
            var outcome = Outcome(name: name)
            var rnd = Random(seed)
            generator.reset()
            var key = [UInt8](repeating: 48, count: config.keySize)
            var batch = WriteBatch()
            let num = config.num
            let start = nowNanos()
            var last = start
            for i in 0..<count {
                format(key: &key, sequential ? i : rnd.uniform(num))
                let value = generator.generate(config.valueSize)
                batch.clear()
                batch.put(key, generator.data[value])
                try store.write(batch)
                outcome.bytes += key.count + value.count
                let now = nowNanos()
                outcome.histogram.add(now &- last)
                last = now
            }
            outcome.elapsedNanos = last - start
            outcome.done = count
            return outcome
        }

        private func delete(_ name: String, store: Store, sequential: Bool, seed: UInt32) throws -> Outcome {
            var outcome = Outcome(name: name)
            var rnd = Random(seed)
            var key = [UInt8](repeating: 48, count: config.keySize)
            var batch = WriteBatch()
            let num = config.num
            let start = nowNanos()
            var last = start
            for i in 0..<num {
                format(key: &key, sequential ? i : rnd.uniform(num))
                batch.clear()
                batch.delete(key)
                try store.write(batch)
                let now = nowNanos()
                outcome.histogram.add(now &- last)
                last = now
            }
            outcome.elapsedNanos = last - start
            outcome.done = num
            return outcome
        }

        private func readRandom(_ name: String, store: Store, missing: Bool, seed: UInt32) throws -> Outcome {
            var outcome = Outcome(name: name)
            var rnd = Random(seed)
            // readmissing asks for "%016d." keys, which sort between stored ones.
            var key = [UInt8](repeating: 46, count: config.keySize + (missing ? 1 : 0))
            let num = config.num
            var found = 0
            let start = nowNanos()
            var last = start
            for _ in 0..<config.reads {
                format(key: &key, rnd.uniform(num))
                if let value = try store.get(key) {
                    found += 1
                    outcome.bytes += key.count + value.count
                }
                let now = nowNanos()
                outcome.histogram.add(now &- last)
                last = now
            }
            outcome.elapsedNanos = last - start
            outcome.done = config.reads
            outcome.message = "(\(found) of \(config.reads) found)"
            return outcome
        }

        private func readSequential(_ name: String, store: Store) throws -> Outcome {
            var outcome = Outcome(name: name)
            let start = nowNanos()
            var last = start
            let iterator = try store.makeIterator()
            var done = 0
            while done < config.reads && iterator.isValid {
                outcome.bytes += iterator.key.count + iterator.value.count
                done += 1
                try iterator.next()
                let now = nowNanos()
                outcome.histogram.add(now &- last)
                last = now
            }
            outcome.elapsedNanos = last - start
            outcome.done = done
            return outcome
        }

        private func compact(_ name: String, store: Store) throws -> Outcome {
            var outcome = Outcome(name: name)
            let start = nowNanos()
            try store.compactRange(.all)
            let end = nowNanos()
            outcome.histogram.add(end - start)
            outcome.elapsedNanos = end - start
            outcome.done = 1
            return outcome
        }
    }
}
