#if canImport(Glibc)
import Glibc
#endif

/// The real file system, through open/pwrite/pread/fsync/rename and directory fsync.
public final class PosixFileSystem: FileSystem, @unchecked Sendable {
    public static let shared = PosixFileSystem()
    public init() {}

    public func createWritable(_ path: String) throws(StorageError) -> WritableFile {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .io(operation: "create", path: path, errno: errno) }
        return PosixWritableFile(path: path, fd: fd)
    }

    public func openReadable(_ path: String) throws(StorageError) -> RandomAccessFile {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .io(operation: "open", path: path, errno: errno) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let code = errno
            Glibc.close(fd)
            throw .io(operation: "stat", path: path, errno: code)
        }
        return PosixReadableFile(path: path, fd: fd, size: Int(st.st_size))
    }

    public func readFile(_ path: String) throws(StorageError) -> [UInt8] {
        let file = try openReadable(path)
        return try file.read(offset: 0, count: file.size)
    }

    public func fileExists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    public func fileSize(_ path: String) throws(StorageError) -> Int {
        var st = stat()
        guard stat(path, &st) == 0 else { throw .io(operation: "stat", path: path, errno: errno) }
        return Int(st.st_size)
    }

    public func children(_ directory: String) throws(StorageError) -> [String] {
        guard let dir = opendir(directory) else { throw .io(operation: "opendir", path: directory, errno: errno) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    public func createDirectory(_ path: String) throws(StorageError) {
        var prefix = path.hasPrefix("/") ? "/" : ""
        for part in path.split(separator: "/") {
            prefix += part
            if mkdir(prefix, 0o755) != 0 && errno != EEXIST {
                throw .io(operation: "mkdir", path: prefix, errno: errno)
            }
            prefix += "/"
        }
    }

    public func removeFile(_ path: String) throws(StorageError) {
        guard unlink(path) == 0 else { throw .io(operation: "unlink", path: path, errno: errno) }
    }

    public func rename(_ from: String, to: String) throws(StorageError) {
        guard Glibc.rename(from, to) == 0 else { throw .io(operation: "rename to \(to)", path: from, errno: errno) }
    }

    public func syncDirectory(_ directory: String) throws(StorageError) {
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw .io(operation: "open directory", path: directory, errno: errno) }
        defer { Glibc.close(fd) }
        guard fsync(fd) == 0 else { throw .io(operation: "fsync directory", path: directory, errno: errno) }
    }

    public func lock(_ path: String) throws(StorageError) -> FileLock {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .io(operation: "open lock", path: path, errno: errno) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let code = errno
            Glibc.close(fd)
            throw .io(operation: "lock (is another process using this store?)", path: path, errno: code)
        }
        return FileLock(path: path, fd: fd)
    }

    public func unlock(_ lock: FileLock) {
        _ = flock(lock.fd, LOCK_UN)
        Glibc.close(lock.fd)
    }
}

/// An append-only file with a user-space buffer, so small appends cost no system call.
/// The buffer is raw memory (no array bookkeeping on the per-write path).
final class PosixWritableFile: WritableFile {
    private let path: String
    private var fd: Int32
    private let buffer: UnsafeMutableRawPointer
    private var buffered = 0
    private let bufferLimit = 64 * 1024
    private(set) var size = 0
    /// Serialises `syncFlushed` (the syncer's thread) with `close`.
    private let fdLock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)

    init(path: String, fd: Int32) {
        self.path = path
        self.fd = fd
        buffer = .allocate(byteCount: bufferLimit, alignment: 16)
        fdLock.initialize(to: pthread_mutex_t())
        pthread_mutex_init(fdLock, nil)
    }

    deinit {
        if fd >= 0 { Glibc.close(fd) }
        buffer.deallocate()
        pthread_mutex_destroy(fdLock)
        fdLock.deallocate()
    }

    func append(_ bytes: UnsafeRawBufferPointer) throws(StorageError) {
        size += bytes.count
        guard let src = bytes.baseAddress, bytes.count > 0 else { return }
        if buffered + bytes.count <= bufferLimit {
            (buffer + buffered).copyMemory(from: src, byteCount: bytes.count)
            buffered += bytes.count
            return
        }
        try flush()
        if bytes.count <= bufferLimit {
            buffer.copyMemory(from: src, byteCount: bytes.count)
            buffered = bytes.count
        } else {
            try writeAll(bytes)
        }
    }

    func flush() throws(StorageError) {
        guard buffered > 0 else { return }
        let pending = buffered
        buffered = 0
        try writeAll(UnsafeRawBufferPointer(start: buffer, count: pending))
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer) throws(StorageError) {
        guard let base = bytes.baseAddress else { return }
        var done = 0
        while done < bytes.count {
            let n = write(fd, base + done, bytes.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                throw .io(operation: "write", path: path, errno: errno)
            }
            done += n
        }
    }

    func sync() throws(StorageError) {
        try flush()
        try syncFlushed()
    }

    func syncFlushed() throws(StorageError) {
        pthread_mutex_lock(fdLock)
        defer { pthread_mutex_unlock(fdLock) }
        guard fd >= 0 else { throw .io(operation: "fdatasync", path: path, errno: EBADF) }
        guard fdatasync(fd) == 0 else { throw .io(operation: "fdatasync", path: path, errno: errno) }
    }

    func close() throws(StorageError) {
        guard fd >= 0 else { return }
        defer {
            // After a syncer's fdatasync on another thread, never during it: the number
            // could otherwise be reused by a new file and synced or closed in its place.
            pthread_mutex_lock(fdLock)
            Glibc.close(fd)
            fd = -1
            pthread_mutex_unlock(fdLock)
        }
        try flush()
    }
}

/// A file read with pread, shareable between threads.
final class PosixReadableFile: RandomAccessFile, @unchecked Sendable {
    let path: String
    let size: Int
    private let fd: Int32

    init(path: String, fd: Int32, size: Int) {
        self.path = path
        self.fd = fd
        self.size = size
    }

    deinit { Glibc.close(fd) }

    func map() -> FileMapping? {
        guard size > 0, let p = mmap(nil, size, PROT_READ, MAP_SHARED, fd, 0), p != MAP_FAILED else { return nil }
        return FileMapping(base: UnsafeRawPointer(p), count: size) { base, count in
            _ = munmap(UnsafeMutableRawPointer(mutating: base), count)
        }
    }

    func read(offset: Int, count: Int) throws(StorageError) -> [UInt8] {
        guard offset >= 0, count >= 0 else { throw .invalidArgument("read of \(count) bytes at \(offset) in \(path)") }
        var failure: Int32 = 0
        let bytes = [UInt8](unsafeUninitializedCapacity: count) { buf, initialized in
            var done = 0
            while done < count {
                let n = pread(fd, buf.baseAddress! + done, count - done, off_t(offset + done))
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    break
                }
                if n == 0 { break }
                done += n
            }
            initialized = done
        }
        if failure != 0 { throw .io(operation: "pread", path: path, errno: failure) }
        return bytes
    }
}
