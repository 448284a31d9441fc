#if canImport(Glibc)
import Glibc
#endif

/// Every failure the storage engine reports: I/O, corruption, bad arguments, use after close.
public enum StorageError: Error, Equatable, CustomStringConvertible, Sendable {
    /// A system call failed: `operation` on `path` returned `errno`.
    case io(operation: String, path: String, errno: Int32)
    /// Bytes on disk failed a check: which file, at which byte offset, and why.
    case corruption(file: String, offset: Int, reason: String)
    /// The caller passed something the engine cannot accept.
    case invalidArgument(String)
    /// The store was closed (or failed hard) and takes no more operations.
    case closed(String)

    public var description: String {
        switch self {
        case let .io(operation, path, code):
            return "I/O error: \(operation) \(path): \(StorageError.errnoText(code)) (errno \(code))"
        case let .corruption(file, offset, reason):
            return "corruption in \(file) at offset \(offset): \(reason)"
        case let .invalidArgument(message):
            return "invalid argument: \(message)"
        case let .closed(message):
            return "store closed: \(message)"
        }
    }

    static func errnoText(_ code: Int32) -> String {
        guard let text = strerror(code) else { return "unknown error" }
        return String(cString: text)
    }

    /// The disk is full (ENOSPC) or the quota is used up (EDQUOT).
    public var isNoSpace: Bool {
        if case let .io(_, _, code) = self { return code == ENOSPC || code == EDQUOT }
        return false
    }

    /// The device failed to read or write (EIO).
    public var isDeviceError: Bool {
        if case let .io(_, _, code) = self { return code == EIO }
        return false
    }

    /// Whether the store may resume by itself once the system recovers (any failed system
    /// call: ENOSPC, EIO, ...), as opposed to corruption or misuse, which need an operator.
    public var isRetryable: Bool {
        if case .io = self { return true }
        return false
    }

    /// Whether this error says bytes on disk are bad (as opposed to the system failing).
    public var isCorruption: Bool {
        if case .corruption = self { return true }
        return false
    }
}
