#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// `chorus fuzz`: feeds seeded random mutations of valid inputs to every decoder that reads
/// bytes from outside (FuzzTargets.swift), libFuzzer-style but with no toolchain support
/// needed. A run fails on a trap (the input that caused it is written to the crash file
/// first, from the signal handler), on an error that is not one clear line, or on the
/// process outgrowing `--max-rss-mb`. `--replay FILE` runs one saved input again.
enum FuzzCommand {
    static let help = """
    usage: chorus fuzz <target|all> [--iterations N] [--seed S] [--seconds T] [--corpus DIR]
                       [--crash-dir DIR] [--max-rss-mb M]
           chorus fuzz <target> --replay FILE
           chorus fuzz --list

      --iterations N   mutated inputs per target (default 10000)
      --seed S         the run's random seed (default 1); the same seed makes the same inputs
      --seconds T      stop each target after T seconds, whichever comes first
      --corpus DIR     more seed inputs: every file in DIR/<target>/
      --crash-dir DIR  where a crashing input is saved (default .), as crash-<target>-<seed>
      --max-rss-mb M   fail when the process's resident memory exceeds M MiB (default 1024)
    """

    static func run(_ args: [String]) -> Int32 {
        // Line-buffered: a later target's crash (_exit) must not swallow earlier results.
        setvbuf(stdout, nil, _IOLBF, 0)
        if args.contains("--help") || args.contains("-h") {
            print(help)
            return 0
        }
        if args.contains("--list") {
            for t in FuzzTargets.all { print("\(t.name.padding(toLength: 14, withPad: " ", startingAt: 0)) \(t.about)") }
            return 0
        }
        do {
            let flags = try Flags(args, valued: ["iterations", "seed", "seconds", "corpus", "crash-dir", "max-rss-mb", "replay"], boolean: [])
            guard let which = flags.positional.first, flags.positional.count == 1 else { throw Flags.UsageError(description: "fuzz needs one target (--list shows them)") }
            let targets = which == "all" ? FuzzTargets.all : try FuzzTargets.named(which).map { [$0] } ?? { throw Flags.UsageError(description: "unknown fuzz target '\(which)' (--list shows them)") }()
            let options = Options(iterations: try flags.int("iterations", default: 10_000, range: 0...100_000_000),
                                  seed: UInt64(try flags.int("seed", default: 1, range: 0...Int.max)),
                                  seconds: Double(try flags.int("seconds", default: 0, range: 0...86_400)),
                                  corpus: flags.string("corpus"), crashDir: flags.string("crash-dir") ?? ".",
                                  maxRSSBytes: try flags.int("max-rss-mb", default: 1_024, range: 16...1_048_576) << 20)
            if let replay = flags.string("replay") {
                guard targets.count == 1 else { throw Flags.UsageError(description: "--replay needs one target") }
                guard let data = FileManager.default.contents(atPath: replay) else { throw Flags.UsageError(description: "cannot read \(replay)") }
                return replayOne(targets[0], Array(data))
            }
            var failed = 0
            for t in targets where !fuzz(t, options) { failed += 1 }
            print("fuzz: \(targets.count - failed) passed, \(failed) failed")
            return failed == 0 ? 0 : 1
        } catch {
            printError("\(error)")
            return 2
        }
    }

    struct Options {
        var iterations: Int
        var seed: UInt64
        var seconds: Double
        var corpus: String?
        var crashDir: String
        var maxRSSBytes: Int
    }

    static func replayOne(_ t: FuzzTarget, _ input: [UInt8]) -> Int32 {
        var check = FuzzCheck()
        t.run(input, &check)
        for u in check.unclear { print("fuzz \(t.name): unclear error: \(u)") }
        print("fuzz \(t.name): replayed \(input.count) bytes, \(check.errors) errors, \(check.unclear.isEmpty ? "clean" : "FAILED")")
        return check.unclear.isEmpty ? 0 : 1
    }

    /// Runs one target; true when no input failed it.
    static func fuzz(_ t: FuzzTarget, _ o: Options) -> Bool {
        var seeds: [[UInt8]]
        do { seeds = try t.seeds() } catch {
            print("fuzz \(t.name): FAIL: cannot make seeds: \(error)")
            return false
        }
        if let dir = o.corpus.map({ $0 + "/" + t.name }), let names = try? FileManager.default.contentsOfDirectory(atPath: dir) {
            for n in names.sorted() { if let d = FileManager.default.contents(atPath: dir + "/" + n) { seeds.append(Array(d)) } }
        }
        if seeds.isEmpty { seeds = [[]] }
        let crashPath = o.crashDir + "/crash-\(t.name)-\(o.seed)"
        guard CrashCapture.arm(path: crashPath, capacity: t.maxBytes) else {
            print("fuzz \(t.name): FAIL: cannot open \(crashPath)")
            return false
        }
        defer { CrashCapture.disarm() }
        var mutator = FuzzMutator(seed: o.seed ^ KeyHashLite.fnv(t.name), maxBytes: t.maxBytes)
        let started = Date()
        let rssBefore = residentBytes()
        var peak = rssBefore
        var errors = 0
        var runs = 0
        func runOne(_ input: [UInt8]) -> Bool {
            CrashCapture.hold(input)
            var check = FuzzCheck()
            t.run(input, &check)
            errors += check.errors
            runs += 1
            if let u = check.unclear.first {
                CrashCapture.save(input)
                print("fuzz \(t.name): FAIL: \(u) (input saved to \(crashPath))")
                return false
            }
            return true
        }
        for s in seeds where !runOne(s) { return false }
        for i in 0..<o.iterations {
            let base = seeds[mutator.below(seeds.count)]
            let other = seeds[mutator.below(seeds.count)]
            guard runOne(mutator.mutate(base, other: other)) else { return false }
            if i & 255 == 255 {
                peak = max(peak, residentBytes())
                if peak > o.maxRSSBytes {
                    print("fuzz \(t.name): FAIL: resident memory \(peak >> 20) MiB over the \(o.maxRSSBytes >> 20) MiB bound after \(runs) inputs")
                    return false
                }
                if o.seconds > 0, Date().timeIntervalSince(started) > o.seconds { break }
            }
        }
        peak = max(peak, residentBytes())
        let ms = Int(Date().timeIntervalSince(started) * 1000)
        print("fuzz \(t.name): PASS \(runs) inputs (\(seeds.count) seeds), \(errors) clear errors, \(ms) ms, RSS \(rssBefore >> 20) -> peak \(peak >> 20) MiB")
        return true
    }

    /// Resident set size of this process (/proc/self/statm), 0 where unavailable.
    static func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}

/// FNV-1a of a target's name, to give each target its own stream from one `--seed`.
enum KeyHashLite {
    static func fnv(_ s: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in s.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return h
    }
}

/// Keeps the input under test in a buffer the signal handler can write with write(2), so a
/// trap (SIGILL/SIGTRAP from a Swift precondition, SIGSEGV, SIGBUS, SIGFPE, SIGABRT) leaves
/// the input that caused it on disk before the process dies.
enum CrashCapture {
    nonisolated(unsafe) static var fd: Int32 = -1
    nonisolated(unsafe) static var buffer: UnsafeMutablePointer<UInt8>?
    nonisolated(unsafe) static var capacity = 0
    nonisolated(unsafe) static var count = 0
    nonisolated(unsafe) static var path = ""
    static let signals: [Int32] = [SIGILL, SIGTRAP, SIGSEGV, SIGBUS, SIGFPE, SIGABRT]

    static func arm(path: String, capacity: Int) -> Bool {
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { return false }
        CrashCapture.path = path
        CrashCapture.capacity = max(1, capacity)
        buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: CrashCapture.capacity)
        for s in signals {
            signal(s) { sig in
                if CrashCapture.fd >= 0, let b = CrashCapture.buffer {
                    _ = ftruncate(CrashCapture.fd, 0)
                    _ = lseek(CrashCapture.fd, 0, SEEK_SET)
                    _ = write(CrashCapture.fd, b, CrashCapture.count)
                    let note = "chorus fuzz: crashed on signal; input saved\n"
                    _ = note.withCString { write(2, $0, strlen($0)) }
                }
                _exit(128 + sig)
            }
        }
        return true
    }

    static func hold(_ input: [UInt8]) {
        let n = min(input.count, capacity)
        input.withUnsafeBufferPointer { src in
            if let base = src.baseAddress { buffer?.update(from: base, count: n) }
        }
        count = n
    }

    /// Writes the input now (a failure that is not a crash).
    static func save(_ input: [UInt8]) {
        guard fd >= 0 else { return }
        hold(input)
        _ = ftruncate(fd, 0)
        _ = lseek(fd, 0, SEEK_SET)
        if let b = buffer { _ = write(fd, b, count) }
        close(fd)
        fd = -1
    }

    /// After a clean run: no crash file is left.
    static func disarm() {
        for s in signals { signal(s, SIG_DFL) }
        if fd >= 0 {
            close(fd)
            fd = -1
            unlink(path)
        }
        buffer?.deallocate()
        buffer = nil
    }
}
