// What the benchmark reads from the operating system: a clock, peak RSS, bytes on disk,
// and the fresh-database rule (remove the store's files, never anything else).
#if canImport(Glibc)
import Glibc
#endif

extension StorageBench {
    @inline(__always) static func nowNanos() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }

    /// User plus system CPU time of this process so far, all threads, in microseconds.
    static func cpuMicros() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1e6
            + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec)
    }

    /// Peak resident set size of this process in bytes (VmHWM in /proc/self/status), 0 if unknown.
    static func peakRSSBytes() -> UInt64 {
        guard let f = fopen("/proc/self/status", "r") else { return 0 }
        defer { fclose(f) }
        var line = [CChar](repeating: 0, count: 256)
        while fgets(&line, Int32(line.count), f) != nil {
            let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if text.hasPrefix("VmHWM:") {
                let digits = text.dropFirst(6).filter { $0.isNumber }
                return (UInt64(digits) ?? 0) * 1024
            }
        }
        return 0
    }

    /// Sum of the sizes of the regular files under `path` (recursively).
    static func bytesOnDisk(_ path: String) -> UInt64 {
        guard let dir = opendir(path) else { return 0 }
        defer { closedir(dir) }
        var total: UInt64 = 0
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name == "." || name == ".." { continue }
            let child = path + "/" + name
            var st = stat()
            guard lstat(child, &st) == 0 else { continue }
            if (st.st_mode & S_IFMT) == S_IFDIR {
                total += bytesOnDisk(child)
            } else if (st.st_mode & S_IFMT) == S_IFREG {
                total += UInt64(st.st_size)
            }
        }
        return total
    }

    enum DirectoryError: Error, CustomStringConvertible {
        case notAStore(String)
        case io(String)
        var description: String {
            switch self {
            case let .notAStore(s), let .io(s): return s
            }
        }
    }

    /// Names in `path`, or [] if it does not exist.
    static func children(_ path: String) -> [String] {
        guard let dir = opendir(path) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// db_bench's DestroyDB: empties `path` of a store's files. Refuses a directory that holds
    /// anything but regular files or lacks a store's LOCK/CURRENT (it is not ours to empty).
    static func destroyStore(_ path: String) throws(DirectoryError) {
        let names = children(path)
        if names.isEmpty { return }
        guard names.contains("CURRENT") || names.contains("LOCK") else {
            throw .notAStore("--db \(path) is not empty and holds no store; refusing to delete its files")
        }
        for name in names {
            var st = stat()
            let child = path + "/" + name
            guard lstat(child, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
                throw .notAStore("--db \(path) holds \(name), which is not a store file; refusing to delete it")
            }
        }
        for name in names where unlink(path + "/" + name) != 0 {
            throw .io("cannot remove \(path)/\(name): errno \(errno)")
        }
    }

    /// A new empty directory under $TMPDIR (or /tmp) for the default --db.
    static func makeTemporaryDirectory() throws(DirectoryError) -> String {
        let base = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        var template = Array((base + "/chorus-bench-XXXXXX").utf8CString)
        let made = template.withUnsafeMutableBufferPointer { buf in buf.baseAddress.flatMap { mkdtemp($0) } }
        guard made != nil else { throw .io("cannot create a temporary directory under \(base): errno \(errno)") }
        return String(cString: template)
    }

    /// "2026-11-27 14:04:07 UTC"
    static func dateString() -> String {
        var t = time(nil)
        var parts = tm()
        gmtime_r(&t, &parts)
        var buffer = [CChar](repeating: 0, count: 64)
        let n = strftime(&buffer, buffer.count, "%Y-%m-%d %H:%M:%S UTC", &parts)
        return String(decoding: buffer.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The CPU model and count, as db_bench prints them.
    static func cpuDescription() -> String {
        guard let f = fopen("/proc/cpuinfo", "r") else { return "unknown" }
        defer { fclose(f) }
        var model = "unknown"
        var count = 0
        var line = [CChar](repeating: 0, count: 512)
        while fgets(&line, Int32(line.count), f) != nil {
            let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if text.hasPrefix("model name") {
                count += 1
                if let colon = text.firstIndex(of: ":") {
                    model = trimmed(String(text[text.index(after: colon)...]))
                }
            }
        }
        return "\(count) * \(model)"
    }

    static func trimmed(_ text: String) -> String {
        var s = Substring(text)
        while let c = s.first, c == " " || c == "\t" || c == "\n" { s = s.dropFirst() }
        while let c = s.last, c == " " || c == "\t" || c == "\n" { s = s.dropLast() }
        return String(s)
    }
}
