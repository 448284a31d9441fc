// All file access of the engine goes through `FileSystem`, so tests can run on
// `MemoryFileSystem` and simulate a crash that drops every byte not yet synced.

/// A file written front to back. Appends may be buffered until `flush` or `sync`.
public protocol WritableFile: AnyObject {
    /// Bytes appended so far, buffered or not.
    var size: Int { get }
    func append(_ bytes: UnsafeRawBufferPointer) throws(StorageError)
    /// Hands buffered bytes to the operating system (they survive a process kill).
    func flush() throws(StorageError)
    /// Flushes and makes every appended byte durable (survives a machine crash).
    func sync() throws(StorageError)
    /// Makes the bytes already flushed durable. Unlike `sync`, it may run on one thread
    /// while another appends and flushes (the store's syncer); never concurrently with `close`
    /// unless the file says so (PosixWritableFile serialises the two).
    func syncFlushed() throws(StorageError)
    func close() throws(StorageError)
}

extension WritableFile {
    public func syncFlushed() throws(StorageError) { try sync() }

    public func append(_ bytes: [UInt8]) throws(StorageError) {
        var failure: StorageError?
        bytes.withUnsafeBytes { buf in
            do throws(StorageError) { try append(buf) } catch { failure = error }
        }
        if let failure { throw failure }
    }
}

/// A file read at arbitrary offsets, safe to share between threads.
public protocol RandomAccessFile: AnyObject, Sendable {
    var path: String { get }
    var size: Int { get }
    /// Reads up to `count` bytes at `offset`; fewer only at end of file.
    func read(offset: Int, count: Int) throws(StorageError) -> [UInt8]
    /// The whole file mapped read-only, or nil if it cannot be (readers then use `read`).
    /// Only for files that never change again (tables).
    func map() -> FileMapping?
}

extension RandomAccessFile {
    public func map() -> FileMapping? { nil }
}

/// Read-only bytes of a whole file that stay put while this object lives: a memory mapping
/// (unmapped on release) or a private copy. Blocks of a mapped table are slices of it, so a
/// block read needs no system call and no copy.
public final class FileMapping: @unchecked Sendable {
    public let base: UnsafeRawPointer
    public let count: Int
    private let release: (UnsafeRawPointer, Int) -> Void

    /// `release(base, count)` runs once, when the mapping is no longer referenced.
    public init(base: UnsafeRawPointer, count: Int, release: @escaping (UnsafeRawPointer, Int) -> Void) {
        self.base = base
        self.count = count
        self.release = release
    }

    /// A private copy of `bytes` (for file systems without mappings, such as tests').
    public convenience init(copying bytes: [UInt8]) {
        let p = UnsafeMutableRawPointer.allocate(byteCount: max(1, bytes.count), alignment: 16)
        bytes.withUnsafeBytes { if let b = $0.baseAddress, !$0.isEmpty { p.copyMemory(from: b, byteCount: $0.count) } }
        self.init(base: p, count: bytes.count) { base, _ in UnsafeMutableRawPointer(mutating: base).deallocate() }
    }

    deinit { release(base, count) }
}

/// A held lock on a store directory, released by `FileSystem.unlock`.
public final class FileLock: @unchecked Sendable {
    public let path: String
    let fd: Int32
    init(path: String, fd: Int32) {
        self.path = path
        self.fd = fd
    }
}

/// The engine's view of a file system: files, directories, renames and their durability.
public protocol FileSystem: AnyObject, Sendable {
    /// Creates (or truncates) a file for appending.
    func createWritable(_ path: String) throws(StorageError) -> WritableFile
    func openReadable(_ path: String) throws(StorageError) -> RandomAccessFile
    func readFile(_ path: String) throws(StorageError) -> [UInt8]
    func fileExists(_ path: String) -> Bool
    func fileSize(_ path: String) throws(StorageError) -> Int
    /// Names (not paths) of the entries of a directory.
    func children(_ directory: String) throws(StorageError) -> [String]
    /// Creates the directory and its parents if missing.
    func createDirectory(_ path: String) throws(StorageError)
    func removeFile(_ path: String) throws(StorageError)
    /// Atomically replaces `to` with `from` (durable once the directory is synced).
    func rename(_ from: String, to: String) throws(StorageError)
    /// Makes creations, renames and removals in `directory` durable.
    func syncDirectory(_ directory: String) throws(StorageError)
    /// Takes an exclusive lock so that only one process opens a store at a time.
    func lock(_ path: String) throws(StorageError) -> FileLock
    func unlock(_ lock: FileLock)
}

extension FileSystem {
    /// Writes `bytes` to `path` through a temporary file, syncs it, renames it into place
    /// and syncs the directory: the file is either old or new after a crash, never torn.
    public func writeAtomically(_ bytes: [UInt8], to path: String, directory: String) throws(StorageError) {
        let temp = path + ".tmp"
        let file = try createWritable(temp)
        try file.append(bytes)
        try file.sync()
        try file.close()
        try rename(temp, to: path)
        try syncDirectory(directory)
    }
}
