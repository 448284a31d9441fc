#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// An in-memory file system for tests that models durability the way a strict POSIX file
/// system does: file bytes are durable once synced, and a directory entry (creation,
/// rename, removal) once its directory is synced. `crash()` drops everything not durable.
///
/// Thread-safe: one mutex guards the whole tree.
public final class MemoryFileSystem: FileSystem, @unchecked Sendable {
    final class Node {
        var data: [UInt8] = []
        var syncedCount = 0
        /// Bytes a failed fsync could not write: lost at a crash, whatever came after.
        var lostRanges: [Range<Int>] = []
    }

    struct State {
        var files: [String: Node] = [:]
        var durable: [String: Node] = [:]
        var directories: Set<String> = []
        var locks: Set<String> = []
        var generation = 0
        var fault: Fault?
        var capacityBytes: Int?
        var faultsHit = 0
    }

    let state = Mutex(State())

    public init() {}

    /// Simulates a machine crash: every byte not synced and every directory change not
    /// made durable is lost. Files open before the crash reject further use.
    public func crash() {
        crash(keepingUnsynced: { _, _ in 0 })
    }

    /// A crash that tears files: of a durable file's `unsynced` bytes past its last fsync,
    /// the first `keepingUnsynced(path, unsynced)` survive (a write the page cache had
    /// partly written back), the rest are lost. Directory changes not made durable are lost.
    public func crash(keepingUnsynced: (String, Int) -> Int) {
        state.withLock { s in
            s.files = s.durable
            for (path, node) in s.files.sorted(by: { $0.key < $1.key }) {
                let unsynced = node.data.count - node.syncedCount
                let kept = unsynced > 0 ? min(unsynced, max(0, keepingUnsynced(path, unsynced))) : 0
                node.data.removeSubrange((node.syncedCount + kept)...)
                for r in node.lostRanges where r.lowerBound < node.data.count {
                    for i in r.lowerBound..<min(r.upperBound, node.data.count) { node.data[i] = 0 }
                }
                node.lostRanges = []
                node.syncedCount = node.data.count  // what a crash left on the device is durable
            }
            s.locks.removeAll()
            s.generation += 1
        }
    }

    /// Flips one byte of a file in place (durably), for corruption tests.
    public func corrupt(_ path: String, at offset: Int, xor mask: UInt8 = 0xff) {
        state.withLock { s in
            guard let node = s.files[path], offset < node.data.count else { return }
            node.data[offset] ^= mask
        }
    }

    /// Cuts a file to `count` bytes (durably), for torn-write tests.
    public func truncate(_ path: String, to count: Int) {
        state.withLock { s in
            guard let node = s.files[path], count < node.data.count else { return }
            node.data.removeSubrange(count...)
            node.syncedCount = min(node.syncedCount, count)
        }
    }

    static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return path[..<slash].isEmpty ? "/" : String(path[..<slash])
    }

    public func createWritable(_ path: String) throws(StorageError) -> WritableFile {
        let created: Result<Int, StorageError> = state.withLock { s in
            if let e = Self.fault(&s, .create, path) { return .failure(e) }
            guard s.directories.contains(Self.parent(of: path)) else { return .failure(.io(operation: "create", path: path, errno: ENOENT)) }
            let node = Node()
            s.files[path] = node
            return .success(s.generation)
        }
        let generation = try created.get()
        return MemoryWritableFile(fs: self, path: path, generation: generation)
    }

    public func openReadable(_ path: String) throws(StorageError) -> RandomAccessFile {
        let node = state.withLock { $0.files[path] }
        guard let node else { throw .io(operation: "open", path: path, errno: ENOENT) }
        return MemoryReadableFile(fs: self, path: path, node: node)
    }

    public func readFile(_ path: String) throws(StorageError) -> [UInt8] {
        let data = state.withLock { $0.files[path]?.data }
        guard let data else { throw .io(operation: "open", path: path, errno: ENOENT) }
        return data
    }

    public func fileExists(_ path: String) -> Bool {
        state.withLock { $0.files[path] != nil || $0.directories.contains(path) }
    }

    public func fileSize(_ path: String) throws(StorageError) -> Int {
        let size = state.withLock { $0.files[path]?.data.count }
        guard let size else { throw .io(operation: "stat", path: path, errno: ENOENT) }
        return size
    }

    public func children(_ directory: String) throws(StorageError) -> [String] {
        let names: [String]? = state.withLock { s in
            guard s.directories.contains(directory) else { return nil }
            let prefix = directory + "/"
            return s.files.keys.filter { $0.hasPrefix(prefix) && !$0.dropFirst(prefix.count).contains("/") }
                .map { String($0.dropFirst(prefix.count)) }
        }
        guard let names else { throw .io(operation: "opendir", path: directory, errno: ENOENT) }
        return names
    }

    public func createDirectory(_ path: String) throws(StorageError) {
        state.withLock { s in
            var p = path
            while !p.isEmpty && p != "/" && p != "." {
                s.directories.insert(p)
                p = Self.parent(of: p)
            }
        }
    }

    public func removeFile(_ path: String) throws(StorageError) {
        let removed: StorageError? = state.withLock { s in
            if let e = Self.fault(&s, .remove, path) { return e }
            return s.files.removeValue(forKey: path) != nil ? nil : .io(operation: "unlink", path: path, errno: ENOENT)
        }
        if let removed { throw removed }
    }

    public func rename(_ from: String, to: String) throws(StorageError) {
        let moved = state.withLock { s -> StorageError? in
            if let e = Self.fault(&s, .rename, from) { return e }
            guard let node = s.files.removeValue(forKey: from) else { return .io(operation: "rename to \(to)", path: from, errno: ENOENT) }
            s.files[to] = node
            return nil
        }
        if let moved { throw moved }
    }

    public func syncDirectory(_ directory: String) throws(StorageError) {
        let failed: StorageError? = state.withLock { s in
            if let e = Self.fault(&s, .syncDirectory, directory) { return e }
            s.durable = s.durable.filter { Self.parent(of: $0.key) != directory }
            for (path, node) in s.files where Self.parent(of: path) == directory {
                s.durable[path] = node
            }
            return nil
        }
        if let failed { throw failed }
    }

    public func lock(_ path: String) throws(StorageError) -> FileLock {
        let taken = state.withLock { s -> Bool in
            if s.locks.contains(path) { return false }
            s.locks.insert(path)
            return true
        }
        guard taken else { throw .io(operation: "lock (is the store already open?)", path: path, errno: EWOULDBLOCK) }
        return FileLock(path: path, fd: -1)
    }

    public func unlock(_ lock: FileLock) {
        _ = state.withLock { $0.locks.remove(lock.path) }
    }
}

/// A writable file of `MemoryFileSystem`; unusable after a simulated crash.
final class MemoryWritableFile: WritableFile {
    let fs: MemoryFileSystem
    let path: String
    let generation: Int
    private(set) var size = 0
    private var node: MemoryFileSystem.Node?

    init(fs: MemoryFileSystem, path: String, generation: Int) {
        self.fs = fs
        self.path = path
        self.generation = generation
        node = fs.state.withLock { $0.files[path] }
    }

    private func live() throws(StorageError) -> MemoryFileSystem.Node {
        let ok = fs.state.withLock { $0.generation == generation }
        guard ok, let node else { throw .io(operation: "write after crash", path: path, errno: EIO) }
        return node
    }

    func append(_ bytes: UnsafeRawBufferPointer) throws(StorageError) {
        let node = try live()
        let path = self.path
        let failure: StorageError? = fs.state.withLock { s in
            if let e = MemoryFileSystem.fault(&s, .append, path) { return e }
            // A full disk takes what fits, then fails (write(2) with ENOSPC).
            let fits = MemoryFileSystem.room(s, bytes.count)
            node.data.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[0..<fits]))
            if fits < bytes.count {
                s.faultsHit += 1
                return .io(operation: "write", path: path, errno: ENOSPC)
            }
            return nil
        }
        if let failure { throw failure }
        size += bytes.count
    }

    func flush() throws(StorageError) { _ = try live() }

    func sync() throws(StorageError) {
        let node = try live()
        let path = self.path
        let failure: StorageError? = fs.state.withLock { s in
            if let e = MemoryFileSystem.fault(&s, .sync, path) {
                // Linux marks the pages it failed to write clean: they are gone at a crash.
                if node.syncedCount < node.data.count { node.lostRanges.append(node.syncedCount..<node.data.count) }
                return e
            }
            node.syncedCount = node.data.count
            return nil
        }
        if let failure { throw failure }
    }

    func close() throws(StorageError) { node = nil }
}

/// A readable file of `MemoryFileSystem`.
final class MemoryReadableFile: RandomAccessFile, @unchecked Sendable {
    let fs: MemoryFileSystem
    let path: String
    let node: MemoryFileSystem.Node

    init(fs: MemoryFileSystem, path: String, node: MemoryFileSystem.Node) {
        self.fs = fs
        self.path = path
        self.node = node
    }

    var size: Int { fs.state.withLock { _ in node.data.count } }

    /// A copy of the bytes as they are now, so tests run the mapped-table path too.
    func map() -> FileMapping? {
        FileMapping(copying: fs.state.withLock { _ in node.data })
    }

    func read(offset: Int, count: Int) throws(StorageError) -> [UInt8] {
        fs.state.withLock { _ in
            guard offset < node.data.count else { return [] }
            return Array(node.data[offset..<min(node.data.count, offset + count)])
        }
    }
}
