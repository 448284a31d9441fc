#if canImport(Glibc)
import Glibc
#endif

// Disk faults for `MemoryFileSystem`, so tests can run the engine into a full disk or a
// failing device and back:
// - a capacity: appends past it write what fits and fail with ENOSPC, as write(2) does
//   on a full file system; freeing space (removing files, raising the capacity) lets
//   writes succeed again;
// - an injected errno on chosen operations (optionally only for paths containing a
//   string), until cleared or for a number of calls;
// - a failed fsync behaves as Linux's does (fsyncgate): the bytes it could not write are
//   lost, even if a later fsync of the same file succeeds. `crash()` zeroes them, so code
//   that retries an fsync as if the data were safe finds damage after a crash.

extension MemoryFileSystem {
    /// The file operations a fault can hit.
    public enum FileOperation: Sendable, Hashable, CaseIterable {
        case create, append, sync, syncDirectory, rename, remove
    }

    /// An error to return from some operations.
    public struct Fault: Sendable {
        public var errno: Int32
        public var operations: Set<FileOperation>
        /// Only paths containing this (nil: every path).
        public var pathContains: String?
        /// How many calls fail before the fault clears itself (nil: until cleared).
        public var remaining: Int?

        public init(errno: Int32, operations: Set<FileOperation>, pathContains: String? = nil, remaining: Int? = nil) {
            self.errno = errno
            self.operations = operations
            self.pathContains = pathContains
            self.remaining = remaining
        }
    }

    /// Injects `fault` (nil clears it).
    public func inject(_ fault: Fault?) {
        state.withLock { $0.fault = fault }
    }

    /// Limits the bytes all files may hold together (nil: no limit).
    public func setCapacity(_ bytes: Int?) {
        state.withLock { $0.capacityBytes = bytes }
    }

    /// Bytes held by all files now.
    public var usedBytes: Int {
        state.withLock { s in s.files.values.reduce(0) { $0 + $1.data.count } }
    }

    /// Calls that failed because of a fault or the capacity.
    public var faultsHit: Int { state.withLock { $0.faultsHit } }

    /// The injected error for `operation` on `path`, if any (consuming one call). Lock held.
    static func fault(_ s: inout State, _ operation: FileOperation, _ path: String) -> StorageError? {
        guard var f = s.fault, f.operations.contains(operation) else { return nil }
        if let needle = f.pathContains, !path.contains(needle) { return nil }
        if let r = f.remaining {
            f.remaining = r - 1
            s.fault = r - 1 <= 0 ? nil : f
        }
        s.faultsHit += 1
        return .io(operation: "\(operation)", path: path, errno: f.errno)
    }

    /// How many of `count` bytes fit under the capacity now. Lock held.
    static func room(_ s: State, _ count: Int) -> Int {
        guard let capacity = s.capacityBytes else { return count }
        let used = s.files.values.reduce(0) { $0 + $1.data.count }
        return max(0, min(count, capacity - used))
    }
}
